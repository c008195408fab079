import { randomBytes } from 'node:crypto';
import { notFound, unprocessable } from '../errors.ts';
import { hashSecret, newKeySecret, type AccessControl, type Principal } from './access.ts';
import type { ApiKey, KeyScope } from './model.ts';
import { KEY_SCOPES } from './model.ts';
import type { Clock, MetadataStore } from './ports.ts';

const MAX_EXPIRY_DAYS = 3650;

export interface KeyRequest {
  channel?: unknown;
  scope?: unknown;
  expires_days?: unknown;
  description?: unknown;
}

/** API keys: one channel, one scope, optional expiry. The secret is shown once and stored hashed. */
export class KeyService {
  constructor(
    private readonly store: MetadataStore,
    private readonly access: AccessControl,
    private readonly clock: Clock,
  ) {}

  async create(principal: Principal, req: KeyRequest): Promise<{ key: ApiKey; secret: string }> {
    if (typeof req.channel !== 'string') throw unprocessable('invalid_field', '"channel" must name a channel');
    if (typeof req.scope !== 'string' || !KEY_SCOPES.includes(req.scope as KeyScope)) {
      throw unprocessable('invalid_scope', `"scope" must be one of ${KEY_SCOPES.join(', ')}`);
    }
    // only a channel admin (or the server admin) hands out keys for a channel
    const channel = await this.access.require(principal, req.channel, 'admin');
    let expiresAt: string | null = null;
    if (req.expires_days !== undefined && req.expires_days !== null) {
      const days = req.expires_days;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_EXPIRY_DAYS) {
        throw unprocessable('invalid_expiry', `"expires_days" must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}`);
      }
      expiresAt = new Date(this.clock.now().getTime() + days * 86_400_000).toISOString();
    }
    if (req.description !== undefined && (typeof req.description !== 'string' || req.description.length > 200)) {
      throw unprocessable('invalid_field', '"description" must be text of at most 200 characters');
    }
    const secret = newKeySecret();
    const key: ApiKey = {
      id: `key_${randomBytes(8).toString('hex')}`,
      channel: channel.name,
      scope: req.scope as KeyScope,
      description: (req.description as string | undefined) ?? null,
      createdAt: this.clock.now().toISOString(),
      expiresAt,
      revokedAt: null,
    };
    await this.store.keys.create(key, hashSecret(secret));
    return { key, secret };
  }

  /** The admin sees every key; a channel admin key sees its channel's keys. */
  async list(principal: Principal, channel?: string): Promise<ApiKey[]> {
    if (principal.kind === 'admin') return this.store.keys.list(channel);
    if (principal.kind === 'key') {
      await this.access.require(principal, principal.key.channel, 'admin');
      if (channel !== undefined && channel !== principal.key.channel) return [];
      return this.store.keys.list(principal.key.channel);
    }
    this.access.requireAdmin(principal);
    return [];
  }

  async revoke(principal: Principal, id: string): Promise<ApiKey> {
    const key = await this.store.keys.get(id);
    if (!key) throw notFound('key_not_found', `no key with id ${JSON.stringify(id)}`);
    try {
      await this.access.require(principal, key.channel, 'admin');
    } catch {
      // do not confirm that a key id exists to someone who may not manage it
      throw notFound('key_not_found', `no key with id ${JSON.stringify(id)}`);
    }
    await this.store.keys.revoke(id, this.clock.now().toISOString());
    return (await this.store.keys.get(id)) ?? key;
  }
}
