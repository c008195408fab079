import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { IssuerKeys } from '../../../src/core/publish/issuer-keys.ts';
import type { ProvenaError } from '../../../src/core/errors.ts';

const ISSUER = 'https://ci.example.org';

async function jwk(kid: string) {
  const { publicKey } = await generateKeyPair('RS256');
  return { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
}

/** An issuer served from memory: counts fetches, keys can be rotated, the issuer can go down. */
function fakeIssuer(keys: object[]) {
  const state = { keys, fetches: 0, down: false, discovery: { issuer: ISSUER, jwks_uri: `${ISSUER}/jwks`, id_token_signing_alg_values_supported: ['RS256'] } as Record<string, unknown> };
  const fetchJson = async (url: string) => {
    state.fetches++;
    if (state.down) throw new Error('connection refused');
    if (url === `${ISSUER}/.well-known/openid-configuration`) return state.discovery;
    if (url === `${ISSUER}/jwks`) return { keys: state.keys };
    throw new Error(`unexpected ${url}`);
  };
  return { state, fetchJson };
}

const code = (c: string) => (e: ProvenaError) => e.code === c;

describe('issuer keys: discovery, cache and bounded refresh', () => {
  it('finds keys through discovery and serves them from the cache', async () => {
    const { state, fetchJson } = fakeIssuer([await jwk('a')]);
    const keys = new IssuerKeys(fetchJson, { now: () => new Date(0) });
    const k = await keys.signingKey(ISSUER, 'a');
    assert.equal(k.jwk.kid, 'a');
    assert.deepEqual(k.algorithms, ['RS256']);
    await keys.signingKey(ISSUER, 'a');
    assert.equal(state.fetches, 2, 'discovery + JWKS once');
  });

  it('refreshes once for an unknown kid (a rotation), and no more than once per interval however many arrive', async () => {
    const { state, fetchJson } = fakeIssuer([await jwk('a')]);
    let now = 0;
    const keys = new IssuerKeys(fetchJson, { now: () => new Date(now) }, { minRefreshMs: 60_000 });
    await keys.signingKey(ISSUER, 'a');
    state.keys = [await jwk('a'), await jwk('b')];
    now = 61_000;
    assert.equal((await keys.signingKey(ISSUER, 'b')).jwk.kid, 'b', 'rotated-in key found after one refresh');
    assert.equal(state.fetches, 4);
    for (let i = 0; i < 20; i++) await assert.rejects(keys.signingKey(ISSUER, `made-up-${i}`), code('unknown_signing_key'));
    assert.equal(state.fetches, 4, 'made-up kids within the interval fetch nothing');
    now = 122_000;
    await assert.rejects(keys.signingKey(ISSUER, 'made-up'), code('unknown_signing_key'));
    assert.equal(state.fetches, 6, 'one refresh after the interval');
  });

  it('shares one fetch between concurrent refreshes', async () => {
    const { state, fetchJson } = fakeIssuer([await jwk('a')]);
    const keys = new IssuerKeys(fetchJson, { now: () => new Date(0) });
    await Promise.all(Array.from({ length: 10 }, () => keys.signingKey(ISSUER, 'a')));
    assert.equal(state.fetches, 2);
  });

  it('keeps using known keys while the issuer is down (up to maxStale), then refuses with issuer_unavailable', async () => {
    const { state, fetchJson } = fakeIssuer([await jwk('a')]);
    let now = 0;
    const keys = new IssuerKeys(fetchJson, { now: () => new Date(now) }, { maxAgeMs: 1000, minRefreshMs: 10, maxStaleMs: 10_000 });
    await keys.signingKey(ISSUER, 'a');
    state.down = true;
    now = 5_000;
    assert.equal((await keys.signingKey(ISSUER, 'a')).jwk.kid, 'a', 'stale but usable');
    now = 20_000;
    await assert.rejects(keys.signingKey(ISSUER, 'a'), (e: ProvenaError) => e.code === 'issuer_unavailable' && e.kind === 'unavailable');
  });

  it('refuses a discovery document for another issuer, a non-https jwks_uri, and a JWKS without usable keys', async () => {
    const cases: [string, (s: ReturnType<typeof fakeIssuer>['state']) => void][] = [
      ['issuer', (s) => (s.discovery.issuer = 'https://evil.example.org')],
      ['jwks_uri', (s) => (s.discovery.jwks_uri = 'http://ci.example.org/jwks')],
      ['jwks_uri downgrade to a local http URL', (s) => (s.discovery.jwks_uri = 'http://127.0.0.1:9/jwks')],
      ['symmetric', (s) => (s.keys = [{ kty: 'oct', k: 'c2VjcmV0', kid: 'a' }])],
      ['private', (s) => (s.keys = [{ kty: 'RSA', n: 'x', e: 'AQAB', d: 'private', kid: 'a' }])],
      ['encryption', (s) => (s.keys = [{ kty: 'RSA', n: 'x', e: 'AQAB', use: 'enc', kid: 'a' }])],
      ['empty', (s) => (s.keys = [])],
    ];
    for (const [label, spoil] of cases) {
      const issuer = fakeIssuer([await jwk('a')]);
      spoil(issuer.state);
      const keys = new IssuerKeys(issuer.fetchJson, { now: () => new Date(0) });
      await assert.rejects(keys.signingKey(ISSUER, 'a'), code('issuer_unavailable'), label);
    }
  });

  it('only offers asymmetric algorithms the issuer declares (RS256 when it declares none)', async () => {
    const { state, fetchJson } = fakeIssuer([await jwk('a')]);
    state.discovery.id_token_signing_alg_values_supported = ['HS256', 'none', 'ES256'];
    assert.deepEqual((await new IssuerKeys(fetchJson, { now: () => new Date(0) }).signingKey(ISSUER, 'a')).algorithms, ['ES256']);
    delete state.discovery.id_token_signing_alg_values_supported;
    assert.deepEqual((await new IssuerKeys(fetchJson, { now: () => new Date(0) }).signingKey(ISSUER, 'a')).algorithms, ['RS256']);
  });

  it('accepts a token without kid only when the issuer has exactly one key', async () => {
    const one = fakeIssuer([await jwk('a')]);
    assert.equal((await new IssuerKeys(one.fetchJson, { now: () => new Date(0) }).signingKey(ISSUER, undefined)).jwk.kid, 'a');
    const two = fakeIssuer([await jwk('a'), await jwk('b')]);
    await assert.rejects(new IssuerKeys(two.fetchJson, { now: () => new Date(0) }).signingKey(ISSUER, undefined), code('unknown_signing_key'));
  });
});
