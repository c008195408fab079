import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makePackage } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { uploadMultipart } from '../support/upload.ts';

const GITHUB = 'https://token.actions.githubusercontent.com';
const PREDICATE = 'https://schemas.conda.org/attestations-publish-1.schema.json';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * CEP-27 on a real server: bundles signed by a local Fulcio/Rekor/TSA (real certificates, log entries
 * and timestamps) are verified at upload against the server's trusted root, the statement and the
 * channel's Trusted Publishers; each wrong field is refused with its own code and leaves nothing behind.
 */
describe('attestations verified at upload and served next to the package', () => {
  let server: RunningServer;
  let stack: SigstoreStack;
  let otherStack: SigstoreStack;
  let n = 0;
  /** a fresh package (name unique per test) with its filename and digest */
  const fresh = async (format: '.conda' | '.tar.bz2' = '.conda') => {
    const name = `attpkg${++n}`;
    const bytes = await makePackage({ name, version: '1.0', build: 'h0_0', subdir: 'linux-64', format });
    return { filename: `${name}-1.0-h0_0${format}`, bytes, sha256: sha256(bytes) };
  };
  const channelUrl = (c = 'att') => `${server.url}/${c}`;
  const github = (overrides: Record<string, unknown> = {}) => ({ identity: 'github' as const, tokenOverrides: { iss: GITHUB, ...overrides } });

  before(async () => {
    stack = await startSigstoreStack();
    otherStack = await startSigstoreStack();
    const rootFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'provena-root-')), 'trusted_root.json');
    fs.writeFileSync(rootFile, stack.trustedRootJson);
    server = await startServer({ args: ['--trusted-root', rootFile] });
    for (const name of ['att', 'other', 'strict', 'envpinned', 'lab']) await api(server, 'POST', '/api/v1/channels', { name });
    for (const c of ['att', 'other', 'strict']) {
      const res = await api(server, 'POST', `/api/v1/channels/${c}/publishers`, { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
      assert.equal(res.status, 201, JSON.stringify(res.json));
    }
    await api(server, 'POST', '/api/v1/channels/envpinned/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml', environment: 'pypi' });
    await api(server, 'POST', '/api/v1/channels/lab/publishers', { kind: 'gitlab', project: 'acme/widgets', ci_config_path: '.gitlab-ci.yml' });
    await api(server, 'PATCH', '/api/v1/channels/strict', { require_attestations: true });
  });
  after(async () => {
    await server?.stop();
    await stack?.close();
    await otherStack?.close();
  });

  async function assertNothingStored(channel: string, filename: string) {
    const listed = (await api(server, 'GET', `/api/v1/channels/${channel}/packages?filename=${filename}`)).json.packages;
    assert.deepEqual(listed, [], 'no record');
    const entries = (await api(server, 'GET', '/api/v1/log/entries/0')).status; // the log exists
    assert.ok(entries === 200 || entries === 404);
  }

  async function refused(channel: string, pkg: { filename: string; bytes: Buffer }, bundle: string | undefined, code: string) {
    const res = await uploadMultipart(server, channel, pkg.filename, pkg.bytes, { token: ADMIN_TOKEN, attestation: bundle });
    assert.equal(res.status, 422, JSON.stringify(res.json));
    assert.equal(res.json.error, code, JSON.stringify(res.json));
    assert.equal(typeof res.json.detail, 'string');
    await assertNothingStored(channel, pkg.filename);
    return res.json;
  }

  it('accepts a package with a valid attestation and serves the bundle byte for byte', async () => {
    const pkg = await fresh();
    const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl(), ...github() });
    const res = await uploadMultipart(server, 'att', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN, attestation: bundle });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    const sigs = Buffer.concat([Buffer.from('['), Buffer.from(bundle), Buffer.from(']')]);
    assert.equal(res.json.attestations_sha256, sha256(sigs));

    const base = `${server.url}/att/linux-64/${pkg.filename}`;
    const v0 = await fetch(`${base}.v0.sigs`);
    assert.equal(v0.status, 200);
    assert.ok(Buffer.from(await v0.arrayBuffer()).equals(sigs), '.v0.sigs is the array around the uploaded bytes');
    const mutable = await fetch(`${base}.sigs`);
    assert.equal(mutable.headers.get('cache-control'), 'no-cache');
    assert.ok(Buffer.from(await mutable.arrayBuffer()).equals(sigs));
    const pinned = await fetch(`${base}.sigs.${sha256(sigs)}`);
    assert.match(pinned.headers.get('cache-control')!, /immutable/);
    assert.ok(Buffer.from(await pinned.arrayBuffer()).equals(sigs));
    assert.equal((await fetch(`${base}.sigs.${'0'.repeat(64)}`)).status, 404);
    const single = Buffer.from(await (await fetch(`${base}.sigstore`)).arrayBuffer());
    assert.equal(single.toString('utf8'), bundle, '.sigstore is the bundle exactly as uploaded');

    const rd = (await (await fetch(`${server.url}/att/linux-64/repodata.json`)).json()) as any;
    assert.equal(rd['packages.conda'][pkg.filename].attestations_sha256, sha256(sigs));

    const facts = await api(server, 'GET', `/api/v1/channels/att/packages/linux-64/${pkg.filename}/attestations`);
    assert.equal(facts.status, 200);
    assert.deepEqual(facts.json.bundles, [JSON.parse(bundle)]);
    const v = facts.json.verified;
    assert.equal(v.issuer, GITHUB);
    assert.equal(v.repository, 'https://github.com/acme/widgets');
    assert.match(v.workflow, /^https:\/\/github.com\/acme\/widgets\/.github\/workflows\/release.yml@refs\/heads\/main$/);
    assert.equal(v.ref, 'refs/heads/main');
    assert.match(v.commit, /^[0-9a-f]{40}$/);
    assert.match(String(v.rekor_log_index), /^\d+$/);
    assert.equal(v.target_channel, channelUrl());
    assert.ok(Date.parse(v.verified_at) > 0);
  });

  it('serves no sidecars and no attestations_sha256 for a package without attestation', async () => {
    const pkg = await fresh();
    assert.equal((await uploadMultipart(server, 'att', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN })).status, 201);
    for (const ext of ['.v0.sigs', '.sigs', '.sigstore']) {
      assert.equal((await fetch(`${server.url}/att/linux-64/${pkg.filename}${ext}`)).status, 404, ext);
    }
    const rd = (await (await fetch(`${server.url}/att/linux-64/repodata.json`)).json()) as any;
    assert.equal('attestations_sha256' in rd['packages.conda'][pkg.filename], false);
    assert.equal((await api(server, 'GET', `/api/v1/channels/att/packages/linux-64/${pkg.filename}/attestations`)).status, 404);
  });

  it('accepts targetChannel spellings equal after normalisation', async () => {
    const upper = channelUrl().replace('http://127.0.0.1', 'HTTP://127.0.0.1') + '/';
    for (const target of [`${channelUrl()}/`, upper]) {
      const pkg = await fresh();
      const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: target, ...github() });
      const res = await uploadMultipart(server, 'att', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN, attestation: bundle });
      assert.equal(res.status, 201, `${target}: ${JSON.stringify(res.json)}`);
    }
  });

  it('refuses a statement that does not name this file, these bytes, this channel', async () => {
    const statement = (pkg: { filename: string; sha256: string }, patch: Record<string, unknown>) => ({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: pkg.filename, digest: { sha256: pkg.sha256 } }],
      predicateType: PREDICATE,
      predicate: { targetChannel: channelUrl() },
      ...patch,
    });
    const cases: [string, (p: { filename: string; sha256: string }) => object | { target: string }][] = [
      ['predicate_type', (p) => statement(p, { predicateType: 'https://slsa.dev/provenance/v1' })],
      ['subject_count', (p) => statement(p, { subject: [{ name: p.filename, digest: { sha256: p.sha256 } }, { name: 'x.conda', digest: { sha256: p.sha256 } }] })],
      ['subject_name', (p) => statement(p, { subject: [{ name: 'other-1.0-h0_0.conda', digest: { sha256: p.sha256 } }] })],
      ['subject_digest', (p) => statement(p, { subject: [{ name: p.filename, digest: { sha256: '0'.repeat(64) } }] })],
      ['subject_digest_algorithm', (p) => statement(p, { subject: [{ name: p.filename, digest: { sha512: 'ab'.repeat(64) } }] })],
      ['target_channel', () => ({ target: channelUrl('other') })],
      ['target_channel', () => ({ target: channelUrl().replace('127.0.0.1', 'localhost') })],
      ['target_channel', () => ({ target: channelUrl().replace('http:', 'https:') })],
    ];
    for (const [code, make] of cases) {
      const pkg = await fresh();
      const made = make(pkg);
      const bundle =
        'target' in made
          ? await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: (made as { target: string }).target, ...github() })
          : await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, statement: made, ...github() });
      await refused('att', pkg, bundle, code);
    }
  });

  it('refuses signers that are not the channel\'s Trusted Publisher', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['another repository', { repository: 'evil/widgets' }, 'repository'],
      ['same repository, other workflow', { job_workflow_ref: 'acme/widgets/.github/workflows/other.yml@refs/heads/main', workflow_ref: 'acme/widgets/.github/workflows/other.yml@refs/heads/main' }, 'workflow'],
      ['workflow only as a prefix', { job_workflow_ref: 'acme/widgets/.github/workflows/release.yml.evil.yml@refs/heads/main', workflow_ref: 'acme/widgets/.github/workflows/release.yml.evil.yml@refs/heads/main' }, 'workflow'],
    ];
    for (const [label, overrides, field] of cases) {
      const pkg = await fresh();
      const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl(), ...github(overrides) });
      const body = await refused('att', pkg, bundle, 'signer_not_trusted');
      assert.match(body.detail, new RegExp(field), `${label}: ${body.detail}`);
    }
    // another issuer: GitHub-shaped claims from an issuer that is not GitHub's
    const pkg = await fresh();
    const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl(), identity: 'github' });
    const body = await refused('att', pkg, bundle, 'signer_not_trusted');
    assert.match(body.detail, /issuer/);
  });

  it('refuses an environment-pinned publisher for a certificate alone (the environment is only proven by a Trusted Publishing token)', async () => {
    const pkg = await fresh();
    const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl('envpinned'), ...github({ environment: 'pypi' }) });
    const body = await refused('envpinned', pkg, bundle, 'signer_not_trusted');
    assert.match(body.detail, /environment/);
  });

  it('accepts a GitLab publisher\'s attestation', async () => {
    const pkg = await fresh();
    const bundle = await stack.signAttestation({
      filename: pkg.filename,
      sha256: pkg.sha256,
      targetChannel: channelUrl('lab'),
      identity: 'gitlab',
      tokenOverrides: { iss: 'https://gitlab.com' },
    });
    const res = await uploadMultipart(server, 'lab', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN, attestation: bundle });
    assert.equal(res.status, 201, JSON.stringify(res.json));
  });

  it('refuses bundles that do not verify cryptographically, each for its reason', async () => {
    const pkg = await fresh();
    const good = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl(), ...github() });
    // signed by a CA the server does not trust
    const untrusted = await otherStack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl(), ...github() });
    await refused('att', pkg, untrusted, (await codeOf(untrusted, pkg)) ?? 'untrusted_certificate');
    // tampered DSSE payload (still valid JSON, another digest)
    const j = JSON.parse(good);
    const payload = JSON.parse(Buffer.from(j.dsseEnvelope.payload, 'base64').toString('utf8'));
    payload.subject[0].digest.sha256 = 'f'.repeat(64);
    const tamperedPayload = JSON.stringify({ ...j, dsseEnvelope: { ...j.dsseEnvelope, payload: Buffer.from(JSON.stringify(payload)).toString('base64') } });
    const p1 = await refused('att', pkg, tamperedPayload, (await codeOf(tamperedPayload, pkg))!);
    assert.notEqual(p1.error, 'subject_digest', 'the signature check comes before the statement');
    // tampered signature
    const sig = Buffer.from(j.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 5] ^= 0x01;
    const tamperedSig = JSON.stringify({ ...j, dsseEnvelope: { ...j.dsseEnvelope, signatures: [{ ...j.dsseEnvelope.signatures[0], sig: sig.toString('base64') }] } });
    await refused('att', pkg, tamperedSig, (await codeOf(tamperedSig, pkg))!);
    // malformed JSON
    await refused('att', pkg, '{"mediaType": ', 'attestation_malformed');
    // the good one still goes in after all that
    const res = await uploadMultipart(server, 'att', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN, attestation: good });
    assert.equal(res.status, 201, JSON.stringify(res.json));
  });

  it('refuses a certificate used outside its validity with no valid timestamp', async () => {
    const pkg = await fresh();
    const late = new Date(stack.clock.now().getTime() + 20 * 60_000);
    const bundle = await stack.signAttestation({
      filename: pkg.filename,
      sha256: pkg.sha256,
      targetChannel: channelUrl(),
      ...github(),
      times: { rekor: late, tsa: late },
    });
    const body = await refused('att', pkg, bundle, (await codeOf(bundle, pkg))!);
    assert.match(body.error, /certificate|timestamp/);
  });

  it('refuses an attestation part over 1 MiB with a clear error', async () => {
    const pkg = await fresh();
    const res = await uploadMultipart(server, 'att', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN, attestation: ' '.repeat(10 * 1024 * 1024) });
    assert.equal(res.status, 422);
    assert.equal(res.json.error, 'attestation_too_large');
    await assertNothingStored('att', pkg.filename);
  });

  it('requires an attestation on a channel that says so', async () => {
    const pkg = await fresh();
    await refused('strict', pkg, undefined, 'attestation_required');
    const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl('strict'), ...github() });
    assert.equal((await uploadMultipart(server, 'strict', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN, attestation: bundle })).status, 201);
  });

  it('manages Trusted Publishers: validation, listing, removal, channel admin only', async () => {
    const bad = await api(server, 'POST', '/api/v1/channels/other/publishers', { kind: 'github', repository: 'acme/widgets', workflow: '../x.yml' });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error, 'invalid_publisher');
    const list = await api(server, 'GET', '/api/v1/channels/other/publishers');
    assert.equal(list.json.publishers.length, 1);
    const id = list.json.publishers[0].id;
    const uploadKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'other', scope: 'upload' })).json.secret;
    assert.equal((await api(server, 'DELETE', `/api/v1/channels/other/publishers/${id}`, undefined, uploadKey)).status, 403);
    assert.equal((await api(server, 'DELETE', `/api/v1/channels/other/publishers/${id}`)).status, 200);
    // with the publisher gone, its attestations no longer pass
    const pkg = await fresh();
    const bundle = await stack.signAttestation({ filename: pkg.filename, sha256: pkg.sha256, targetChannel: channelUrl('other'), ...github() });
    await refused('other', pkg, bundle, 'signer_not_trusted');
  });

  /** the code the server gives a broken bundle: asserted to be specific, not a catch-all */
  async function codeOf(bundle: string, pkg: { filename: string; bytes: Buffer }): Promise<string | undefined> {
    const res = await uploadMultipart(server, 'att', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN, attestation: bundle });
    assert.equal(res.status, 422, JSON.stringify(res.json));
    assert.notEqual(res.json.error, 'internal_error');
    assert.match(res.json.error, /certificate|signature|tlog|timestamp|untrusted|chain/, JSON.stringify(res.json));
    return res.json.error;
  }
});
