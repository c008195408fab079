import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { AccessControl, hashSecret } from '../../../src/core/channel/access.ts';
import type { ProvenaError } from '../../../src/core/errors.ts';
import { IssuerKeys } from '../../../src/core/publish/issuer-keys.ts';
import { DEFAULT_ISSUERS, trustedIssuers, type TrustedIssuer } from '../../../src/core/publish/oidc-issuers.ts';
import { PublisherService } from '../../../src/core/publish/publishers.ts';
import { TrustedPublishingService, type MintEvent } from '../../../src/core/publish/trusted-publishing.ts';
import { requiredPublisherOf } from '../../../src/core/publish/upload-tokens.ts';
import { loadSettings } from '../../../src/adapters/config/settings.ts';
import { tempSqliteStore } from '../../support/sqlite-store.ts';

const ADMIN = 'admin-token-for-tp-tests-0123456';
const CI = 'https://ci.example.org';
const OTHER = 'https://other.example.org';
const AUD = 'conda.example.org';

/** Two generic issuers served from memory (no network), each with its own RS256 key. */
async function issuers() {
  const made: Record<string, { key: CryptoKey; jwk: object }> = {};
  for (const url of [CI, OTHER]) {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    made[url] = { key: privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' } };
  }
  const fetchJson = async (url: string) => {
    for (const iss of [CI, OTHER]) {
      if (url === `${iss}/.well-known/openid-configuration`) return { issuer: iss, jwks_uri: `${iss}/jwks` };
      if (url === `${iss}/jwks`) return { keys: [made[iss]!.jwk] };
    }
    throw new Error(`unexpected fetch ${url}`);
  };
  const sign = (iss: string, claims: JWTPayload, atSeconds: number) =>
    new SignJWT({ iss, aud: AUD, iat: atSeconds, exp: atSeconds + 300, jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .sign(made[iss]!.key);
  return { fetchJson, sign };
}

async function setup() {
  const { store } = await tempSqliteStore();
  let now = new Date('2026-03-01T12:00:00Z');
  const clock = { now: () => now };
  const access = new AccessControl(store, ADMIN, clock);
  const events: MintEvent[] = [];
  const { fetchJson, sign } = await issuers();
  const configured: TrustedIssuer[] = [
    { url: CI, kind: 'generic', audience: AUD, instance: null },
    { url: OTHER, kind: 'generic', audience: AUD, instance: null },
  ];
  const tp = new TrustedPublishingService(store, clock, {
    issuers: configured,
    keys: new IssuerKeys(fetchJson, clock),
    audience: () => 'unused.example.org',
    uploadTokenTtlSeconds: 900,
    audit: (e) => events.push(e),
  });
  const publishers = new PublisherService(store, access, clock);
  for (const name of ['gen', 'other']) {
    await store.channels.create({ name, private: true, requireAttestations: false, createdAt: now.toISOString() });
  }
  const at = () => Math.floor(now.getTime() / 1000);
  return {
    store, access, tp, events, publishers,
    sign: (iss: string, claims: JWTPayload) => sign(iss, claims, at()),
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
  };
}

const code = (c: string) => (e: ProvenaError) => {
  assert.equal(e.code, c, e.detail);
  return true;
};

describe('Trusted Publishing service (generic issuers, in process)', () => {
  it('matches generic publishers on exact claim values only', async () => {
    const t = await setup();
    const pub = await t.publishers.add({ kind: 'admin' }, 'gen', {
      kind: 'generic', issuer: CI, claims: { sub: 'builder:release', repository: 'acme/widgets' },
    });
    const minted = await t.tp.mint(await t.sign(CI, { sub: 'builder:release', repository: 'acme/widgets' }));
    assert.deepEqual(minted.publishers.map((p) => p.id), [pub.id]);
    assert.deepEqual(minted.token.identity, { kind: 'generic', issuer: CI, claims: { repository: 'acme/widgets', sub: 'builder:release' } });

    const refusals: [JWTPayload, string][] = [
      [{ sub: 'builder:release-evil', repository: 'acme/widgets' }, 'claim_mismatch'], // a longer value
      [{ sub: 'builder:releas', repository: 'acme/widgets' }, 'claim_mismatch'], // a prefix
      [{ sub: 'BUILDER:release', repository: 'acme/widgets' }, 'claim_mismatch'], // case
      [{ sub: 'builder:release', repository: 'acme/widgets ' }, 'claim_mismatch'], // trailing space
      [{ sub: 'builder:release' }, 'claim_mismatch'], // a claim missing
      [{ sub: 'builder:release', repository: ['acme/widgets'] }, 'claim_mismatch'], // another type
    ];
    for (const [claims, c] of refusals) {
      await assert.rejects(t.tp.mint(await t.sign(CI, claims)), code(c), JSON.stringify(claims));
    }
    // the same claims from another (also trusted) issuer are not this publisher's
    await assert.rejects(t.tp.mint(await t.sign(OTHER, { sub: 'builder:release', repository: 'acme/widgets' })), code('publisher_not_found'));
    await t.store.close();
  });

  it('binds the minted token to the matched publisher: upload on its channel only, never admin', async () => {
    const t = await setup();
    const pub = await t.publishers.add({ kind: 'admin' }, 'gen', { kind: 'generic', issuer: CI, claims: { sub: 'job' } });
    const minted = await t.tp.mint(await t.sign(CI, { sub: 'job' }));
    const principal = await t.access.authenticate(minted.secret);
    assert.equal(principal.kind, 'publisher');
    const gen = (await t.store.channels.get('gen'))!;
    const other = (await t.store.channels.get('other'))!;
    assert.equal(t.access.allows(principal, gen, 'read'), true);
    assert.equal(t.access.allows(principal, gen, 'upload'), true);
    assert.equal(t.access.allows(principal, gen, 'admin'), false);
    assert.equal(t.access.allows(principal, other, 'read'), false, 'another private channel is invisible');
    assert.equal(t.access.allows(principal, other, 'upload'), false);
    assert.throws(() => t.access.requireAdmin(principal), code('admin_required'));
    assert.equal(requiredPublisherOf(principal, 'gen')?.id, pub.id);
    assert.equal(requiredPublisherOf(principal, 'other'), undefined);
    assert.equal(requiredPublisherOf({ kind: 'admin' }, 'gen'), undefined);
    // stored hashed: found by the secret's SHA-256, not by the secret
    assert.equal((await t.store.trustedPublishing.findToken(hashSecret(minted.secret)))?.id, minted.token.id);
    assert.equal(await t.store.trustedPublishing.findToken(minted.secret), null);
    await t.store.close();
  });

  it('expires minted tokens after the lifetime (fake clock, no sleeping); an old id token is refused by its time', async () => {
    const t = await setup();
    await t.publishers.add({ kind: 'admin' }, 'gen', { kind: 'generic', issuer: CI, claims: { sub: 'job' } });
    const idToken = await t.sign(CI, { sub: 'job', jti: 'fixed-jti' });
    const minted = await t.tp.mint(idToken);
    t.advance(899_000);
    assert.equal((await t.access.authenticate(minted.secret)).kind, 'publisher');
    t.advance(1_000);
    await assert.rejects(t.access.authenticate(minted.secret), (e: ProvenaError) => e.code === 'token_expired' && e.kind === 'unauthenticated');
    await assert.rejects(t.tp.mint(idToken), code('id_token_expired'), 'an old id token is refused by time, not by replay');
    await t.store.close();
  });

  it('audits every exchange with the verified claims, never the token', async () => {
    const t = await setup();
    await t.publishers.add({ kind: 'admin' }, 'gen', { kind: 'generic', issuer: CI, claims: { sub: 'job' } });
    const good = await t.sign(CI, { sub: 'job' });
    const minted = await t.tp.mint(good, { remoteAddress: '192.0.2.7' });
    await assert.rejects(t.tp.mint(good), code('jti_replayed'));
    await assert.rejects(t.tp.mint(undefined), code('id_token_missing'));
    assert.deepEqual(t.events.map((e) => [e.outcome, e.code]), [['minted', null], ['refused', 'jti_replayed'], ['refused', 'id_token_missing']]);
    assert.equal(t.events[0]!.token_id, minted.token.id);
    assert.deepEqual(t.events[0]!.channels, ['gen']);
    assert.equal(t.events[0]!.remote_address, '192.0.2.7');
    assert.equal(t.events[0]!.claims.sub, 'job');
    const text = JSON.stringify(t.events);
    assert.ok(!text.includes(good) && !text.includes(good.split('.')[2]!) && !text.includes(minted.secret));
    await t.store.close();
  });
});

describe('Trusted Publishing settings', () => {
  it('trusts GitHub Actions and gitlab.com by default, adds configured issuers, and can leave the defaults out', () => {
    const s = loadSettings({}, {});
    assert.deepEqual(trustedIssuers(s.issuers, s.oidc_default_issuers), DEFAULT_ISSUERS);
    assert.equal(s.upload_token_ttl_seconds, 900);
    const env = {
      PROVENA_ISSUERS: JSON.stringify([
        { url: 'https://gitlab.example.com', kind: 'gitlab' },
        { url: 'https://token.actions.githubusercontent.com', kind: 'github', audience: 'conda.example.org' },
      ]),
    };
    const withExtra = loadSettings({}, env);
    const list = trustedIssuers(withExtra.issuers, withExtra.oidc_default_issuers);
    assert.deepEqual(list.map((i) => [i.url, i.kind, i.audience]), [
      ['https://token.actions.githubusercontent.com', 'github', 'conda.example.org'],
      ['https://gitlab.com', 'gitlab', null],
      ['https://gitlab.example.com', 'gitlab', null],
    ]);
    const only = loadSettings({}, { ...env, PROVENA_OIDC_DEFAULT_ISSUERS: 'false' });
    assert.equal(trustedIssuers(only.issuers, only.oidc_default_issuers).length, 2);
  });

  it('refuses issuers it could not fetch safely or compare exactly', () => {
    const bad = [
      { url: 'http://ci.example.org', kind: 'generic' },
      { url: 'https://user:pw@ci.example.org', kind: 'generic' },
      { url: 'https://ci.example.org?x=1', kind: 'generic' },
      { url: 'https://ci.example.org', kind: 'jenkins' },
      { url: 'https://ci.example.org', kind: 'github', instance: 'https://github.com' },
      { url: 'https://ci.example.org', kind: 'gitlab', instance: 'http://gitlab.example.com' },
      { url: 'https://ci.example.org', kind: 'generic', extra: 1 },
    ];
    for (const issuer of bad) {
      assert.throws(() => loadSettings({}, { PROVENA_ISSUERS: JSON.stringify([issuer]) }), /setting issuers/, JSON.stringify(issuer));
    }
    assert.throws(() => loadSettings({}, { PROVENA_ISSUERS: 'not json' }), /setting issuers/);
    assert.throws(() => loadSettings({}, { PROVENA_UPLOAD_TOKEN_TTL_SECONDS: '0' }), /upload_token_ttl_seconds/);
    // loopback http is allowed: a local issuer for tests
    assert.equal(loadSettings({}, { PROVENA_ISSUERS: JSON.stringify([{ url: 'http://127.0.0.1:9', kind: 'github' }]) }).issuers.length, 1);
  });
});
