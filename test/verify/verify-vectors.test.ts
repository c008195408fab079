import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { provena, tempDir, verify } from './fixture.ts';

/**
 * `provena verify FILE|sha256:HEX --bundle BUNDLE` on the real vectors (test/core/attest/vectors, copied
 * from the team's shared set), offline: the public-good actionlint attestation (GitHub Actions,
 * hunger/octoconda) and the staging Rekor v2 bundle (GitHub OAuth identity).
 */
const VECTORS = path.resolve(import.meta.dirname, '../core/attest/vectors');
const ACTIONLINT = path.join(VECTORS, 'actionlint-1.7.12-h60d57d3_0.conda.v0.sigs');
const ACTIONLINT_SHA = 'sha256:e3e0f35dec5b09b18baac8729d14115903b5adfd25065f8bbb90a2b3be5401e4';
const ACTIONLINT_SAN = 'https://github.com/hunger/octoconda/.github/workflows/octoconda.yaml@refs/heads/main';
const STAGING = path.join(VECTORS, 'signed-package-2.1.0-hb0f4dca_0.conda.rekor2-staging.sigstore.json');
const STAGING_SHA = 'sha256:54303491a8418fbed24344b513546182c29b43bf282ceb433af65e2299f9271f';
const GITHUB = 'https://token.actions.githubusercontent.com';
const STAGING_ID = ['--certificate-identity', 'jku@goto.fi', '--certificate-oidc-issuer', 'https://github.com/login/oauth'];

