import type { Kysely } from 'kysely';
import type { TrustedPublisher } from '../../core/publish/publisher.ts';
import type { TrustedPublishingRepo, UploadToken } from '../../core/publish/upload-tokens.ts';
import { toPublisher } from './publisher-repo.ts';
import type { Database } from './schema.ts';

export class KyselyTrustedPublishingRepo implements TrustedPublishingRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async publishersOfKinds(kinds: readonly TrustedPublisher['kind'][]): Promise<TrustedPublisher[]> {
    if (kinds.length === 0) return [];
    const rows = await this.db
      .selectFrom('trusted_publishers')
      .selectAll()
      .where('kind', 'in', [...kinds])
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toPublisher);
  }

  async claimJti(issuer: string, jti: string, expiresAt: string): Promise<boolean> {
    // ON CONFLICT DO NOTHING on the primary key: one writer wins, on SQLite and PostgreSQL alike
    const result = await this.db
      .insertInto('oidc_jti_claims')
      .values({ issuer, jti, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['issuer', 'jti']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async createToken(token: UploadToken, secretHash: string): Promise<void> {
    await this.db
      .insertInto('upload_tokens')
      .values({
        id: token.id,
        secret_hash: secretHash,
        issuer: token.issuer,
        grants: JSON.stringify(token.grants),
        identity: JSON.stringify(token.identity),
        created_at: token.createdAt,
        expires_at: token.expiresAt,
      })
      .execute();
  }

  async findToken(secretHash: string): Promise<UploadToken | null> {
    const row = await this.db.selectFrom('upload_tokens').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
    if (!row) return null;
    return {
      id: row.id,
      issuer: row.issuer,
      grants: JSON.parse(row.grants) as UploadToken['grants'],
      identity: JSON.parse(row.identity) as UploadToken['identity'],
      createdAt: row.created_at,
      expiresAt: row.expires_at,
    };
  }

  async pinRepositoryOwnerId(publisherId: string, ownerId: string): Promise<string | null> {
    const row = await this.db.selectFrom('trusted_publishers').select('spec').where('id', '=', publisherId).executeTakeFirst();
    if (!row) return null;
    const spec = JSON.parse(row.spec) as Record<string, unknown>;
    if (typeof spec['repositoryOwnerId'] === 'string') return spec['repositoryOwnerId'];
    // compare-and-set on the spec text: a concurrent pin makes this update miss, and the re-read tells
    const updated = await this.db
      .updateTable('trusted_publishers')
      .set({ spec: JSON.stringify({ ...spec, repositoryOwnerId: ownerId }) })
      .where('id', '=', publisherId)
      .where('spec', '=', row.spec)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 1) return ownerId;
    const now = await this.db.selectFrom('trusted_publishers').select('spec').where('id', '=', publisherId).executeTakeFirst();
    if (!now) return null;
    const held = (JSON.parse(now.spec) as Record<string, unknown>)['repositoryOwnerId'];
    return typeof held === 'string' ? held : null;
  }

  async purge(jtisBefore: string, tokensBefore: string): Promise<void> {
    await this.db.deleteFrom('oidc_jti_claims').where('expires_at', '<', jtisBefore).execute();
    await this.db.deleteFrom('upload_tokens').where('expires_at', '<', tokensBefore).execute();
  }
}
