import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { VerificationError } from '@sigstore/verify';
import { signStatement } from '../../src/adapters/sigstore/signer.ts';
import { bundleCertificate, bundlePayload, exactly, verifyBundle } from './sigstore-stack/bundle-inspection.ts';
import { condaPublishStatement, startSigstoreStack } from './sigstore-stack/index.ts';
import type { SigstoreStack } from './sigstore-stack/index.ts';

const PACKAGE = { filename: 'widgets-1.0-py_0.conda', sha256: 'ab'.repeat(32), targetChannel: 'https://conda.example/acme' };
const GITHUB_SAN = 'https://github.com/acme/widgets/.github/workflows/release.yml@refs/heads/main';

describe('local Sigstore stack', () => {
  let stack: SigstoreStack;
  let other: SigstoreStack;
  before(async () => {
    [stack, other] = await Promise.all([startSigstoreStack(), startSigstoreStack()]);
  });
  after(async () => {
    await Promise.all([stack.close(), other.close()]);
  });

  it('signs bundles that @sigstore/verify accepts, 30 times in a row', async (t) => {
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      const json = await stack.signAttestation({ ...PACKAGE, filename: `widgets-1.${i}-py_0.conda` });
      times.push(performance.now() - started);
      const signer = verifyBundle(json, stack.trustedRoot, {
        subjectAlternativeName: exactly(GITHUB_SAN),
        extensions: { issuer: stack.issuer.url },
      });
      assert.equal(signer.identity?.subjectAlternativeName, GITHUB_SAN);
    }
    const sorted = [...times].sort((a, b) => a - b);
    t.diagnostic(`signing (token → Fulcio → Rekor + TSA): median ${sorted[15]!.toFixed(1)} ms, ` +
      `max ${sorted[29]!.toFixed(1)} ms over 30`);
  });

  it('produces a v0.3 DSSE bundle with a Rekor v1 dsse entry, inclusion proof, SET and RFC 3161 timestamp', async () => {
    const json = await stack.signAttestation(PACKAGE);
    const bundle = JSON.parse(json);
    assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    const [entry, ...more] = bundle.verificationMaterial.tlogEntries;
    assert.equal(more.length, 0);
    assert.deepEqual(entry.kindVersion, { kind: 'dsse', version: '0.0.1' });
    assert.ok(entry.inclusionPromise.signedEntryTimestamp);
    assert.ok(entry.inclusionProof.checkpoint.envelope.startsWith(new URL(stack.rekorUrl).host));
    assert.equal(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
    // Stored like real Rekor stores dsse: hashes and signatures, not the proposed envelope.
    const body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString('utf8'));
    assert.deepEqual(Object.keys(body.spec).sort(), ['envelopeHash', 'payloadHash', 'signatures']);
    assert.equal(body.spec.signatures[0].signature, bundle.dsseEnvelope.signatures[0].sig);
    assert.deepEqual(bundlePayload(json), condaPublishStatement(PACKAGE));
  });

  it('stays verifiable when the clock sits on milliseconds the mock TSA cannot encode', async () => {
    const saved = stack.clock.snapshot();
    try {
      for (const ms of [0, 10, 120, 500, 990]) {
        const at = new Date(stack.clock.now().getTime() - (stack.clock.now().getTime() % 1000) + ms);
        stack.clock.set(at);
        assert.notEqual(stack.clock.tsa.getMilliseconds() % 10, 0);
        verifyBundle(await stack.signAttestation(PACKAGE), stack.trustedRoot);
      }
      // The problem being avoided: the same stack with the TSA's Date set raw to .120 makes a bundle
      // @sigstore/core cannot read.
      stack.clock.tsa.setTime(stack.clock.tsa.getTime() - stack.clock.tsa.getMilliseconds() + 120);
      const broken = await signStatement({
        statement: condaPublishStatement(PACKAGE), identityToken: await stack.issuer.githubToken(),
        fulcioUrl: stack.fulcioUrl, rekorUrl: stack.rekorUrl, tsaUrl: stack.tsaUrl,
      });
      assert.throws(() => verifyBundle(broken, stack.trustedRoot), /invalid time/);
    } finally {
      stack.clock.restore(saved);
    }
  });

  it('signs whatever statement a negative test supplies', async () => {
    const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'x' };
    const json = await stack.signAttestation({ ...PACKAGE, statement });
    assert.deepEqual(bundlePayload(json), statement);
    verifyBundle(json, stack.trustedRoot);
  });

  it('is not trusted by another stack, and trusts nothing another stack signed', async () => {
    assert.notEqual(stack.trustedRoot.certificateAuthorities[0]!.certChain.certificates[0]!.rawBytes,
      other.trustedRoot.certificateAuthorities[0]!.certChain.certificates[0]!.rawBytes);
    assert.notEqual(stack.trustedRoot.tlogs[0]!.logId.keyId, other.trustedRoot.tlogs[0]!.logId.keyId);
    const ours = await stack.signAttestation(PACKAGE);
    const theirs = await other.signAttestation(PACKAGE);
    assert.throws(() => verifyBundle(ours, other.trustedRoot), VerificationError);
    assert.throws(() => verifyBundle(theirs, stack.trustedRoot), VerificationError);
    // Without the TSA, the chain itself is what fails.
    assert.throws(() => verifyBundle(ours.replace(/"rfc3161Timestamps":\[[^\]]*\]/, '"rfc3161Timestamps":[]'),
      other.trustedRoot), { code: 'CERTIFICATE_ERROR' });
  });

  it('makes certificates used outside their validity (no timestamp inside the 10-minute window)', async () => {
    const later = new Date(stack.clock.now().getTime() + 20 * 60_000);
    const json = await stack.signAttestation({ ...PACKAGE, times: { rekor: later, tsa: later } });
    const cert = bundleCertificate(json);
    assert.ok(cert.notAfter < later);
    assert.throws(() => verifyBundle(json, stack.trustedRoot), (err: unknown) => {
      assert.ok(err instanceof VerificationError);
      assert.equal(err.code, 'CERTIFICATE_ERROR');
      assert.match(String((err.cause as Error | undefined)?.message), /not valid or expired at the specified date/);
      return true;
    });
    // Inside the window the same skew is fine, and the clock is back where it was.
    const inside = new Date(stack.clock.now().getTime() + 5 * 60_000);
    verifyBundle(await stack.signAttestation({ ...PACKAGE, times: { rekor: inside, tsa: inside } }), stack.trustedRoot);
    assert.equal(stack.clock.rekor.getTime(), stack.clock.fulcio.getTime());
  });

  it('signs without a TSA (Rekor SET only) and with intoto entries, both verifiable', async () => {
    verifyBundle(await stack.signAttestation({ ...PACKAGE, timestamp: false }), stack.trustedRoot);
    const json = await signStatement({
      statement: condaPublishStatement(PACKAGE), identityToken: await stack.issuer.githubToken(),
      fulcioUrl: stack.fulcioUrl, rekorUrl: stack.rekorUrl, tsaUrl: stack.tsaUrl, rekorEntryType: 'intoto',
    });
    assert.equal(JSON.parse(json).verificationMaterial.tlogEntries[0].kindVersion.kind, 'intoto');
    verifyBundle(json, stack.trustedRoot);
  });

  it('publishes a trusted_root.json that parses as the protobuf TrustedRoot', () => {
    const root = TrustedRoot.fromJSON(JSON.parse(stack.trustedRootJson));
    assert.equal(root.tlogs[0]!.baseUrl, stack.rekorUrl);
    assert.equal(root.certificateAuthorities[0]!.uri, stack.fulcioUrl);
    assert.equal(root.timestampAuthorities[0]!.certChain!.certificates.length, 2);
    assert.equal(root.ctlogs.length, 1);
    assert.deepEqual(root.certificateAuthorities[0]!.validFor!.start, stack.startedAt);
    assert.ok(stack.clock.now() >= stack.startedAt);
  });
});