describe('provena verify FILE --bundle: the real vectors, offline', () => {
  it('verifies the public-good actionlint attestation against its subject digest with --repo', async () => {
    const r = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^verified sha256:e3e0f35d\S+: signed by hunger\/octoconda\/\.github\/workflows\/octoconda\.yaml@refs\/heads\/main; Rekor entry 1202156555, targetChannel https:\/\/prefix\.dev\/github-releases \(not compared\)/);
    assert.match(r.out, /repository https:\/\/github.com\/hunger\/octoconda ref refs\/heads\/main commit 3486769623122fdddade1fb57e1b4728f162608a trigger schedule/);
    assert.match(r.out, /trusted root public-good/);
    assert.match(r.out, /note: subject name "actionlint-1.7.12-h60d57d3_0.conda" not compared \(only a digest was given\)/);
  });

  it('takes cosign-style flags: exact SAN and issuer, an anchored SAN regexp, the channel, the signer workflow and ref', async () => {
    const exact = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--certificate-identity', ACTIONLINT_SAN, '--certificate-oidc-issuer', GITHUB, '--channel', 'https://PREFIX.dev/github-releases/']);
    assert.equal(exact.code, 0, exact.err);
    assert.match(exact.out, /targetChannel https:\/\/prefix.dev\/github-releases, issuer/);
    const re = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--certificate-identity-regexp', 'https://github\\.com/hunger/.*', '--certificate-oidc-issuer-regexp', 'https://token\\.actions\\.githubusercontent\\.com']);
    assert.equal(re.code, 0, re.err);
    const wf = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--signer-workflow', 'hunger/octoconda/.github/workflows/octoconda.yaml', '--ref', 'refs/heads/main']);
    assert.equal(wf.code, 0, wf.err);
  });

  it('verifies the staging Rekor v2 bundle with --staging, its email identity and targetChannel', async () => {
    const r = await verify([STAGING_SHA, '--bundle', STAGING, '--staging', ...STAGING_ID, '--channel', 'https://example.com/my-channel', '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.ok, true);
    assert.equal(j.bundles[0].trust_root, 'staging');
    assert.equal(j.bundles[0].signer.subject, 'jku@goto.fi');
    assert.equal(j.bundles[0].statement.targetChannel, 'https://example.com/my-channel');
    assert.deepEqual(j.bundles[0].statement.compared, { name: false, channel: true });
  });

  it('refuses the staging bundle against the public-good root (untrusted_certificate)', async () => {
    const r = await verify([STAGING_SHA, '--bundle', STAGING, ...STAGING_ID]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^FAILED sha256:54303491\S+: bundle 1: untrusted_certificate: signing certificate .* was not issued by a Fulcio CA of the trusted root\(s\) public-good/);
  });

  it('refuses another repository, reporting expected and actual', async () => {
    const r = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda-fork']);
    assert.equal(r.code, 1);
    assert.match(r.err, /signer is not trusted: repository expected "https:\/\/github.com\/hunger\/octoconda-fork", got "https:\/\/github.com\/hunger\/octoconda"/);
  });

  it('refuses an unanchored-looking SAN regexp that matches only part of the SAN', async () => {
    const r = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--certificate-identity-regexp', 'hunger/octoconda', '--certificate-oidc-issuer', GITHUB]);
    assert.equal(r.code, 1);
    assert.match(r.err, /subject expected \/\^\(\?:hunger\/octoconda\)\$\/ \(regexp\), got "https:\/\/github.com\/hunger/);
  });

  it('refuses another issuer', async () => {
    const r = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--certificate-identity', ACTIONLINT_SAN, '--certificate-oidc-issuer', 'https://gitlab.com']);
    assert.equal(r.code, 1);
    assert.match(r.err, /issuer expected "https:\/\/gitlab.com", got "https:\/\/token.actions.githubusercontent.com"/);
  });

  it('refuses another ref and another signer workflow', async () => {
    const ref = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda', '--ref', 'refs/tags/v1.7.12']);
    assert.equal(ref.code, 1);
    assert.match(ref.err, /ref expected "refs\/tags\/v1.7.12", got "refs\/heads\/main"/);
    const wf = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--signer-workflow', 'hunger/octoconda/.github/workflows/release.yml']);
    assert.equal(wf.code, 1);
    assert.match(wf.err, /signer workflow expected "https:\/\/github.com\/hunger\/octoconda\/.github\/workflows\/release.yml", got "https:\/\/github.com\/hunger\/octoconda\/.github\/workflows\/octoconda.yaml"/);
  });

  it('refuses a file whose digest is not the attested one (subject_digest)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'actionlint-1.7.12-h60d57d3_0.conda');
    fs.writeFileSync(file, 'not the package');
    const r = await verify([file, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda']);
    assert.equal(r.code, 1);
    assert.match(r.err, /^FAILED actionlint-1.7.12-h60d57d3_0.conda: bundle 1: subject_digest: subject\[0\].digest.sha256: expected [0-9a-f]{64} \(the uploaded file\), got e3e0f35d/);
    const digest = await verify([`sha256:${'0'.repeat(64)}`, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda']);
    assert.equal(digest.code, 1);
    assert.match(digest.err, /subject_digest/);
  });

  it('refuses another targetChannel than --channel (target_channel)', async () => {
    const r = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda', '--channel', 'https://prefix.dev/conda-forge']);
    assert.equal(r.code, 1);
    assert.match(r.err, /target_channel: predicate.targetChannel: expected https:\/\/prefix.dev\/conda-forge, got https:\/\/prefix.dev\/github-releases/);
  });

  it('refuses another predicate type than the one asked for (predicate_type)', async () => {
    const r = await verify([ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda', '--predicate-type', 'https://slsa.dev/provenance/v1']);
    assert.equal(r.code, 1);
    assert.match(r.err, /predicate_type: predicateType: expected https:\/\/slsa.dev\/provenance\/v1, got "https:\/\/schemas.conda.org\/attestations-publish-1.schema.json"/);
  });

  it('refuses a tampered bundle: a changed signature, a changed payload, bytes that are not a bundle', async () => {
    const dir = tempDir();
    const json = JSON.parse(fs.readFileSync(ACTIONLINT, 'utf8'));
    const sig = Buffer.from(json[0].dsseEnvelope.signatures[0].sig, 'base64');
    sig[10] ^= 1;
    json[0].dsseEnvelope.signatures[0].sig = sig.toString('base64');
    fs.writeFileSync(path.join(dir, 'sig.json'), JSON.stringify(json));
    const r = await verify([ACTIONLINT_SHA, '--bundle', path.join(dir, 'sig.json'), '--repo', 'hunger/octoconda']);
    assert.equal(r.code, 1);
    assert.match(r.err, /bundle 1: signature_invalid/);

    const payload = JSON.parse(Buffer.from(json[0].dsseEnvelope.payload, 'base64').toString());
    payload.subject[0].digest.sha256 = '0'.repeat(64);
    json[0].dsseEnvelope.payload = Buffer.from(JSON.stringify(payload)).toString('base64');
    fs.writeFileSync(path.join(dir, 'payload.json'), JSON.stringify(json));
    const p = await verify([`sha256:${'0'.repeat(64)}`, '--bundle', path.join(dir, 'payload.json'), '--repo', 'hunger/octoconda']);
    assert.equal(p.code, 1);
    assert.match(p.err, /signature_invalid/);

    fs.writeFileSync(path.join(dir, 'junk.json'), '{"mediaType": 1');
    const junk = await verify([ACTIONLINT_SHA, '--bundle', path.join(dir, 'junk.json'), '--repo', 'hunger/octoconda', '--json']);
    assert.equal(junk.code, 1);
    assert.equal(JSON.parse(junk.out).code, 'attestation_malformed');
  });

  it('says what is missing when the flags cannot name a signer (exit 2)', async () => {
    const cases: [string[], RegExp][] = [
      [[ACTIONLINT_SHA, '--bundle', ACTIONLINT], /needs an identity/],
      [[ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--certificate-identity', ACTIONLINT_SAN], /needs the OIDC issuer/],
      [[ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--certificate-identity-regexp', '(', '--certificate-oidc-issuer', GITHUB], /not a valid regular expression/],
      [[ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--certificate-identity', 'a', '--certificate-identity-regexp', 'b', '--certificate-oidc-issuer', GITHUB], /not both/],
      [[ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda', '--insecure-ignore-tlog'], /only applies with --key/],
      [[ACTIONLINT_SHA, '--bundle', '/nonexistent/bundle.json', '--repo', 'hunger/octoconda'], /cannot read the bundle/],
      [['/nonexistent/file.conda', '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda'], /cannot read \/nonexistent\/file.conda/],
      [[ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda', '--channel', 'not a url'], /--channel: expected an http\(s\) channel URL/],
      [[ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda', '--trusted-root', '/nonexistent/root.json'], /cannot read/],
      [[ACTIONLINT_SHA], /usage:/],
    ];
    for (const [args, pattern] of cases) {
      const r = await verify(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, pattern);
    }
  });

  it('runs as `provena verify` from the command line, with the documented exit codes', async () => {
    const ok = await provena(['verify', ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'hunger/octoconda']);
    assert.equal(ok.code, 0, ok.err);
    const failed = await provena(['verify', ACTIONLINT_SHA, '--bundle', ACTIONLINT, '--repo', 'acme/widgets']);
    assert.equal(failed.code, 1);
    assert.equal(failed.err.trim().split('\n').length, 1, 'one line');
    const usage = await provena(['verify', ACTIONLINT_SHA, '--bundle', ACTIONLINT]);
    assert.equal(usage.code, 2);
    const help = await provena(['--help']);
    assert.match(help.out, /verify-env LOCKFILE --policy POLICY/);
    assert.match(help.out, /attest FILE\.\.\. --channel URL/);
  });
});
