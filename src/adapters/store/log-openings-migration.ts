import type { Kysely, Migration } from 'kysely';

/**
 * Migration 0008_log_openings: the openings of blinded log entries (src/core/tlog/blinding.ts). A row
 * is written in the transaction of its entry's append and never changes; like log_entries it has no
 * foreign key, so the proof outlives the channel it is about.
 */
export const logOpeningsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('log_openings')
      .addColumn('idx', 'bigint', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      // 32 bytes, lowercase hex
      .addColumn('salt', 'text', (c) => c.notNull())
      // the full entry, canonical JSON
      .addColumn('entry', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('log_openings').execute();
  },
};
