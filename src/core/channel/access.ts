import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { forbidden, notFound, unauthenticated } from '../errors.ts';
import type { ApiKey, Channel, KeyScope } from './model.ts';
import { KEY_SCOPES } from './model.ts';
import { ChannelCache } from './channel-cache.ts';
import type { Clock, MetadataStore } from './ports.ts';
import {
  authenticateUploadToken,
  publisherAllows,
  UPLOAD_TOKEN_PREFIX,
  type PublisherPrincipal,
} from '../publish/upload-tokens.ts';

/** Who is asking. Anonymous callers may read public channels and nothing else. */
export type Principal =
  | { kind: 'admin' }
  | { kind: 'key'; key: ApiKey }
  /** a short-lived Trusted Publishing upload token (core/publish/upload-tokens.ts) */
  | PublisherPrincipal
  | { kind: 'anonymous' };

const KEY_PREFIX = 'pvn_';

export function newKeySecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Secrets are 256-bit random, so a plain SHA-256 is enough to store them (no password stretching needed). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export class AccessControl {
  private adminTokenHash: Buffer;
  readonly channels: ChannelCache;

  constructor(
    private readonly store: MetadataStore,
    adminToken: string,
    private readonly clock: Clock,
  ) {
    this.adminTokenHash = createHash('sha256').update(adminToken).digest();
    this.channels = new ChannelCache(store.channels);
  }

  /** Replaces the admin token (`provena admin-token rotate`): from now on only the new one is admin. */
  setAdminToken(adminToken: string): void {
    this.adminTokenHash = createHash('sha256').update(adminToken).digest();
  }

  /** Resolves a bearer token. Unknown, expired and revoked tokens are refused, never downgraded to anonymous. */
  async authenticate(bearer: string | undefined): Promise<Principal> {
    if (bearer === undefined || bearer === '') return { kind: 'anonymous' };
    const presented = createHash('sha256').update(bearer).digest();
    if (timingSafeEqual(presented, this.adminTokenHash)) return { kind: 'admin' };
    if (bearer.startsWith(UPLOAD_TOKEN_PREFIX)) return authenticateUploadToken(this.store, this.clock, hashSecret(bearer));
    const key = await this.store.keys.findBySecretHash(hashSecret(bearer));
    if (!key) throw unauthenticated('unknown_token', 'the token is not known to this server; check it or create a new key');
    if (key.revokedAt !== null) throw unauthenticated('token_revoked', `key ${key.id} was revoked; create a new key`);
    if (key.expiresAt !== null && Date.parse(key.expiresAt) <= this.clock.now().getTime()) {
      throw unauthenticated('token_expired', `key ${key.id} expired at ${key.expiresAt}; create a new key`);
    }
    return { kind: 'key', key };
  }

  /** Whether the principal holds at least `need` on the channel. */
  allows(principal: Principal, channel: Channel, need: KeyScope): boolean {
    switch (principal.kind) {
      case 'admin':
        return true;
      case 'anonymous':
        return need === 'read' && !channel.private;
      case 'key':
        if (principal.key.channel !== channel.name) return need === 'read' && !channel.private;
        return KEY_SCOPES.indexOf(principal.key.scope) >= KEY_SCOPES.indexOf(need);
      case 'publisher':
        return publisherAllows(principal, channel, need);
    }
  }

  /**
   * Loads a channel for an operation. A private channel the caller may not read answers exactly as a
   * missing one (404), so its existence is not revealed.
   */
  async require(principal: Principal, channelName: string, need: KeyScope): Promise<Channel> {
    const channel = await this.channels.get(channelName);
    if (!channel || !this.allows(principal, channel, 'read')) {
      throw notFound('channel_not_found', `no channel named ${JSON.stringify(channelName)}`);
    }
    if (!this.allows(principal, channel, need)) {
      if (principal.kind === 'anonymous') {
        throw unauthenticated('token_required', `${need} access to channel ${channel.name} needs a token (Authorization: Bearer ...)`);
      }
      throw forbidden('scope_insufficient', `this token does not grant ${need} access to channel ${channel.name}`);
    }
    return channel;
  }

  requireAdmin(principal: Principal): void {
    if (principal.kind === 'admin') return;
    if (principal.kind === 'anonymous') throw unauthenticated('token_required', 'this needs the admin token');
    throw forbidden('admin_required', 'this needs the admin token; channel keys cannot do it');
  }
}
