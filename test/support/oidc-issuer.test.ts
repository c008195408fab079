import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, errors, exportSPKI, importJWK, jwtVerify } from 'jose';
import type { CryptoKey, JWTVerifyGetKey } from 'jose';
import { startOidcIssuer } from './oidc-issuer.ts';
import type { ForgedToken, OidcIssuer } from './oidc-issuer.ts';

describe('OIDC issuer on loopback', () => {
  let issuer: OidcIssuer;
  let keys: JWTVerifyGetKey;
  // Verification as a relying party does it: discovery → jwks_uri → key by kid.
  const verify = (token: string, audience = 'sigstore') => jwtVerify(token, keys, { issuer: issuer.url, audience });

  before(async () => {
    issuer = await startOidcIssuer();
    const config = await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    keys = createRemoteJWKSet(new URL(String(config.jwks_uri)));
  });
  after(() => issuer.close());

  it('publishes a discovery document that points at its JWKS', async () => {
    assert.match(issuer.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const config = await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    assert.equal(config.issuer, issuer.url);
    assert.equal(config.jwks_uri, issuer.jwksUrl);
    assert.deepEqual(config.id_token_signing_alg_values_supported, ['RS256']);
    const jwks = await (await fetch(issuer.jwksUrl)).json() as { keys: { kid: string; kty: string; d?: string }[] };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0]!.kid, issuer.kid);
    assert.equal(jwks.keys[0]!.kty, 'RSA');
    assert.equal(jwks.keys[0]!.d, undefined, 'no private key material in the JWKS');
  });

  it('issues GitHub Actions tokens with the claims GitHub sets', async () => {
    const token = await issuer.githubToken();
    const { payload, protectedHeader } = await verify(token);
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.kid, issuer.kid);
    for (const claim of ['jti', 'sub', 'aud', 'ref', 'sha', 'repository', 'repository_owner', 'repository_owner_id',
      'repository_id', 'repository_visibility', 'run_id', 'run_number', 'run_attempt', 'actor', 'actor_id', 'workflow',
      'head_ref', 'base_ref', 'event_name', 'ref_type', 'ref_protected', 'workflow_ref', 'workflow_sha',
      'job_workflow_ref', 'job_workflow_sha', 'runner_environment', 'iss', 'nbf', 'exp', 'iat']) {
      assert.ok(claim in payload, `claim ${claim}`);
    }
    assert.equal(payload.sub, 'repo:acme/widgets:ref:refs/heads/main');
    assert.equal(payload.job_workflow_ref, 'acme/widgets/.github/workflows/release.yml@refs/heads/main');
    assert.equal(payload.repository_owner, 'acme');
    assert.equal(payload.environment, undefined);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300);
  });

  it('derives sub, owner and workflow refs from overridden GitHub claims', async () => {
    const token = await issuer.githubToken({ repository: 'octo-org/octo-repo', environment: 'pypi', ref: 'refs/tags/v1.0' });
    const { payload } = await verify(token);
    assert.equal(payload.sub, 'repo:octo-org/octo-repo:environment:pypi');
    assert.equal(payload.environment, 'pypi');
    assert.equal(payload.repository_owner, 'octo-org');
    assert.equal(payload.ref_type, 'tag');
    assert.equal(payload.job_workflow_ref, 'octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0');
  });

  it('issues GitLab CI tokens with the claims GitLab sets', async () => {
    const { payload } = await verify(await issuer.gitlabToken({ project_path: 'group/sub/proj', environment: 'prod' }));
    assert.equal(payload.sub, 'project_path:group/sub/proj:ref_type:branch:ref:main');
    assert.equal(payload.namespace_path, 'group/sub');
    assert.equal(payload.ci_config_ref_uri, 'gitlab.com/group/sub/proj//.gitlab-ci.yml@refs/heads/main');
    assert.equal(payload.ref_path, 'refs/heads/main');
    assert.equal(payload.environment, 'prod');
    for (const claim of ['project_id', 'namespace_id', 'pipeline_id', 'pipeline_source', 'job_id', 'sha',
      'ci_config_sha', 'runner_id', 'runner_environment', 'project_visibility', 'user_login', 'jti']) {
      assert.ok(claim in payload, `claim ${claim}`);
    }
  });

  it('lets tests set registered claims freely and drop any claim', async () => {
    const token = await issuer.mint({ iss: 'https://token.actions.githubusercontent.com', aud: ['a', 'b'], jti: 'fixed',
      iat: 1_700_000_000, nbf: undefined, exp: 4_000_000_000, sub: 'x' });
    const { payload } = await jwtVerify(token, keys, { issuer: 'https://token.actions.githubusercontent.com' });
    assert.deepEqual(payload, { iss: 'https://token.actions.githubusercontent.com', aud: ['a', 'b'], jti: 'fixed',
      iat: 1_700_000_000, exp: 4_000_000_000, sub: 'x' });
  });

  it('makes expired and not-yet-valid tokens that jose refuses', async () => {
    const now = Math.floor(Date.now() / 1000);
    await assert.rejects(verify(await issuer.mint({ iat: now - 900, exp: now - 600 })), errors.JWTExpired);
    await assert.rejects(verify(await issuer.mint({ nbf: now + 600 })), errors.JWTClaimValidationFailed);
    await assert.rejects(verify(await issuer.githubToken({ aud: 'pypi' })), errors.JWTClaimValidationFailed);
  });

  const forgeries: [ForgedToken, new (...args: never[]) => Error][] = [
    ['unknown-key', errors.JWSSignatureVerificationFailed],
    // A JWKS of RSA keys has nothing to offer for "none" or "HS256": jose says so before any crypto.
    ['alg-none', errors.JOSENotSupported],
    ['hs256-public-key', errors.JOSENotSupported],
  ];
  for (const [forge, expected] of forgeries) {
    it(`forges a ${forge} token that jose rejects`, async () => {
      const token = await issuer.githubToken({}, { forge });
      await assert.rejects(verify(token), (err: unknown) => {
        assert.ok(err instanceof expected, `${forge}: got ${String(err)}`);
        return true;
      });
      // With the algorithm pinned, as a careful verifier does, the header's alg is refused outright.
      if (forge !== 'unknown-key') {
        await assert.rejects(jwtVerify(token, keys, { algorithms: ['RS256'] }), errors.JOSEAlgNotAllowed);
      }
    });
  }

  it('forges HS256 exactly as the key-confusion attack does (HMAC keyed with the public PEM)', async () => {
    const token = await issuer.githubToken({}, { forge: 'hs256-public-key' });
    assert.equal(decodeProtectedHeader(token).alg, 'HS256');
    assert.equal(decodeProtectedHeader(token).kid, issuer.kid);
    const pem = await exportSPKI(await importJWK({ ...issuer.jwks.keys[0]!, alg: 'RS256' }, 'RS256', { extractable: true }) as CryptoKey);
    // A verifier that trusts the header's alg and feeds it the PEM would accept it; jose above does not.
    const naive = await jwtVerify(token, new TextEncoder().encode(pem));
    assert.equal(naive.payload.repository, 'acme/widgets');
  });

  it('answers the GitHub Actions token request with a token for the asked audience', async () => {
    const { url, token } = issuer.actionsTokenRequest;
    const res = await fetch(`${url}&audience=provena.test`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const { value } = await res.json() as { value: string };
    assert.equal((await verify(value, 'provena.test')).payload.repository, 'acme/widgets');
    assert.equal((await fetch(`${url}&audience=x`)).status, 401);
  });

  it('signs ES256 when asked, and tokens do not verify against another issuer', async () => {
    const other = await startOidcIssuer({ algorithm: 'ES256' });
    try {
      const token = await other.githubToken();
      assert.equal(decodeProtectedHeader(token).alg, 'ES256');
      const otherKeys = createRemoteJWKSet(new URL(other.jwksUrl));
      assert.equal((await jwtVerify(token, otherKeys, { issuer: other.url })).payload.iss, other.url);
      await assert.rejects(jwtVerify(token, keys), errors.JOSEError);
      await assert.rejects(jwtVerify(await issuer.githubToken(), otherKeys), errors.JOSEError);
    } finally {
      await other.close();
    }
  });
});
