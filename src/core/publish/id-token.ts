import { compactVerify, importJWK } from 'jose';
import { ProvenaError } from '../errors.ts';
import { ASYMMETRIC_ALGORITHMS, type IssuerKeys } from './issuer-keys.ts';
import type { TrustedIssuer } from './oidc-issuers.ts';

/** A CI's OIDC id token whose signature, issuer, audience, times and `jti` passed every check. */
export interface VerifiedIdToken {
  issuer: TrustedIssuer;
  claims: IdTokenClaims;
  algorithm: string;
}

export interface IdTokenClaims {
  iss: string;
  aud: string;
  exp: number;
  iat: number;
  nbf?: number;
  jti: string;
  [claim: string]: unknown;
}

export interface IdTokenContext {
  issuers: readonly TrustedIssuer[];
  keys: IssuerKeys;
  now: Date;
  /** the audience this issuer's tokens must carry */
  audienceFor(issuer: TrustedIssuer): string;
  /** allowed clock skew for exp / nbf / iat, seconds */
  leewaySeconds: number;
}

/** GitHub's and GitLab's tokens are 1–2 KiB; anything this large is not an id token. */
export const MAX_ID_TOKEN_BYTES = 16 * 1024;

const refuse = (code: string, detail: string, extra?: Record<string, unknown>) =>
  new ProvenaError(code, 'unauthenticated', detail, { extra });

/**
 * Verifies an id token in an order where nothing is trusted before it is proven: the unverified header
 * and `iss` only choose which issuer's keys to try; every claim is read from the verified payload.
 * Each failure has its own code (the negative tests assert them): `id_token_malformed`,
 * `algorithm_not_allowed`, `issuer_not_configured`, `unknown_signing_key`, `issuer_unavailable`,
 * `id_token_signature_invalid`, `audience_mismatch`, `audience_not_single`, `id_token_expired`,
 * `id_token_not_yet_valid`, `id_token_issued_in_future`, `id_token_claim_missing`, `jti_missing`.
 */
export async function verifyIdToken(jwt: string, ctx: IdTokenContext): Promise<VerifiedIdToken> {
  if (jwt.length > MAX_ID_TOKEN_BYTES) throw refuse('id_token_malformed', `the token is over ${MAX_ID_TOKEN_BYTES} bytes`);
  const parts = jwt.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || parts[0] === '' || parts[1] === '') {
    throw refuse('id_token_malformed', 'expected a signed JWT in compact form (three base64url parts separated by ".")');
  }
  const header = decodePart(parts[0]!, 'header');
  const unverified = decodePart(parts[1]!, 'payload');

  const alg = header['alg'];
  // `none` and the HMAC family are refused outright: a public key must never double as a shared secret
  if (typeof alg !== 'string' || !ASYMMETRIC_ALGORITHMS.includes(alg)) {
    throw refuse('algorithm_not_allowed', `signature algorithm ${JSON.stringify(alg)} is not accepted; id tokens must be signed with an asymmetric key (e.g. RS256)`);
  }
  const iss = unverified['iss'];
  const issuer = typeof iss === 'string' ? ctx.issuers.find((i) => i.url === iss) : undefined;
  if (issuer === undefined) {
    throw refuse('issuer_not_configured', `issuer ${JSON.stringify(iss ?? null)} is not one this server trusts for Trusted Publishing (setting "issuers")`);
  }
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string') throw refuse('id_token_malformed', 'the header "kid" must be a string');
  const { jwk, algorithms } = await ctx.keys.signingKey(issuer.url, kid);
  if (!algorithms.includes(alg) || (jwk.alg !== undefined && jwk.alg !== alg)) {
    throw refuse('algorithm_not_allowed', `${issuer.url} does not sign id tokens with ${alg} (it declares ${algorithms.join(', ') || 'no asymmetric algorithm'})`);
  }

  let payloadBytes: Uint8Array;
  try {
    const key = await importJWK(jwk, alg);
    payloadBytes = (await compactVerify(jwt, key, { algorithms: [alg] })).payload;
  } catch {
    throw refuse('id_token_signature_invalid', `the token's signature does not verify with ${issuer.url}'s key ${JSON.stringify(kid ?? null)}`);
  }
  let claims: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payloadBytes));
    if (!isRecord(parsed)) throw new Error();
    claims = parsed;
  } catch {
    throw refuse('id_token_malformed', 'the signed payload is not a JSON object');
  }
  return { issuer, claims: checkClaims(claims, issuer, ctx), algorithm: alg };
}

function checkClaims(c: Record<string, unknown>, issuer: TrustedIssuer, ctx: IdTokenContext): IdTokenClaims {
  if (c['iss'] !== issuer.url) throw refuse('issuer_not_configured', 'the signed "iss" differs from the unsigned one');

  const expected = ctx.audienceFor(issuer);
  const aud = c['aud'];
  // exactly one audience: a token meant for us and someone else could be replayed by that someone else
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : null;
  if (audiences === null || audiences.length === 0) throw refuse('id_token_claim_missing', 'the token has no "aud" claim', { claim: 'aud' });
  if (audiences.length > 1) {
    throw refuse('audience_not_single', `the token names ${audiences.length} audiences; request one, ${JSON.stringify(expected)}`);
  }
  if (audiences[0] !== expected) {
    throw refuse('audience_mismatch', `the token's audience is ${JSON.stringify(audiences[0])}; this server expects ${JSON.stringify(expected)} (GET /api/oidc/audience)`);
  }

  const now = ctx.now.getTime() / 1000;
  const leeway = ctx.leewaySeconds;
  const exp = numericDate(c, 'exp', true)!;
  const iat = numericDate(c, 'iat', true)!;
  const nbf = numericDate(c, 'nbf', false);
  if (now >= exp + leeway) throw refuse('id_token_expired', `the token expired at ${iso(exp)}; request a fresh one from the CI`);
  if (nbf !== undefined && now < nbf - leeway) throw refuse('id_token_not_yet_valid', `the token is not valid before ${iso(nbf)}`);
  if (iat > now + leeway) throw refuse('id_token_issued_in_future', `the token claims to be issued at ${iso(iat)}, in the future`);

  const jti = c['jti'];
  if (jti === undefined || jti === null || jti === '') {
    throw refuse('jti_missing', 'the token has no "jti": without a unique id a stolen token could be exchanged again');
  }
  if (typeof jti !== 'string' || jti.length > 255) throw refuse('id_token_claim_invalid', '"jti" must be a string of at most 255 characters', { claim: 'jti' });
  return { ...c, iss: issuer.url, aud: expected, exp, iat, ...(nbf === undefined ? {} : { nbf }), jti };
}

function numericDate(c: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const v = c[name];
  if (v === undefined) {
    if (required) throw refuse('id_token_claim_missing', `the token has no "${name}" claim`, { claim: name });
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw refuse('id_token_claim_invalid', `"${name}" must be a number of seconds`, { claim: name });
  return v;
}

function decodePart(part: string, what: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (isRecord(v)) return v;
  } catch {
    // reported below
  }
  throw refuse('id_token_malformed', `the token's ${what} is not a base64url JSON object`);
}

function iso(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
