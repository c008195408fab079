import type { JWK } from 'jose';
import { ProvenaError } from '../errors.ts';
import type { Clock } from '../channel/ports.ts';
import { issuerUrlProblem } from './oidc-issuers.ts';

/** Fetches a JSON document (GET, bounded size and time); throws on any failure. The adapter does HTTP. */
export type FetchJson = (url: string) => Promise<unknown>;

/**
 * Signature algorithms an id token may use. Only asymmetric ones: with HS256 the "secret" would be the
 * issuer's public key, which anyone can read (the classic algorithm-confusion forgery).
 */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
];

export interface IssuerKeysOptions {
  /** keys older than this are fetched again on next use (default 1 hour) */
  maxAgeMs?: number;
  /** at most one fetch per issuer in this interval, however many unknown `kid`s arrive (default 60 s) */
  minRefreshMs?: number;
  /** when the issuer is unreachable, keys up to this old are still used (default 24 hours) */
  maxStaleMs?: number;
}

/** The key that verifies a token, and the algorithms its issuer declares. */
export interface SigningKey {
  jwk: JWK;
  /** asymmetric algorithms the issuer's discovery document declares for id tokens */
  algorithms: readonly string[];
}

interface KeySet {
  fetchedAt: number;
  keys: JWK[];
  algorithms: string[];
}

const MAX_KEYS = 100;

/**
 * Each trusted issuer's JWKS, found through OpenID discovery (`/.well-known/openid-configuration` →
 * `jwks_uri`) and cached. Refreshes are bounded: keys are fetched again when older than `maxAgeMs`, or
 * when a token names an unknown `kid` — but never more than once per `minRefreshMs` per issuer, so a
 * stream of tokens with made-up key ids cannot turn the server into a load generator against the issuer.
 * Concurrent refreshes of one issuer share one fetch. The cache holds one entry per configured issuer.
 */
export class IssuerKeys {
  private readonly sets = new Map<string, KeySet>();
  private readonly inflight = new Map<string, Promise<KeySet>>();
  private readonly lastAttempt = new Map<string, number>();
  private readonly maxAgeMs: number;
  private readonly minRefreshMs: number;
  private readonly maxStaleMs: number;

  constructor(
    private readonly fetchJson: FetchJson,
    private readonly clock: Clock,
    opts: IssuerKeysOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 3_600_000;
    this.minRefreshMs = opts.minRefreshMs ?? 60_000;
    this.maxStaleMs = opts.maxStaleMs ?? 86_400_000;
  }

  /** The issuer's key with this `kid` (or its only key, for a token without `kid`). */
  async signingKey(issuer: string, kid: string | undefined): Promise<SigningKey> {
    let set = await this.keySet(issuer, false);
    let jwk = pick(set.keys, kid);
    if (jwk === undefined) {
      // a new key may have been rotated in since the last fetch: refresh once (rate-limited) and look again
      set = await this.keySet(issuer, true);
      jwk = pick(set.keys, kid);
    }
    if (jwk === undefined) {
      throw new ProvenaError(
        'unknown_signing_key',
        'unauthenticated',
        `the token's signing key ${kid === undefined ? '(no kid)' : JSON.stringify(kid)} is not in the JWKS of ${issuer}`,
        { extra: { issuer } },
      );
    }
    return { jwk, algorithms: set.algorithms };
  }

  private async keySet(issuer: string, wantFresh: boolean): Promise<KeySet> {
    const now = this.clock.now().getTime();
    const set = this.sets.get(issuer);
    if (set !== undefined && !wantFresh && now - set.fetchedAt < this.maxAgeMs) return set;
    const last = this.lastAttempt.get(issuer);
    const mayFetch = last === undefined || now - last >= this.minRefreshMs || this.inflight.has(issuer);
    if (!mayFetch) {
      if (set !== undefined) return set;
      throw unavailable(issuer, 'fetching its keys failed moments ago; try again shortly');
    }
    try {
      return await this.refresh(issuer);
    } catch (e) {
      if (set !== undefined && now - set.fetchedAt < this.maxStaleMs) return set;
      throw unavailable(issuer, (e as Error).message);
    }
  }

  private refresh(issuer: string): Promise<KeySet> {
    let p = this.inflight.get(issuer);
    if (p === undefined) {
      this.lastAttempt.set(issuer, this.clock.now().getTime());
      p = this.load(issuer).finally(() => this.inflight.delete(issuer));
      this.inflight.set(issuer, p);
    }
    return p;
  }

  private async load(issuer: string): Promise<KeySet> {
    const discovery = await this.fetchJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
    if (!isRecord(discovery)) throw new Error('the discovery document is not a JSON object');
    // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for
    if (discovery['issuer'] !== issuer) {
      throw new Error(`the discovery document names issuer ${JSON.stringify(discovery['issuer'])}, not ${issuer}`);
    }
    const jwksUri = discovery['jwks_uri'];
    // https; plain http only where the issuer itself is a local http issuer (tests), never as a downgrade
    const plainHttpOk = issuer.startsWith('http:');
    if (typeof jwksUri !== 'string' || issuerUrlProblem(jwksUri) !== null || (jwksUri.startsWith('http:') && !plainHttpOk)) {
      throw new Error(`jwks_uri ${JSON.stringify(jwksUri)} is not an https URL`);
    }
    const declared = discovery['id_token_signing_alg_values_supported'];
    // OpenID Provider Metadata: RS256 must be supported, and is what an issuer that says nothing uses
    const algorithms = (Array.isArray(declared) ? declared : ['RS256']).filter(
      (a): a is string => typeof a === 'string' && ASYMMETRIC_ALGORITHMS.includes(a),
    );
    const jwks = await this.fetchJson(jwksUri);
    const listed = isRecord(jwks) && Array.isArray(jwks['keys']) ? jwks['keys'] : null;
    if (listed === null) throw new Error('the JWKS has no "keys" list');
    const keys = listed.filter(isVerificationKey).slice(0, MAX_KEYS);
    // an empty set is more likely a hiccup than a real rotation to nothing: keep what we had
    if (keys.length === 0) throw new Error('the JWKS holds no usable public signing key');
    const set: KeySet = { fetchedAt: this.clock.now().getTime(), keys, algorithms };
    this.sets.set(issuer, set);
    return set;
  }
}

function pick(keys: readonly JWK[], kid: string | undefined): JWK | undefined {
  if (kid === undefined) return keys.length === 1 ? keys[0] : undefined;
  return keys.find((k) => k.kid === kid);
}

/** Public asymmetric keys meant for signatures; symmetric (`oct`) or private material is never used. */
function isVerificationKey(k: unknown): k is JWK {
  if (!isRecord(k)) return false;
  if (!['RSA', 'EC', 'OKP'].includes(k['kty'] as string)) return false;
  if (k['use'] !== undefined && k['use'] !== 'sig') return false;
  if (k['d'] !== undefined || (k['kid'] !== undefined && typeof k['kid'] !== 'string')) return false;
  return true;
}

function unavailable(issuer: string, why: string): ProvenaError {
  return new ProvenaError('issuer_unavailable', 'unavailable', `cannot get the signing keys of ${issuer}: ${why}`, { extra: { issuer } });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
