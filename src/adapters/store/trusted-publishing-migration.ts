import type { Kysely, Migration } from 'kysely';

/**
 * Migration 0004_trusted_publishing: id-token replay claims and minted upload tokens. Portable types
 * only (text, ISO-8601 times), like every migration, so SQLite and PostgreSQL stay the same.
 */
export const trustedPublishingMigration: Migration = {
  async up(db: Kysely<any>) {
    // (issuer, jti) is the primary key: the insert itself is the atomic "first use" check
    await db.schema
      .createTable('oidc_jti_claims')
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('jti', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('oidc_jti_claims_pk', ['issuer', 'jti'])
      .execute();
    await db.schema.createIndex('oidc_jti_claims_expiry').on('oidc_jti_claims').column('expires_at').execute();
    await db.schema
      .createTable('upload_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('grants', 'text', (c) => c.notNull())
      .addColumn('identity', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('upload_tokens_expiry').on('upload_tokens').column('expires_at').execute();
  },
};
