import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as signWith } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder, RekorWitness } from '@sigstore/sign';
import { condaPublishStatement, startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { GITHUB, sha256, tempDir, verify } from './fixture.ts';

/**
 * Identity checks of `provena verify FILE --bundle` on bundles the local Sigstore stack signs with the
 * production signer: each flag that matches, and each mismatch as its own refusal with its reason.
 */
describe('provena verify: identities, issuers, regexps, workflows, refs and keys', () => {
  let stack: SigstoreStack;
  let root: string;
  const dir = tempDir();
  const file = path.join(dir, 'widgets-1.0-h0_0.conda');
  fs.writeFileSync(file, 'package bytes');
  const digest = sha256(fs.readFileSync(file));
  const SAN = 'https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main';
  let n = 0;

  /** a bundle for `file`, signed by a GitHub-shaped token with these claims */
  async function bundle(overrides: Record<string, unknown> = {}, opts: { identity?: 'github' | 'gitlab'; statement?: object; filename?: string } = {}): Promise<string> {
    const text = await stack.signAttestation({
      filename: opts.filename ?? path.basename(file),
      sha256: digest,
      targetChannel: 'https://conda.example.org/acme',
      identity: opts.identity ?? 'github',
      tokenOverrides: { iss: GITHUB, ...overrides },
      ...(opts.statement ? { statement: opts.statement } : {}),
    });
    const out = path.join(dir, `b${++n}.sigstore.json`);
    fs.writeFileSync(out, text);
    return out;
  }
  const run = (b: string, ...flags: string[]) => verify([file, '--bundle', b, '--trusted-root', root, ...flags]);

  before(async () => {
    stack = await startSigstoreStack();
    root = path.join(dir, 'trusted_root.json');
    fs.writeFileSync(root, stack.trustedRootJson);
  });
  after(() => stack?.close());

  it('accepts the repository (--repo) and the exact identity and issuer, checking name, digest and channel', async () => {
    const b = await bundle();
    const repo = await run(b, '--repo', 'acme/widgets', '--channel', 'https://conda.example.org/acme');
    assert.equal(repo.code, 0, repo.err);
    assert.match(repo.out, /^verified widgets-1.0-h0_0.conda \(sha256:[0-9a-f]{64}\): signed by acme\/widgets\/.github\/workflows\/release.yml@refs\/heads\/main; Rekor entry \d+, targetChannel https:\/\/conda.example.org\/acme, issuer https:\/\/token.actions.githubusercontent.com/);
    const exact = await run(b, '--certificate-identity', SAN, '--certificate-oidc-issuer', GITHUB);
    assert.equal(exact.code, 0, exact.err);
  });

  it('refuses another repository', async () => {
    const r = await run(await bundle({ repository: 'evil/widgets' }), '--repo', 'acme/widgets');
    assert.equal(r.code, 1);
    assert.match(r.err, /signer_not_trusted|signer is not trusted: repository expected "https:\/\/github.com\/acme\/widgets", got "https:\/\/github.com\/evil\/widgets"/);
  });

  it('refuses another subject (SAN)', async () => {
    const r = await run(await bundle({ ref: 'refs/heads/feature' }), '--certificate-identity', SAN, '--certificate-oidc-issuer', GITHUB);
    assert.equal(r.code, 1);
    assert.match(r.err, /subject expected "https:\/\/github.com\/acme\/widgets\/.github\/workflows\/release.yml@refs\/heads\/main", got ".*@refs\/heads\/feature"/);
  });

  it('refuses another issuer, also the one --repo implies', async () => {
    const b = await bundle({ iss: stack.issuer.url });
    const exact = await run(b, '--certificate-identity', SAN, '--certificate-oidc-issuer', GITHUB);
    assert.equal(exact.code, 1);
    assert.match(exact.err, new RegExp(`issuer expected "${GITHUB}", got "${stack.issuer.url}"`));
    const repo = await run(b, '--repo', 'acme/widgets');
    assert.equal(repo.code, 1);
    assert.match(repo.err, /issuer expected "https:\/\/token.actions.githubusercontent.com"/);
    const own = await run(b, '--repo', 'acme/widgets', '--certificate-oidc-issuer', stack.issuer.url);
    assert.equal(own.code, 0, own.err);
  });

  it('accepts an identity regexp only when it matches the whole SAN', async () => {
    const b = await bundle();
    const whole = await run(b, '--certificate-identity-regexp', 'https://github\\.com/acme/.*@refs/heads/main', '--certificate-oidc-issuer', GITHUB);
    assert.equal(whole.code, 0, whole.err);
    const part = await run(b, '--certificate-identity-regexp', 'acme/widgets', '--certificate-oidc-issuer', GITHUB);
    assert.equal(part.code, 1);
    assert.match(part.err, /subject expected \/\^\(\?:acme\/widgets\)\$\/ \(regexp\)/);
  });

  it('accepts an issuer regexp only when it matches the whole issuer', async () => {
    const b = await bundle();
    const whole = await run(b, '--repo', 'acme/widgets', '--certificate-oidc-issuer-regexp', 'https://token\\.actions\\.githubusercontent\\.com');
    assert.equal(whole.code, 0, whole.err);
    const part = await run(b, '--repo', 'acme/widgets', '--certificate-oidc-issuer-regexp', 'githubusercontent');
    assert.equal(part.code, 1);
    assert.match(part.err, /issuer expected \/\^\(\?:githubusercontent\)\$\/ \(regexp\), got "https:\/\/token.actions.githubusercontent.com"/);
  });

  it('accepts the signer workflow; refuses a reusable workflow of another repository', async () => {
    const ok = await run(await bundle(), '--signer-workflow', 'acme/widgets/.github/workflows/release.yml');
    assert.equal(ok.code, 0, ok.err);
    const reusable = await bundle({ job_workflow_ref: 'evil/tools/.github/workflows/release.yml@refs/heads/main' });
    const r = await run(reusable, '--signer-workflow', 'acme/widgets/.github/workflows/release.yml');
    assert.equal(r.code, 1);
    assert.match(r.err, /signer workflow expected "https:\/\/github.com\/acme\/widgets\/.github\/workflows\/release.yml", got "https:\/\/github.com\/evil\/tools\/.github\/workflows\/release.yml"/);
  });

  it('accepts the ref; refuses another one', async () => {
    const b = await bundle({ ref: 'refs/tags/v1.0' });
    const ok = await run(b, '--repo', 'acme/widgets', '--ref', 'refs/tags/v1.0');
    assert.equal(ok.code, 0, ok.err);
    const other = await run(b, '--repo', 'acme/widgets', '--ref', 'refs/tags/v1.1');
    assert.equal(other.code, 1);
    assert.match(other.err, /ref expected "refs\/tags\/v1.1", got "refs\/tags\/v1.0"/);
  });

  it('verifies a GitLab identity by its SAN and issuer', async () => {
    const b = await bundle({ iss: 'https://gitlab.com' }, { identity: 'gitlab' });
    const ok = await run(b, '--certificate-identity', 'https://gitlab.com/acme/widgets//.gitlab-ci.yml@refs/heads/main', '--certificate-oidc-issuer', 'https://gitlab.com');
    assert.equal(ok.code, 0, ok.err);
    const gh = await run(b, '--repo', 'acme/widgets');
    assert.equal(gh.code, 1);
  });

  it('refuses a bundle for another file (subject_name)', async () => {
    const r = await run(await bundle({}, { filename: 'other-1.0-h0_0.conda' }), '--repo', 'acme/widgets');
    assert.equal(r.code, 1);
    assert.match(r.err, /subject_name: subject\[0\].name: expected widgets-1.0-h0_0.conda, got "other-1.0-h0_0.conda"/);
  });

  it('refuses a bundle the trusted root does not cover (another Sigstore)', async () => {
    const other = await startSigstoreStack();
    try {
      const text = await other.signAttestation({ filename: path.basename(file), sha256: digest, identity: 'github', tokenOverrides: { iss: GITHUB } });
      const b = path.join(dir, 'other-stack.json');
      fs.writeFileSync(b, text);
      const r = await run(b, '--repo', 'acme/widgets');
      assert.equal(r.code, 1);
      assert.match(r.err, /untrusted_certificate/);
    } finally {
      await other.close();
    }
  });

  describe('--key PEM: bundles signed with a plain public key', () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const keyFile = path.join(dir, 'cosign.pub');
    fs.writeFileSync(keyFile, pem);
    const otherKey = path.join(dir, 'other.pub');
    fs.writeFileSync(otherKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString());

    async function keyBundle(withTlog: boolean): Promise<string> {
      const builder = new DSSEBundleBuilder({
        signer: { sign: async (data: Buffer) => ({ signature: signWith('sha256', data, keys.privateKey), key: { $case: 'publicKey', publicKey: pem, hint: '' } }) },
        witnesses: withTlog ? [new RekorWitness({ rekorBaseURL: stack.rekorUrl, entryType: 'dsse', majorApiVersion: 1, retry: 0 })] : [],
      });
      const statement = condaPublishStatement({ filename: path.basename(file), sha256: digest });
      const b = await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: 'application/vnd.in-toto+json' });
      const out = path.join(dir, `key${++n}.json`);
      fs.writeFileSync(out, JSON.stringify(bundleToJSON(b)));
      return out;
    }

    it('accepts a key-signed bundle logged in Rekor', async () => {
      const r = await run(await keyBundle(true), '--key', keyFile);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /signed by key sha256:[0-9a-f]{12}…; Rekor entry \d+/);
    });

    it('refuses another key (signature_invalid)', async () => {
      const r = await run(await keyBundle(true), '--key', otherKey);
      assert.equal(r.code, 1);
      assert.match(r.err, /signature_invalid: dsseEnvelope.signatures\[0\].sig: does not verify over the payload with the given --key/);
    });

    it('refuses a key-signed bundle without a log entry unless --insecure-ignore-tlog', async () => {
      const b = await keyBundle(false);
      const r = await run(b, '--key', keyFile);
      assert.equal(r.code, 1);
      assert.match(r.err, /tlog_entry_missing: the bundle has no transparency log entry/);
      const ignored = await run(b, '--key', keyFile, '--insecure-ignore-tlog');
      assert.equal(ignored.code, 0, ignored.err);
    });

    it('refuses --key for a certificate bundle, and identity flags with --key (exit 2)', async () => {
      const keyless = await run(await bundle(), '--key', keyFile);
      assert.equal(keyless.code, 1);
      assert.match(keyless.err, /attestation_not_key_signed/);
      const both = await run(await keyBundle(true), '--key', keyFile, '--repo', 'acme/widgets');
      assert.equal(both.code, 2);
      const notPem = await run(await keyBundle(true), '--key', file);
      assert.equal(notPem.code, 2);
      assert.match(notPem.err, /not a PEM public key/);
    });
  });
});
