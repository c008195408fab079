import type { Kysely, Migration } from 'kysely';

/**
 * Migration 0009_record_fragments: each package row keeps its record exactly as repodata.json writes it
 * (conda-index's compact JSON, src/core/repodata/record-fragment.ts), set when the row is written, so a
 * full rebuild concatenates stored text instead of parsing and re-serialising every record. Rows written
 * before this migration have none (NULL): the rebuild serialises those from `record` as before, so the
 * upgrade is instant whatever the channel's size.
 *
 * Likewise each name's row in `repodata_shards` keeps, with its shard, what current_repodata.json takes
 * from that name alone (its newest version's records, current-stream.ts `newestOfName`), so that file
 * needs no second pass over every record. NULL until the name's shard is next built: the rebuild then
 * reads every record by name as before.
 */
export const recordFragmentsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('packages').addColumn('fragment', 'text').execute();
    await db.schema.alterTable('repodata_shards').addColumn('current', 'text').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('repodata_shards').dropColumn('current').execute();
    await db.schema.alterTable('packages').dropColumn('fragment').execute();
  },
};
