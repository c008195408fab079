import { type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { transparencyLogMigration } from './log-migration.ts';
import { provenanceMigration } from './provenance-migration.ts';
import { trustedPublishingMigration } from './trusted-publishing-migration.ts';
import { channelLimitsMigration } from './channel-limits-migration.ts';
import { repodataStateMigration } from './repodata-state-migration.ts';
import { tufMigration } from './tuf-migration.ts';
import { logOpeningsMigration } from './log-openings-migration.ts';
import { shardsBuiltIndexMigration } from './shards-built-migration.ts';
import { recordFragmentsMigration } from './record-fragments-migration.ts';
import { repodataSegmentsMigration } from './segments-migration.ts';

/**
 * Schema migrations, in order, for every database Provena runs on. Written with Kysely's schema
 * builder and portable types only, so SQLite and PostgreSQL never drift apart.
 */
const migrations: Record<string, Migration> = {
  '0001_channels_keys_packages': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('channels')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('private', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('require_attestations', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('channel', 'text', (c) => c.notNull().references('channels.name').onDelete('cascade'))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('packages')
        .addColumn('channel', 'text', (c) => c.notNull().references('channels.name').onDelete('cascade'))
        .addColumn('subdir', 'text', (c) => c.notNull())
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('md5', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('record', 'text', (c) => c.notNull())
        .addColumn('about', 'text')
        .addColumn('uploaded_at', 'text', (c) => c.notNull())
        .addColumn('uploaded_by', 'text', (c) => c.notNull())
        .addColumn('attestations_sha256', 'text')
        .addPrimaryKeyConstraint('packages_pk', ['channel', 'subdir', 'filename'])
        .execute();
      await db.schema.createIndex('packages_sha256').on('packages').column('sha256').execute();
      await db.schema.createIndex('packages_name').on('packages').columns(['channel', 'name']).execute();
      await db.schema
        .createTable('removed_files')
        .addColumn('channel', 'text', (c) => c.notNull().references('channels.name').onDelete('cascade'))
        .addColumn('subdir', 'text', (c) => c.notNull())
        .addColumn('filename', 'text', (c) => c.notNull())
        .addColumn('removed_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('removed_files_pk', ['channel', 'subdir', 'filename'])
        .execute();
    },
  },
  '0002_publishers_attestations': provenanceMigration,
  '0003_transparency_log': transparencyLogMigration,
  '0004_trusted_publishing': trustedPublishingMigration,
  '0005_channel_limits': channelLimitsMigration,
  '0006_repodata_state': repodataStateMigration,
  '0007_tuf': tufMigration,
  '0008_log_openings': logOpeningsMigration,
  '0009_record_fragments': recordFragmentsMigration,
  '0010_shards_built_index': shardsBuiltIndexMigration,
  '0011_repodata_segments': repodataSegmentsMigration,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
