import type { Kysely, Migration } from 'kysely';

/**
 * Migration 0010_shards_built_index: an upload asks which names were never built (`built IS NULL`)
 * besides those changed since a generation; without an index on `built` that question scanned every
 * name of the subdir on every upload, the one per-upload cost that grew with the channel.
 */
export const shardsBuiltIndexMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.createIndex('repodata_shards_built').on('repodata_shards').columns(['channel', 'subdir', 'built']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('repodata_shards_built').execute();
  },
};
