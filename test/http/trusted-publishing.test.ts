import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makePackage } from '../support/package-factory.ts';
import { api } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { multipartBody, uploadMultipart } from '../support/upload.ts';
import { addPublisher, AUDIENCE, mint, mintOk, startTrustedPublishingServer, type TrustedPublishingEnv } from '../support/trusted-publishing.ts';

const GITHUB = 'https://token.actions.githubusercontent.com';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Trusted Publishing end to end on a real server: a local OIDC issuer configured as a GitHub-kind (and
 * one as a GitLab-kind) issuer mints CI-shaped id tokens; the server exchanges them for upload tokens,
 * which then upload — with an attestation from a local Sigstore — exactly where their publisher may.
 */
describe('Trusted Publishing: mint, then upload with the minted token', () => {
  let env: TrustedPublishingEnv;
  let stack: SigstoreStack;
  let n = 0;
  const fresh = async () => {
    const name = `tppkg${++n}`;
    const bytes = await makePackage({ name, version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' });
    return { filename: `${name}-1.0-h0_0.conda`, bytes, sha256: sha256(bytes) };
  };
  const channelUrl = (c: string) => `${env.server.url}/${c}`;
  const certFor = (overrides: Record<string, unknown> = {}) => ({ identity: 'github' as const, tokenOverrides: { iss: GITHUB, ...overrides } });
  const decodeEntry = (receipt: { entry: string }) => JSON.parse(Buffer.from(receipt.entry, 'base64').toString('utf8'));
  let publishers: Record<string, any> = {};

  before(async () => {
    stack = await startSigstoreStack();
    const rootFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'provena-root-')), 'trusted_root.json');
    fs.writeFileSync(rootFile, stack.trustedRootJson);
    env = await startTrustedPublishingServer({ args: ['--trusted-root', rootFile] });
    const { server } = env;
    for (const name of ['tp', 'tpenv', 'tpriv', 'plain', 'lab', 'tprm', 'multi1', 'multi2', 'strict']) {
      const res = await api(server, 'POST', '/api/v1/channels', { name, private: name === 'tpriv' });
      assert.equal(res.status, 201, JSON.stringify(res.json));
    }
    publishers = {
      tp: await addPublisher(server, 'tp', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' }),
      tpenv: await addPublisher(server, 'tpenv', { kind: 'github', repository: 'acme/deploy', workflow: 'release.yml', environment: 'production' }),
      tpriv: await addPublisher(server, 'tpriv', { kind: 'github', repository: 'acme/secret', workflow: 'release.yml' }),
      lab: await addPublisher(server, 'lab', { kind: 'gitlab', project: 'acme/widgets', ci_config_path: '.gitlab-ci.yml' }),
      tprm: await addPublisher(server, 'tprm', { kind: 'github', repository: 'acme/removed', workflow: 'release.yml' }),
      multi1: await addPublisher(server, 'multi1', { kind: 'github', repository: 'acme/multi', workflow: 'release.yml' }),
      multi2: await addPublisher(server, 'multi2', { kind: 'github', repository: 'acme/multi', workflow: 'release.yml' }),
      strict: await addPublisher(server, 'strict', { kind: 'github', repository: 'acme/strict', workflow: 'release.yml' }),
    };
    await api(server, 'PATCH', '/api/v1/channels/strict', { require_attestations: true });
  });
  after(async () => {
    await env?.close();
    await stack?.close();
  });

  it('tells CI jobs the audience to request: the server\'s host name', async () => {
    const res = await api(env.server, 'GET', '/api/oidc/audience', undefined, null);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { audience: AUDIENCE });
  });

  it('full flow: mint, then upload with an attestation signed by the same workflow → 201, logged as that publisher', async () => {
    const token = await mintOk(env, await env.github.githubToken());
    assert.match(token, /^pvnp_[A-Za-z0-9_-]{43}$/);
    const pkg = await fresh();
    const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl('tp'), ...certFor() });
    const res = await uploadMultipart(env.server, 'tp', pkg.filename, pkg.bytes, { token, attestation: bundle });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(res.json.uploaded_by, `publisher:${publishers.tp.id}`);
    const entry = decodeEntry(res.json.receipt);
    assert.equal(entry.action, 'publish');
    assert.equal(entry.filename, pkg.filename);
    assert.deepEqual(
      { kind: entry.publisher.kind, issuer: entry.publisher.issuer, repository: entry.publisher.repository, workflow: entry.publisher.workflow, publisher_id: entry.publisher.publisher_id },
      { kind: 'github', issuer: env.github.url, repository: 'acme/widgets', workflow: 'release.yml', publisher_id: publishers.tp.id },
    );
    assert.equal(entry.publisher.job_workflow_ref, 'acme/widgets/.github/workflows/release.yml@refs/heads/main');
    assert.equal(entry.publisher.ref, 'refs/heads/main');
    assert.match(entry.publisher.token_id, /^upt_[0-9a-f]{16}$/);
    const facts = await api(env.server, 'GET', `/api/v1/channels/tp/packages/linux-64/${pkg.filename}/attestations`);
    assert.equal(facts.json.verified.publisher_id, publishers.tp.id);
  });

  it('uploads without an attestation where the channel does not require one, and refuses where it does', async () => {
    const token = await mintOk(env, await env.github.githubToken());
    const pkg = await fresh();
    assert.equal((await uploadMultipart(env.server, 'tp', pkg.filename, pkg.bytes, { token })).status, 201);
    const strictToken = await mintOk(env, await env.github.githubToken({ repository: 'acme/strict' }));
    const other = await fresh();
    const res = await uploadMultipart(env.server, 'strict', other.filename, other.bytes, { token: strictToken });
    assert.equal(res.status, 422);
    assert.equal(res.json.error, 'attestation_required');
  });

  it('refuses an attestation from another workflow than the one whose token authorised the upload (422 signer_not_trusted)', async () => {
    const token = await mintOk(env, await env.github.githubToken());
    const pkg = await fresh();
    const otherWorkflow = 'acme/widgets/.github/workflows/nightly.yml@refs/heads/main';
    const bundle = await stack.signAttestation({
      filename: pkg.filename,
      sha256: pkg.sha256,
      targetChannel: channelUrl('tp'),
      ...certFor({ job_workflow_ref: otherWorkflow, workflow_ref: otherWorkflow }),
    });
    const res = await uploadMultipart(env.server, 'tp', pkg.filename, pkg.bytes, { token, attestation: bundle });
    assert.equal(res.status, 422, JSON.stringify(res.json));
    assert.equal(res.json.error, 'signer_not_trusted');
    assert.match(res.json.detail, /workflow/);
    assert.equal(res.json.publisher, publishers.tp.id);
    const listed = await api(env.server, 'GET', `/api/v1/channels/tp/packages?filename=${pkg.filename}`);
    assert.deepEqual(listed.json.packages, [], 'nothing stored');
  });

  it('environment-pinned publisher: the token proves the environment, so its attestation is accepted (and refused without the token)', async () => {
    const token = await mintOk(env, await env.github.githubToken({ repository: 'acme/deploy', environment: 'production' }));
    const pkg = await fresh();
    const bundle = await stack.signAttestation({
      filename: pkg.filename,
      sha256: pkg.sha256,
      targetChannel: channelUrl('tpenv'),
      ...certFor({ repository: 'acme/deploy', environment: 'production' }),
    });
    const withAdmin = await uploadMultipart(env.server, 'tpenv', pkg.filename, pkg.bytes, { token: 'test-admin-token-0123456789abcdef', attestation: bundle });
    assert.equal(withAdmin.status, 422, 'a certificate alone does not prove the environment');
    assert.equal(withAdmin.json.error, 'signer_not_trusted');
    assert.match(withAdmin.json.detail, /environment/);
    const res = await uploadMultipart(env.server, 'tpenv', pkg.filename, pkg.bytes, { token, attestation: bundle });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    assert.equal(decodeEntry(res.json.receipt).publisher.environment, 'production');
  });

  it('answers JSON when asked: token, expiry 15 minutes out, channels, publisher identity', async () => {
    const before = Date.now();
    const res = await mint(env, await env.github.githubToken({ repository: 'acme/multi' }), 'application/json');
    assert.equal(res.status, 200, res.text);
    assert.match(res.contentType, /^application\/json/);
    assert.match(res.json.token, /^pvnp_/);
    const ttl = Date.parse(res.json.expires_at) - before;
    assert.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000 + 5_000, `expires in ${ttl} ms`);
    assert.deepEqual(res.json.channels, ['multi1', 'multi2'], 'every channel whose publisher matches');
    assert.equal(res.json.publisher.kind, 'github');
    assert.equal(res.json.publisher.repository, 'acme/multi');
    assert.deepEqual(res.json.publishers.map((p: any) => p.id), [publishers.multi1.id, publishers.multi2.id]);
    for (const c of ['multi1', 'multi2']) {
      const pkg = await fresh();
      const up = await uploadMultipart(env.server, c, pkg.filename, pkg.bytes, { token: res.json.token });
      assert.equal(up.status, 201, JSON.stringify(up.json));
      assert.equal(up.json.uploaded_by, `publisher:${publishers[c].id}`, 'each channel records its own publisher');
    }
  });

  it('a GitLab-kind issuer\'s token uploads to the GitLab publisher\'s channel', async () => {
    const token = await mintOk(env, await env.gitlab.gitlabToken());
    const pkg = await fresh();
    const res = await uploadMultipart(env.server, 'lab', pkg.filename, pkg.bytes, { token });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const who = decodeEntry(res.json.receipt).publisher;
    assert.equal(who.kind, 'gitlab');
    assert.equal(who.project, 'acme/widgets');
    assert.equal(who.instance, 'https://gitlab.com');
    assert.equal(who.ci_config_path, '.gitlab-ci.yml');
    assert.equal(who.publisher_id, publishers.lab.id);
  });

  it('confines the minted token to its channels: another private channel 404, another public one 403', async () => {
    const token = await mintOk(env, await env.github.githubToken());
    const pkg = await fresh();
    const priv = await uploadMultipart(env.server, 'tpriv', pkg.filename, pkg.bytes, { token });
    assert.equal(priv.status, 404);
    assert.equal(priv.json.error, 'channel_not_found');
    const pub = await uploadMultipart(env.server, 'plain', pkg.filename, pkg.bytes, { token });
    assert.equal(pub.status, 403);
    assert.equal(pub.json.error, 'scope_insufficient');
    const lab = await uploadMultipart(env.server, 'lab', pkg.filename, pkg.bytes, { token });
    assert.equal(lab.status, 403, 'a GitHub publisher\'s token is not a GitLab publisher\'s');
  });

  it('never lets the minted token administer anything (403)', async () => {
    const token = await mintOk(env, await env.github.githubToken());
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/v1/channels', { name: 'byci' }, 'admin_required'],
      ['PATCH', '/api/v1/channels/tp', { private: true }, 'scope_insufficient'],
      ['DELETE', '/api/v1/channels/tp', undefined, 'admin_required'],
      ['POST', '/api/v1/keys', { channel: 'tp', scope: 'upload' }, 'scope_insufficient'],
      ['POST', '/api/v1/keys', { channel: 'tp', scope: 'read' }, 'scope_insufficient'],
      ['GET', '/api/v1/keys', undefined, 'admin_required'],
      ['POST', '/api/v1/channels/tp/publishers', { kind: 'github', repository: 'evil/x', workflow: 'a.yml' }, 'scope_insufficient'],
      ['DELETE', `/api/v1/channels/tp/publishers/${publishers.tp.id}`, undefined, 'scope_insufficient'],
    ];
    for (const [method, url, body, code] of cases) {
      const res = await api(env.server, method, url, body, token);
      assert.equal(res.status, 403, `${method} ${url}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error, code, `${method} ${url}`);
    }
    const pkg = await fresh();
    assert.equal((await uploadMultipart(env.server, 'tp', pkg.filename, pkg.bytes, { token })).status, 201);
    const del = await api(env.server, 'DELETE', `/api/v1/channels/tp/packages/linux-64/${pkg.filename}`, undefined, token);
    assert.equal(del.status, 403);
    assert.equal((await api(env.server, 'GET', '/api/v1/channels/tp/publishers')).json.publishers.length, 1, 'nothing was added');
  });

  it('stops a minted token at once when its publisher is removed', async () => {
    const token = await mintOk(env, await env.github.githubToken({ repository: 'acme/removed' }));
    const first = await fresh();
    assert.equal((await uploadMultipart(env.server, 'tprm', first.filename, first.bytes, { token })).status, 201);
    assert.equal((await api(env.server, 'DELETE', `/api/v1/channels/tprm/publishers/${publishers.tprm.id}`)).status, 200);
    const second = await fresh();
    const res = await uploadMultipart(env.server, 'tprm', second.filename, second.bytes, { token });
    assert.equal(res.status, 401);
    assert.equal(res.json.error, 'publisher_removed');
    const again = await mint(env, await env.github.githubToken({ repository: 'acme/removed' }));
    assert.equal(again.status, 403, 'and no new token is minted for it');
    assert.equal(again.json.error, 'publisher_not_found');
  });

  it('exchanges each id token once, even when the same token races itself', async () => {
    const idToken = await env.github.githubToken();
    assert.equal((await mint(env, idToken)).status, 200);
    const replay = await mint(env, idToken);
    assert.equal(replay.status, 401);
    assert.equal(replay.json.error, 'jti_replayed');
    const racing = await env.github.githubToken();
    const results = await Promise.all(Array.from({ length: 8 }, () => mint(env, racing)));
    assert.equal(results.filter((r) => r.status === 200).length, 1, results.map((r) => r.status).join());
    for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.json.error, 'jti_replayed');
  });

  it('speaks rattler-build\'s protocol: JSON request, plain-text token, then Bearer on the multipart upload', async () => {
    // rattler_upload's trusted_publishing.rs: POST <server>/api/oidc/mint_token with {"token": ...} as JSON,
    // the 2xx body is the token itself; then `upload prefix` POSTs multipart to /api/v1/upload/<channel>
    const idToken = await env.github.githubToken({ aud: AUDIENCE });
    env.sent.push(idToken);
    const res = await fetch(`${env.server.url}/api/oidc/mint_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: '*/*' },
      body: JSON.stringify({ token: idToken }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const bearer = await res.text();
    assert.match(bearer, /^pvnp_[A-Za-z0-9_-]+$/, 'the raw token: no JSON, no quotes, no newline');

    const pkg = await fresh();
    const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl('tp'), ...certFor() });
    const { body, contentType } = multipartBody(pkg.filename, pkg.bytes, { attestation: bundle });
    const up = await fetch(`${env.server.url}/api/v1/upload/tp`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${bearer}` },
      body,
    });
    assert.equal(up.status, 201, await up.clone().text());
    const again = await fetch(`${env.server.url}/api/v1/upload/tp`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${bearer}` },
      body,
    });
    assert.equal(again.status, 409, 'what --skip-existing reads');
  });

  it('logs every exchange, minted or refused, as structured lines without any id token or upload token', async () => {
    const ok = await mint(env, await env.github.githubToken({ repository: 'acme/multi' }), 'application/json');
    assert.equal(ok.status, 200);
    const bad = await mint(env, await env.github.githubToken({ repository: 'evil/widgets' }));
    assert.equal(bad.status, 403);
    await new Promise((r) => setTimeout(r, 200)); // the child's stdout arrives asynchronously
    const lines = env.server
      .output()
      .split('\n')
      .filter((l) => l.includes('"event":"trusted_publishing_mint"'))
      .map((l) => JSON.parse(l));
    const minted = lines.find((l) => l.outcome === 'minted' && l.token_id && l.claims.repository === 'acme/multi');
    assert.ok(minted, 'the successful exchange is logged');
    assert.deepEqual(minted.channels, ['multi1', 'multi2']);
    assert.equal(minted.verified, true);
    assert.equal(minted.issuer, env.github.url);
    assert.match(minted.claims.jti, /^[0-9a-f-]{36}$/);
    const refused = lines.find((l) => l.outcome === 'refused' && l.claims.repository === 'evil/widgets');
    assert.ok(refused, 'the refusal is logged');
    assert.equal(refused.code, 'publisher_not_found');
    assert.equal(refused.level, 40, 'refusals at warn');
    const all = env.server.output();
    for (const jwt of env.sent) assert.ok(!all.includes(jwt.split('.')[2]!), 'no id token (not even its signature) in the log');
    assert.ok(!all.includes(ok.json.token), 'no minted token in the log');
  });
});
