import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { makePackage } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { attest, GITHUB, provena, sha256, tempDir, verify } from './fixture.ts';

const PREDICATE = 'https://schemas.conda.org/attestations-publish-1.schema.json';

/**
 * `provena attest FILE --channel URL` signs with the production signer against the local Sigstore
 * stack (URLs from flags or PROVENA_* variables, identity token from the flag, SIGSTORE_ID_TOKEN or
 * the GitHub Actions token service), and what it writes verifies with `provena verify`, with
 * @sigstore/verify called directly, and at upload on a real server.
 */
describe('provena attest', () => {
  let stack: SigstoreStack;
  let root: string;
  const dir = tempDir('provena-attest-');
  let n = 0;
  const CHANNEL = 'https://conda.example.org/acme';

  const packageFile = async (name = `attested${++n}`) => {
    const bytes = await makePackage({ name, version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' });
    const file = path.join(dir, `${name}-1.0-h0_0.conda`);
    fs.writeFileSync(file, bytes);
    return { file, sha256: sha256(bytes), filename: path.basename(file) };
  };
  const urls = () => ['--fulcio-url', stack.fulcioUrl, '--rekor-url', stack.rekorUrl, '--tsa-url', stack.tsaUrl];

  before(async () => {
    stack = await startSigstoreStack();
    root = path.join(dir, 'trusted_root.json');
    fs.writeFileSync(root, stack.trustedRootJson);
  });
  after(() => stack?.close());

  it('writes FILE.sigstore.json, which `provena verify` accepts: signer, file, digest and channel', async () => {
    const pkg = await packageFile();
    const token = await stack.issuer.githubToken({ iss: GITHUB });
    const made = await attest([pkg.file, '--channel', `${CHANNEL}/`, '--identity-token', token, ...urls()]);
    assert.equal(made.code, 0, made.err);
    assert.match(made.out, new RegExp(`^wrote ${pkg.file.replace(/[.]/g, '\\.')}\\.sigstore\\.json: CEP-27 attestation of ${pkg.filename.replace(/[.]/g, '\\.')} \\(sha256 ${pkg.sha256}\\) for ${CHANNEL}, signed by https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main, Rekor log index \\d+`));
    const bundle = `${pkg.file}.sigstore.json`;
    const ok = await verify([pkg.file, '--bundle', bundle, '--trusted-root', root, '--repo', 'acme/widgets', '--signer-workflow', 'acme/widgets/.github/workflows/release.yml', '--channel', CHANNEL]);
    assert.equal(ok.code, 0, ok.err);
    const statement = JSON.parse(Buffer.from(JSON.parse(fs.readFileSync(bundle, 'utf8')).dsseEnvelope.payload, 'base64').toString());
    assert.deepEqual(statement, {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: pkg.filename, digest: { sha256: pkg.sha256 } }],
      predicateType: PREDICATE,
      predicate: { targetChannel: CHANNEL },
    });
    const otherChannel = await verify([pkg.file, '--bundle', bundle, '--trusted-root', root, '--repo', 'acme/widgets', '--channel', 'https://conda.example.org/other']);
    assert.equal(otherChannel.code, 1);
    assert.match(otherChannel.err, /target_channel/);
  });

  it('is accepted by an independent verifier: @sigstore/verify with the stack\'s trusted root', async () => {
    const pkg = await packageFile();
    const made = await attest([pkg.file, '--channel', CHANNEL, '--identity-token', await stack.issuer.githubToken({ iss: GITHUB }), ...urls(), '--json']);
    assert.equal(made.code, 0, made.err);
    const facts = JSON.parse(made.out);
    assert.equal(facts.sha256, pkg.sha256);
    const json = JSON.parse(fs.readFileSync(facts.path, 'utf8'));
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(stack.trustedRootJson))));
    const entity = toSignedEntity(bundleFromJSON(json));
    const signer = verifier.verify(entity); // the library's default policy: none beyond the crypto
    assert.equal(signer.identity?.subjectAlternativeName, 'https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main');
    verifier.verify(entity, { subjectAlternativeName: 'https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main', extensions: { issuer: GITHUB } });
    assert.equal(json.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.equal(json.verificationMaterial.tlogEntries.length, 1);
    assert.equal(json.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
  });

  it('takes the identity from GitHub Actions (audience sigstore) and the URLs from PROVENA_* variables, as a CI job runs it', async () => {
    const pkg = await packageFile();
    const r = await provena(['attest', pkg.file, '--channel', CHANNEL], {
      GITHUB_ACTIONS: 'true',
      ACTIONS_ID_TOKEN_REQUEST_URL: stack.issuer.actionsTokenRequest.url,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: stack.issuer.actionsTokenRequest.token,
      PROVENA_FULCIO_URL: stack.fulcioUrl,
      PROVENA_REKOR_URL: stack.rekorUrl,
      PROVENA_TSA_URL: stack.tsaUrl,
    });
    assert.equal(r.code, 0, r.err);
    const v = await verify([pkg.file, '--bundle', `${pkg.file}.sigstore.json`, '--trusted-root', root, '--repo', 'acme/widgets', '--certificate-oidc-issuer', stack.issuer.url]);
    assert.equal(v.code, 0, v.err);
  });

  it('takes SIGSTORE_ID_TOKEN (GitLab id_tokens), and writes --output', async () => {
    const pkg = await packageFile();
    const out = path.join(dir, 'gitlab.sigstore.json');
    const r = await attest([pkg.file, '--channel', CHANNEL, '--output', out, ...urls()], { SIGSTORE_ID_TOKEN: await stack.issuer.gitlabToken({ iss: 'https://gitlab.com' }) });
    assert.equal(r.code, 0, r.err);
    const v = await verify([pkg.file, '--bundle', out, '--trusted-root', root, '--certificate-identity', 'https://gitlab.com/acme/widgets//.gitlab-ci.yml@refs/heads/main', '--certificate-oidc-issuer', 'https://gitlab.com']);
    assert.equal(v.code, 0, v.err);
  });

  it('signs without a timestamp authority with --no-tsa (Rekor\'s signed entry timestamp dates it)', async () => {
    const pkg = await packageFile();
    const r = await attest([pkg.file, '--channel', CHANNEL, '--identity-token', await stack.issuer.githubToken({ iss: GITHUB }), '--fulcio-url', stack.fulcioUrl, '--rekor-url', stack.rekorUrl, '--no-tsa']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(fs.readFileSync(`${pkg.file}.sigstore.json`, 'utf8')).verificationMaterial.timestampVerificationData?.rfc3161Timestamps, undefined);
    assert.equal((await verify([pkg.file, '--bundle', `${pkg.file}.sigstore.json`, '--trusted-root', root, '--repo', 'acme/widgets'])).code, 0);
  });

  it('refuses bad input with exit 2: no identity token, not a package, a bad channel, --output for several files', async () => {
    const pkg = await packageFile();
    const noToken = await attest([pkg.file, '--channel', CHANNEL, ...urls()]);
    assert.equal(noToken.code, 2);
    assert.match(noToken.err, /no identity token for Sigstore/);
    const txt = path.join(dir, 'notes.txt');
    fs.writeFileSync(txt, 'x');
    const notPackage = await attest([txt, '--channel', CHANNEL, '--identity-token', 'x', ...urls()]);
    assert.equal(notPackage.code, 2);
    assert.match(notPackage.err, /must end in '.conda' or '.tar.bz2'/);
    const badChannel = await attest([pkg.file, '--channel', 'https://conda.example.org/acme?x=1', '--identity-token', 'x', ...urls()]);
    assert.equal(badChannel.code, 2);
    assert.match(badChannel.err, /carries a query/);
    assert.equal((await attest([pkg.file, pkg.file, '--channel', CHANNEL, '--output', 'x.json', '--identity-token', 'x'])).code, 2);
    assert.equal((await attest([pkg.file])).code, 2);
    assert.equal((await attest([pkg.file, '--channel', CHANNEL, '--identity-token', 'x', '--no-tsa', '--tsa-url', stack.tsaUrl])).code, 2);
  });

  it('says which service refused or was unreachable: Fulcio refusing the token (exit 1), Fulcio down (exit 3)', async () => {
    const pkg = await packageFile();
    const wrongAudience = await stack.issuer.githubToken({ iss: GITHUB, aud: 'conda.example.org' });
    const refused = await attest([pkg.file, '--channel', CHANNEL, '--identity-token', wrongAudience, ...urls()]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /signing failed \(signing_certificate_refused\): Fulcio refused the identity token/);
    const down = await attest([pkg.file, '--channel', CHANNEL, '--identity-token', await stack.issuer.githubToken({ iss: GITHUB }), '--fulcio-url', 'http://127.0.0.1:1', '--rekor-url', stack.rekorUrl, '--no-tsa']);
    assert.equal(down.code, 3, down.err);
    assert.match(down.err, /fulcio_unavailable/);
    assert.equal(fs.existsSync(`${pkg.file}.sigstore.json`), false, 'nothing is written when signing fails');
  });

  describe('provena upload --generate-attestation', () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer({ args: ['--trusted-root', root] });
      assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'gen' })).status, 201);
      assert.equal((await api(server, 'POST', '/api/v1/channels/gen/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' })).status, 201);
      assert.equal((await api(server, 'PATCH', '/api/v1/channels/gen', { require_attestations: true })).status, 200);
    });
    after(() => server?.stop());

    it('attests each file for the channel on the way; the server accepts it and `provena verify URL` verifies it', async () => {
      const pkg = await packageFile();
      const r = await provena(['upload', pkg.file, '--channel', 'gen', '--generate-attestation', '--server', server.url, '--token', ADMIN_TOKEN, ...urls()], {
        SIGSTORE_ID_TOKEN: await stack.issuer.githubToken({ iss: GITHUB }),
      });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`attested ${pkg.filename.replace(/[.]/g, '\\.')} for ${server.url}/gen, signed by https://github.com/acme/widgets/`));
      assert.match(r.out, new RegExp(`uploaded gen/linux-64/${pkg.filename.replace(/[.]/g, '\\.')} sha256:${pkg.sha256}`));
      const facts = await api(server, 'GET', `/api/v1/channels/gen/packages/linux-64/${pkg.filename}/attestations`);
      assert.equal(facts.status, 200, JSON.stringify(facts.json));
      const v = await verify([`${server.url}/gen/linux-64/${pkg.filename}`, '--trusted-root', root, '--repo', 'acme/widgets']);
      assert.equal(v.code, 0, v.err);
    });
  });
});
