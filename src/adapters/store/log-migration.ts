import type { Kysely, Migration } from 'kysely';

/** Migration 0003_transparency_log: the sequence, entries, stored hashes and signed checkpoints. */
export const transparencyLogMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('log_head')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('size', 'bigint', (c) => c.notNull())
      // the right edge of the tree: popcount(size) hashes, hex, largest subtree first
      .addColumn('frontier', 'text', (c) => c.notNull())
      .execute();
    await db.insertInto('log_head').values({ id: 1, size: 0, frontier: '' }).execute();
    // No foreign keys: entries outlive the channels and packages they record.
    await db.schema
      .createTable('log_entries')
      .addColumn('idx', 'bigint', (c) => c.primaryKey())
      .addColumn('entry', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('subdir', 'text')
      .addColumn('filename', 'text')
      .addColumn('sha256', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('log_entries_file')
      .on('log_entries')
      .columns(['channel', 'subdir', 'filename', 'action', 'idx'])
      .execute();
    await db.schema
      .createTable('log_hashes')
      .addColumn('level', 'integer', (c) => c.notNull())
      .addColumn('idx', 'bigint', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('log_hashes_pk', ['level', 'idx'])
      .execute();
    await db.schema
      .createTable('log_checkpoints')
      .addColumn('size', 'bigint', (c) => c.primaryKey())
      .addColumn('root', 'text', (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
  },
};
