import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { githubClaims, gitlabClaims, startOidcIssuer, type OidcIssuer } from '../support/oidc-issuer.ts';
import { makePackage } from '../support/package-factory.ts';
import { api, startServer, type RunningServer } from '../support/server.ts';
import { uploadMultipart } from '../support/upload.ts';
import { addPublisher, AUDIENCE, mint, mintOk, refusedMint, startTrustedPublishingServer, type TrustedPublishingEnv } from '../support/trusted-publishing.ts';

const now = () => Math.floor(Date.now() / 1000);

/**
 * The negative matrix of the exchange: every check of the id token and of the CI claims refuses for
 * its own reason, asserted by status and code. Tokens are forged the ways an attacker would try.
 */
describe('Trusted Publishing refuses', () => {
  let env: TrustedPublishingEnv;
  let stranger: OidcIssuer;
  let gh: (overrides?: Record<string, unknown>) => Promise<string>;

  before(async () => {
    env = await startTrustedPublishingServer();
    stranger = await startOidcIssuer({ audience: AUDIENCE });
    const { server } = env;
    for (const name of ['w', 'env', 'owner', 'tofu', 'lab', 'labenv']) assert.equal((await api(server, 'POST', '/api/v1/channels', { name })).status, 201);
    await addPublisher(server, 'w', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
    await addPublisher(server, 'env', { kind: 'github', repository: 'acme/deploy', workflow: 'release.yml', environment: 'production' });
    await addPublisher(server, 'owner', { kind: 'github', repository: 'acme/owned', workflow: 'release.yml', repository_owner_id: '1342004' });
    await addPublisher(server, 'tofu', { kind: 'github', repository: 'acme/tofu', workflow: 'release.yml' });
    await addPublisher(server, 'lab', { kind: 'gitlab', project: 'acme/widgets', ci_config_path: '.gitlab-ci.yml' });
    await addPublisher(server, 'labenv', { kind: 'gitlab', project: 'acme/deploy', ci_config_path: 'ci/release.yml', environment: 'Production' });
    gh = (overrides = {}) => env.github.githubToken(overrides);
  });
  after(async () => {
    await env?.close();
    await stranger?.close();
  });

  describe('id tokens that are not genuine, or not for us, or not now', () => {
    it('a signature by a key the issuer does not publish (same kid) → 401 id_token_signature_invalid', async () => {
      await refusedMint(env, await env.github.githubToken({}, { forge: 'unknown-key' }), 401, 'id_token_signature_invalid');
    });

    it('a kid the issuer does not publish → 401 unknown_signing_key', async () => {
      await refusedMint(env, await env.github.githubToken({}, { kid: 'rotated-in-kid' }), 401, 'unknown_signing_key');
    });

    it('alg none → 401 algorithm_not_allowed', async () => {
      await refusedMint(env, await env.github.githubToken({}, { forge: 'alg-none' }), 401, 'algorithm_not_allowed');
    });

    it('HS256 keyed with the issuer\'s public key → 401 algorithm_not_allowed', async () => {
      await refusedMint(env, await env.github.githubToken({}, { forge: 'hs256-public-key' }), 401, 'algorithm_not_allowed');
    });

    it('an asymmetric algorithm the issuer does not declare → 401 algorithm_not_allowed', async () => {
      // ES256 under the issuer's kid: its discovery declares RS256 only, so no key lookup decides this
      const { privateKey } = await generateKeyPair('ES256');
      const token = await new SignJWT(githubClaims(env.github.url, { aud: AUDIENCE }))
        .setProtectedHeader({ alg: 'ES256', kid: env.github.kid, typ: 'JWT' })
        .sign(privateKey);
      await refusedMint(env, token, 401, 'algorithm_not_allowed');
    });

    it('an issuer the server is not configured to trust → 401 issuer_not_configured', async () => {
      await refusedMint(env, await stranger.githubToken(), 401, 'issuer_not_configured');
      // GitHub's real issuer URL on a token signed by the local key: not configured here, never fetched
      await refusedMint(env, await env.github.githubToken({ iss: 'https://token.actions.githubusercontent.com' }), 401, 'issuer_not_configured');
    });

    it('another audience, or several → 401 audience_mismatch / audience_not_single', async () => {
      await refusedMint(env, await gh({ aud: 'prefix.dev' }), 401, 'audience_mismatch');
      await refusedMint(env, await gh({ aud: 'sigstore' }), 401, 'audience_mismatch');
      await refusedMint(env, await gh({ aud: [AUDIENCE, 'pypi'] }), 401, 'audience_not_single');
      // one audience in a list is still one audience
      await mintOk(env, await gh({ aud: [AUDIENCE] }));
    });

    it('expired, not yet valid, issued in the future (beyond 30 s of leeway) → 401, each its code', async () => {
      const t = now();
      await refusedMint(env, await gh({ iat: t - 600, nbf: t - 600, exp: t - 60 }), 401, 'id_token_expired');
      await refusedMint(env, await gh({ iat: t, nbf: t + 300, exp: t + 600 }), 401, 'id_token_not_yet_valid');
      await refusedMint(env, await gh({ iat: t + 300, nbf: t - 5, exp: t + 600 }), 401, 'id_token_issued_in_future');
      // within the leeway: accepted (clocks of CI runners drift)
      await mintOk(env, await gh({ iat: t + 10, nbf: t + 10, exp: t + 300 }));
      await mintOk(env, await gh({ iat: t - 300, nbf: t - 300, exp: t - 10 }));
    });

    it('a token without jti, exp or iat → 401 jti_missing / id_token_claim_missing', async () => {
      const claims = githubClaims(env.github.url, { aud: AUDIENCE });
      await refusedMint(env, await env.github.mint({ ...claims, jti: undefined }), 401, 'jti_missing');
      await refusedMint(env, await env.github.mint({ ...claims, jti: '' }), 401, 'jti_missing');
      const noExp = await refusedMint(env, await env.github.mint({ ...claims, jti: 'x-noexp', exp: undefined }), 401, 'id_token_claim_missing');
      assert.equal(noExp.claim, 'exp');
      const noIat = await refusedMint(env, await env.github.mint({ ...claims, jti: 'x-noiat', iat: undefined }), 401, 'id_token_claim_missing');
      assert.equal(noIat.claim, 'iat');
    });

    it('a replayed jti → 401 jti_replayed, also as a different token carrying the same jti', async () => {
      await mintOk(env, await gh({ jti: 'once-only' }));
      await refusedMint(env, await gh({ jti: 'once-only' }), 401, 'jti_replayed');
    });

    it('garbage → 401 id_token_malformed; no token at all → 400 id_token_missing', async () => {
      await refusedMint(env, 'not-a-jwt', 401, 'id_token_malformed');
      await refusedMint(env, 'a.b.c', 401, 'id_token_malformed');
      await refusedMint(env, `${'x'.repeat(20_000)}.y.z`, 401, 'id_token_malformed');
      for (const body of ['', '{}', '{"token": 42}', 'token=abc', '[1]']) {
        const res = await fetch(`${env.server.url}/api/oidc/mint_token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(res.status, 400, body);
        assert.equal(((await res.json()) as { error: string }).error, 'id_token_missing', body);
      }
    });
  });

  describe('genuine GitHub tokens from jobs that are not the publisher', () => {
    it('another repository → 403 publisher_not_found', async () => {
      await refusedMint(env, await gh({ repository: 'evil/widgets' }), 403, 'publisher_not_found');
      await refusedMint(env, await gh({ repository: 'acme/widgets-fork' }), 403, 'publisher_not_found');
    });

    it('the workflow only as a substring, prefix, other directory or another repository\'s reusable workflow → 403 workflow_mismatch', async () => {
      const refs = [
        'acme/widgets/.github/workflows/prerelease.yml@refs/heads/main',
        'acme/widgets/.github/workflows/release.yml.evil.yml@refs/heads/main',
        'acme/widgets/.github/workflows/release.yaml@refs/heads/main',
        'acme/widgets/.github/workflows/sub/release.yml@refs/heads/main',
        'acme/widgets/.github/workflows/release.yml@refs/heads/other', // not this run's ref or sha
        'acme/widgets/.github/workflows/release.yml',
        'evil/tools/.github/workflows/release.yml@refs/heads/main',
        'xacme/widgets/.github/workflows/release.yml@refs/heads/main',
      ];
      for (const ref of refs) {
        const body = await refusedMint(env, await gh({ job_workflow_ref: ref }), 403, 'workflow_mismatch');
        assert.equal(body.claim, 'job_workflow_ref', ref);
      }
      // pinned to the commit instead of the ref: GitHub does that for some events, and it is accepted
      await mintOk(env, await gh({ job_workflow_ref: 'acme/widgets/.github/workflows/release.yml@3f786850e387550fdab836ed7e6dc881de23001b' }));
      // GitHub ignores the case of OWNER/NAME
      await mintOk(env, await gh({ repository: 'Acme/Widgets', repository_owner: 'Acme' }));
    });

    it('repository_owner_id other than the one registered → 403 repository_owner_id_mismatch', async () => {
      await mintOk(env, await gh({ repository: 'acme/owned', repository_owner_id: '1342004' }));
      const body = await refusedMint(env, await gh({ repository: 'acme/owned', repository_owner_id: '666' }), 403, 'repository_owner_id_mismatch');
      assert.equal(body.claim, 'repository_owner_id');
    });

    it('takes an owner id at publisher creation only as GitHub\'s numeric id (422 invalid_publisher)', async () => {
      for (const id of ['acme', '-1', '1.5', '0x10', '']) {
        const res = await api(env.server, 'POST', '/api/v1/channels/owner/publishers', { kind: 'github', repository: 'acme/x', workflow: 'r.yml', repository_owner_id: id });
        assert.equal(res.status, 422, id);
        assert.equal(res.json.error, 'invalid_publisher', id);
      }
      const ok = await api(env.server, 'POST', '/api/v1/channels/owner/publishers', { kind: 'github', repository: 'acme/x', workflow: 'r.yml', repository_owner_id: 583231 });
      assert.equal(ok.json.repository_owner_id, '583231');
      assert.equal((await api(env.server, 'DELETE', `/api/v1/channels/owner/publishers/${ok.json.id}`)).status, 200);
    });

    it('pins the owner id of the first accepted token (trust on first use), then refuses a recreated namesake', async () => {
      const before = (await api(env.server, 'GET', '/api/v1/channels/tofu/publishers')).json.publishers[0];
      assert.equal(before.repository_owner_id, null);
      await mintOk(env, await gh({ repository: 'acme/tofu', repository_owner_id: '4242' }));
      const after = (await api(env.server, 'GET', '/api/v1/channels/tofu/publishers')).json.publishers[0];
      assert.equal(after.repository_owner_id, '4242');
      await refusedMint(env, await gh({ repository: 'acme/tofu', repository_owner_id: '9999' }), 403, 'repository_owner_id_mismatch');
      await mintOk(env, await gh({ repository: 'acme/tofu', repository_owner_id: '4242' }));
    });

    it('event_name pull_request_target → 403 event_not_allowed', async () => {
      const body = await refusedMint(env, await gh({ event_name: 'pull_request_target' }), 403, 'event_not_allowed');
      assert.equal(body.claim, 'event_name');
    });

    it('an environment-pinned publisher and a token without, or with another, environment → 403 environment_mismatch', async () => {
      await refusedMint(env, await gh({ repository: 'acme/deploy' }), 403, 'environment_mismatch');
      await refusedMint(env, await gh({ repository: 'acme/deploy', environment: 'staging' }), 403, 'environment_mismatch');
      await refusedMint(env, await gh({ repository: 'acme/deploy', environment: 'production-eu' }), 403, 'environment_mismatch');
      // GitHub environment names ignore case
      await mintOk(env, await gh({ repository: 'acme/deploy', environment: 'Production' }));
    });

    it('claims that contradict each other, or are missing → 401 id_token_claim_invalid / id_token_claim_missing', async () => {
      const sub = await refusedMint(env, await gh({ sub: 'repo:evil/widgets:ref:refs/heads/main' }), 401, 'id_token_claim_invalid');
      assert.equal(sub.claim, 'sub');
      const owner = await refusedMint(env, await gh({ repository_owner: 'evil' }), 401, 'id_token_claim_invalid');
      assert.equal(owner.claim, 'repository_owner');
      const claims = githubClaims(env.github.url, { aud: AUDIENCE });
      for (const name of ['repository', 'repository_owner_id', 'job_workflow_ref', 'event_name']) {
        const body = await refusedMint(env, await env.github.mint({ ...claims, jti: `missing-${name}`, [name]: undefined }), 401, 'id_token_claim_missing');
        assert.equal(body.claim, name);
      }
    });
  });

  describe('genuine GitLab tokens from pipelines that are not the publisher', () => {
    const gl = (overrides: Record<string, unknown> = {}) => env.gitlab.gitlabToken(overrides);

    it('accepts the publisher\'s own pipeline (ref path or sha), case-insensitive project path', async () => {
      await mintOk(env, await gl());
      await mintOk(env, await gl({ ci_config_ref_uri: 'gitlab.com/acme/widgets//.gitlab-ci.yml@3f786850e387550fdab836ed7e6dc881de23001b' }));
      await mintOk(env, await gl({ project_path: 'ACME/widgets' }));
    });

    it('another project_path → 403 publisher_not_found', async () => {
      await refusedMint(env, await gl({ project_path: 'evil/widgets' }), 403, 'publisher_not_found');
      await refusedMint(env, await gl({ project_path: 'acme/widgets/sub' }), 403, 'publisher_not_found');
    });

    it('another CI config, or the config only as a substring, or another instance → 403 ci_config_mismatch', async () => {
      const uris = [
        'gitlab.com/acme/widgets//other-ci.yml@refs/heads/main',
        'gitlab.com/acme/widgets//.gitlab-ci.yml.evil.yml@refs/heads/main',
        'gitlab.com/acme/widgets//sub/.gitlab-ci.yml@refs/heads/main',
        'gitlab.com/acme/widgets//.gitlab-ci.yml@refs/heads/other',
        'gitlab.example.com/acme/widgets//.gitlab-ci.yml@refs/heads/main',
        'gitlab.com/evil/widgets//.gitlab-ci.yml@refs/heads/main',
      ];
      for (const uri of uris) {
        const body = await refusedMint(env, await gl({ ci_config_ref_uri: uri }), 403, 'ci_config_mismatch');
        assert.equal(body.claim, 'ci_config_ref_uri', uri);
      }
    });

    it('an environment-pinned GitLab publisher and another environment (GitLab compares case) → 403 environment_mismatch', async () => {
      const base = { project_path: 'acme/deploy', ci_config_ref_uri: 'gitlab.com/acme/deploy//ci/release.yml@refs/heads/main' };
      await refusedMint(env, await gl(base), 403, 'environment_mismatch');
      await refusedMint(env, await gl({ ...base, environment: 'production' }), 403, 'environment_mismatch');
      await mintOk(env, await gl({ ...base, environment: 'Production' }));
    });

    it('a sub that names another project → 401 id_token_claim_invalid', async () => {
      const body = await refusedMint(env, await gl({ sub: 'project_path:evil/widgets:ref_type:branch:ref:main' }), 401, 'id_token_claim_invalid');
      assert.equal(body.claim, 'sub');
      const claims = gitlabClaims(env.gitlab.url, { aud: AUDIENCE });
      const missing = await refusedMint(env, await env.gitlab.mint({ ...claims, ci_config_ref_uri: undefined }), 401, 'id_token_claim_missing');
      assert.equal(missing.claim, 'ci_config_ref_uri');
    });

    it('a GitLab-kind token never matches a GitHub publisher', async () => {
      // GitHub-shaped claims from the gitlab-kind issuer: it is not GitHub's, so it must be a GitLab job
      const claims = githubClaims(env.gitlab.url, { aud: AUDIENCE });
      await refusedMint(env, await env.gitlab.mint(claims), 401, 'id_token_claim_missing');
    });
  });
});

describe('Trusted Publishing settings from the environment: audience and token lifetime', () => {
  let server: RunningServer;
  let issuer: OidcIssuer;
  const sent: string[] = [];

  before(async () => {
    issuer = await startOidcIssuer({ audience: 'conda.example.org' });
    server = await startServer({
      env: {
        PROVENA_ISSUERS: JSON.stringify([{ url: issuer.url, kind: 'github' }]),
        PROVENA_OIDC_DEFAULT_ISSUERS: 'false',
        PROVENA_OIDC_AUDIENCE: 'conda.example.org',
        PROVENA_UPLOAD_TOKEN_TTL_SECONDS: '1',
      },
    });
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'short' })).status, 201);
    await addPublisher(server, 'short', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
  });
  after(async () => {
    await server?.stop();
    await issuer?.close();
  });

  it('expects the configured audience', async () => {
    assert.deepEqual((await api(server, 'GET', '/api/oidc/audience', undefined, null)).json, { audience: 'conda.example.org' });
    await refusedMint({ server, sent }, await issuer.githubToken({ aud: '127.0.0.1' }), 401, 'audience_mismatch');
  });

  it('refuses a minted token after its lifetime → 401 token_expired', async () => {
    const token = await mintOk({ server, sent }, await issuer.githubToken());
    const pkg = await makePackage({ name: 'shortlived', version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' });
    await new Promise((r) => setTimeout(r, 1100));
    const res = await uploadMultipart(server, 'short', 'shortlived-1.0-h0_0.conda', pkg, { token });
    assert.equal(res.status, 401);
    assert.equal(res.json.error, 'token_expired');
    assert.equal((await mint({ server, sent }, 'x.y.z')).status, 401);
  });

  it('refuses a server start with an issuer it could not safely fetch keys from', async () => {
    await assert.rejects(
      startServer({ env: { PROVENA_ISSUERS: JSON.stringify([{ url: 'http://issuer.example.com', kind: 'github' }]) } }),
      /issuer url "http:\/\/issuer.example.com": must be https/,
    );
  });
});
