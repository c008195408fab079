import type { Kysely, Migration } from 'kysely';

export const provenanceMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('trusted_publishers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull().references('channels.name').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('spec', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('trusted_publishers_channel').on('trusted_publishers').column('channel').execute();
    await db.schema
      .createTable('attestations')
      .addColumn('channel', 'text', (c) => c.notNull().references('channels.name').onDelete('cascade'))
      .addColumn('subdir', 'text', (c) => c.notNull())
      .addColumn('filename', 'text', (c) => c.notNull())
      .addColumn('sigs_sha256', 'text', (c) => c.notNull())
      .addColumn('bundle_sha256', 'text', (c) => c.notNull())
      .addColumn('verified', 'text', (c) => c.notNull())
      .addColumn('verified_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('attestations_pk', ['channel', 'subdir', 'filename'])
      .execute();
  },
};
