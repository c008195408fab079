import type { Kysely } from 'kysely';
import type { ApiKey, KeyScope } from '../../core/channel/model.ts';
import type { ApiKeyRepo } from '../../core/channel/ports.ts';
import type { Database } from './schema.ts';

type KeyRow = Database['api_keys'];
const PUBLIC_COLUMNS = ['id', 'channel', 'scope', 'description', 'created_at', 'expires_at', 'revoked_at'] as const;

export class KyselyApiKeyRepo implements ApiKeyRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(key: ApiKey, secretHash: string): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({
        id: key.id,
        channel: key.channel,
        scope: key.scope,
        description: key.description,
        secret_hash: secretHash,
        created_at: key.createdAt,
        expires_at: key.expiresAt,
        revoked_at: key.revokedAt,
      })
      .execute();
  }

  async findBySecretHash(secretHash: string): Promise<ApiKey | null> {
    const row = await this.db
      .selectFrom('api_keys')
      .select(PUBLIC_COLUMNS)
      .where('secret_hash', '=', secretHash)
      .executeTakeFirst();
    return row ? toApiKey(row) : null;
  }

  async get(id: string): Promise<ApiKey | null> {
    const row = await this.db.selectFrom('api_keys').select(PUBLIC_COLUMNS).where('id', '=', id).executeTakeFirst();
    return row ? toApiKey(row) : null;
  }

  async list(channel?: string): Promise<ApiKey[]> {
    let q = this.db.selectFrom('api_keys').select(PUBLIC_COLUMNS);
    if (channel !== undefined) q = q.where('channel', '=', channel);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    return rows.map(toApiKey);
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const result = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}

function toApiKey(row: Omit<KeyRow, 'secret_hash'>): ApiKey {
  return {
    id: row.id,
    channel: row.channel,
    scope: row.scope as KeyScope,
    description: row.description,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}
