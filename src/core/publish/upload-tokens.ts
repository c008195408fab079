import { randomBytes } from 'node:crypto';
import { ProvenaError } from '../errors.ts';
import type { Principal } from '../channel/access.ts';
import type { Clock, MetadataStore } from '../channel/ports.ts';
import type { Publisher } from '../tlog/entry.ts';
import type { TrustedPublisher } from './publisher.ts';

/**
 * A short-lived upload token minted by Trusted Publishing. It carries no scope of its own: it grants
 * `upload` (and the `read` an upload needs) on the channels of the publishers it was minted for, as long
 * as those publishers still exist, and nothing else — no channel, key, or publisher management.
 */
export interface UploadToken {
  id: string;
  /** the OIDC issuer whose token was exchanged */
  issuer: string;
  /** the publisher each channel matched, one per channel */
  grants: { channel: string; publisherId: string }[];
  /** who published, as the transparency log records it (from the verified id token) */
  identity: Publisher;
  createdAt: string;
  expiresAt: string;
}

/** Storage for Trusted Publishing: replay claims, minted tokens, publisher lookups across channels. */
export interface TrustedPublishingRepo {
  /** Every channel's publishers of these kinds: the candidates for one issuer's token. */
  publishersOfKinds(kinds: readonly TrustedPublisher['kind'][]): Promise<TrustedPublisher[]>;
  /**
   * Records that `(issuer, jti)` was exchanged, keeping it until `expiresAt`. Atomic: of concurrent
   * claims exactly one returns true; a later claim of the same pair returns false (a replay).
   */
  claimJti(issuer: string, jti: string, expiresAt: string): Promise<boolean>;
  createToken(token: UploadToken, secretHash: string): Promise<void>;
  findToken(secretHash: string): Promise<UploadToken | null>;
  /**
   * Pins a GitHub publisher's repository owner id if it has none yet; returns the id it holds afterwards
   * (null when the publisher is gone).
   */
  pinRepositoryOwnerId(publisherId: string, ownerId: string): Promise<string | null>;
  /** Forgets replay claims and tokens expired before these times. */
  purge(jtisBefore: string, tokensBefore: string): Promise<void>;
}

/** The caller presented a minted upload token; `publishers` are those of its grants that still exist. */
export interface PublisherPrincipal {
  kind: 'publisher';
  token: UploadToken;
  publishers: TrustedPublisher[];
}

/** Never the start of an API key secret (`pvn_` + base64url), so the two kinds of bearer never collide. */
export const UPLOAD_TOKEN_PREFIX = 'pvnp_';

export function newUploadTokenSecret(): string {
  return UPLOAD_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function newUploadTokenId(): string {
  return `upt_${randomBytes(8).toString('hex')}`;
}

/**
 * Resolves a minted upload token. Expired tokens are refused (`token_expired`); grants whose publisher
 * was removed from its channel are dropped at once, not at the token's expiry, and a token left with no
 * grant is refused (`publisher_removed`).
 */
export async function authenticateUploadToken(
  store: MetadataStore,
  clock: Clock,
  secretHash: string,
): Promise<PublisherPrincipal> {
  const token = await store.trustedPublishing.findToken(secretHash);
  if (!token) throw unauthenticated('unknown_token', 'the token is not known to this server; mint a new one');
  if (Date.parse(token.expiresAt) <= clock.now().getTime()) {
    throw unauthenticated('token_expired', `the Trusted Publishing token ${token.id} expired at ${token.expiresAt}; mint a new one`);
  }
  const publishers: TrustedPublisher[] = [];
  for (const grant of token.grants) {
    const p = await store.publishers.get(grant.publisherId);
    if (p !== null && p.channel === grant.channel) publishers.push(p);
  }
  if (publishers.length === 0) {
    throw unauthenticated('publisher_removed', `the Trusted Publisher this token ${token.id} was minted for has been removed from its channel`);
  }
  return { kind: 'publisher', token, publishers };
}

/** The publisher whose token authorised an upload to `channel`, if a Trusted Publishing token did. */
export function requiredPublisherOf(principal: Principal, channel: string): TrustedPublisher | undefined {
  return principal.kind === 'publisher' ? principal.publishers.find((p) => p.channel === channel) : undefined;
}

/** Whether a Trusted Publishing token grants `need` on `channel`: read and upload on its channels only. */
export function publisherAllows(principal: PublisherPrincipal, channel: { name: string; private: boolean }, need: 'read' | 'upload' | 'admin'): boolean {
  if (principal.publishers.some((p) => p.channel === channel.name)) return need !== 'admin';
  return need === 'read' && !channel.private;
}

/** The log's `publisher` for an action taken with this token: the CI identity and the channel's publisher. */
export function publisherLogIdentity(principal: PublisherPrincipal, channel?: string): Publisher {
  const p = channel === undefined ? undefined : principal.publishers.find((x) => x.channel === channel);
  return { ...principal.token.identity, ...(p ? { publisher_id: p.id } : {}), token_id: principal.token.id };
}

/** `uploaded_by` of a package published with this token. */
export function publisherLabel(principal: PublisherPrincipal, channel?: string): string {
  const p = channel === undefined ? undefined : principal.publishers.find((x) => x.channel === channel);
  return p ? `publisher:${p.id}` : `publisher-token:${principal.token.id}`;
}

function unauthenticated(code: string, detail: string): ProvenaError {
  return new ProvenaError(code, 'unauthenticated', detail);
}
