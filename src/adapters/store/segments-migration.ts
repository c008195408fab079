import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * Migration 0011_repodata_segments: each package name's part of each repodata.json section, as the
 * document's bytes (src/core/repodata/segments.ts), written with the name's shard; a full rebuild reads
 * these in order of their first filename instead of every record. `repodata_shards.segments_built` is
 * the generation they were written at; names written before this migration have none (NULL), and the
 * next full rebuild writes them once, from the records.
 */
export const repodataSegmentsMigration: Migration = {
  async up(db: Kysely<any>) {
    const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
    await db.schema
      .createTable('repodata_segments')
      .addColumn('channel', 'text', (c) => c.notNull().references('channels.name').onDelete('cascade'))
      .addColumn('subdir', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      // read in code point order, as repodata.json sorts filenames: PostgreSQL's default collation does not
      .addColumn('first', postgres ? sql`text collate "C"` : 'text', (c) => c.notNull())
      .addColumn('last', postgres ? sql`text collate "C"` : 'text', (c) => c.notNull())
      .addColumn('records', 'integer', (c) => c.notNull())
      .addColumn('bytes', postgres ? 'bytea' : 'blob', (c) => c.notNull())
      // by name first: an upload replaces one name's segments (a lookup, not a scan of the subdir's)
      .addPrimaryKeyConstraint('repodata_segments_pk', ['channel', 'subdir', 'name', 'format'])
      .execute();
    await db.schema.createIndex('repodata_segments_order').on('repodata_segments').columns(['channel', 'subdir', 'format', 'first']).execute();
    await db.schema.alterTable('repodata_shards').addColumn('segments_built', 'integer').execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('repodata_shards').dropColumn('segments_built').execute();
    await db.schema.dropTable('repodata_segments').execute();
  },
};
