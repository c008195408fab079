import type { Kysely, Migration } from 'kysely';

/**
 * Migration 0007_tuf: each channel's TUF state and signed metadata documents. Portable types only.
 * `serial` is compared-and-set by every signer, so replicas take turns; (channel, role, version) is
 * the primary key, so one version of a role can never be stored twice with different bytes.
 */
export const tufMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('tuf_state')
      .addColumn('channel', 'text', (c) => c.primaryKey())
      .addColumn('serial', 'integer', (c) => c.notNull())
      .addColumn('root_version', 'integer', (c) => c.notNull())
      .addColumn('targets_version', 'integer', (c) => c.notNull())
      .addColumn('snapshot_version', 'integer', (c) => c.notNull())
      .addColumn('timestamp_version', 'integer', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('tuf_metadata')
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('tuf_metadata_pk', ['channel', 'role', 'version'])
      .execute();
  },
};
