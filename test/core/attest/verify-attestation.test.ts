import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyPackageAttestation, type PackageAttestationInput } from '../../../src/core/attest/verify-attestation.ts';
import type { TrustedPublisher } from '../../../src/core/publish/publisher.ts';
import { actionlint, actionlintBundle, editJson, flipDecoded, githubPublisher, staging, throwsCode, trustRoots } from './fixtures.ts';

const { publicGood, staging: stagingRoot } = trustRoots();
const input = (over: Partial<PackageAttestationInput> = {}): PackageAttestationInput => ({
  bundleBytes: actionlint.sidecar,
  filename: actionlint.filename,
  sha256: actionlint.sha256,
  channelUrl: actionlint.channelUrl,
  publishers: [githubPublisher()],
  trust: [publicGood, stagingRoot],
  ...over,
});

describe('verifyPackageAttestation', () => {
  it('accepts the actionlint attestation for its file, channel and publisher, offline', () => {
    const v = verifyPackageAttestation(input());
    assert.equal(v.signer.sourceRepositoryUri, 'https://github.com/hunger/octoconda');
    assert.equal(v.publisher.id, 'pub-github');
    assert.deepEqual(v.statement, { subject: { name: actionlint.filename, sha256: actionlint.sha256 }, targetChannel: 'https://prefix.dev/github-releases' });
    assert.equal(v.tlog?.logIndex, '1202156555');
    assert.equal(v.timestamps.length, 2);
    assert.match(v.bundleSha256, /^[0-9a-f]{64}$/);
    assert.equal(v.trustRoot, 'public-good');
    // The bundle alone (as rattler-build uploads it) proves the same.
    assert.equal(verifyPackageAttestation(input({ bundleBytes: actionlintBundle })).publisher.id, 'pub-github');
  });

  it('accepts the channel URL in another spelling of the same channel', () => {
    assert.doesNotThrow(() => verifyPackageAttestation(input({ channelUrl: 'HTTPS://PREFIX.dev:443/github-releases/' })));
  });

  it('refuses the attestation for another file, another hash or another channel', () => {
    throwsCode(() => verifyPackageAttestation(input({ filename: 'actionlint-1.7.13-h60d57d3_0.conda' })), 'subject_name');
    throwsCode(() => verifyPackageAttestation(input({ sha256: '0'.repeat(64) })), 'subject_digest');
    throwsCode(() => verifyPackageAttestation(input({ channelUrl: 'https://provena.example/github-releases' })), 'target_channel');
  });

  it('refuses a statement re-targeted at another file, hash or channel: the signature no longer holds', () => {
    const retarget = (edit: (statement: any) => void) =>
      editJson(actionlintBundle, (j) => {
        const statement = JSON.parse(Buffer.from(j.dsseEnvelope.payload, 'base64').toString());
        edit(statement);
        j.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
      });
    const evil = { filename: 'evil-1.0-0.conda', sha256: 'f'.repeat(64), channelUrl: 'https://provena.example/evil' };
    const forged = retarget((st) => {
      st.subject[0].name = evil.filename;
      st.subject[0].digest.sha256 = evil.sha256;
      st.predicate.targetChannel = evil.channelUrl;
    });
    throwsCode(() => verifyPackageAttestation(input({ ...evil, bundleBytes: forged })), 'signature_invalid');
    throwsCode(() => verifyPackageAttestation(input({ bundleBytes: retarget((st) => (st.predicate = null)) })), 'signature_invalid');
  });

  it('refuses a signer that is none of the channel’s publishers', () => {
    const e = throwsCode(() => verifyPackageAttestation(input({ publishers: [githubPublisher({ workflow: 'release.yml' })] })), 'signer_not_trusted');
    assert.equal(e.extra?.['field'], 'workflow');
    throwsCode(() => verifyPackageAttestation(input({ publishers: [] })), 'signer_not_trusted');
  });

  it('with requiredPublisher: the signer must be that very publisher, and its environment pin holds', () => {
    const pinned = githubPublisher({ id: 'pub-env', environment: 'release' });
    // Pinned publisher and an attestation without a token: the environment cannot be proven.
    throwsCode(() => verifyPackageAttestation(input({ publishers: [pinned] })), 'signer_not_trusted');
    // The same upload authorised by that publisher's Trusted Publishing token: accepted.
    assert.equal(verifyPackageAttestation(input({ publishers: [pinned], requiredPublisher: pinned })).publisher.id, 'pub-env');
    // Authorised by another publisher of the channel that the signer is not.
    const other: TrustedPublisher = githubPublisher({ id: 'pub-other', repository: 'hunger/other' });
    const e = throwsCode(() => verifyPackageAttestation(input({ publishers: [githubPublisher(), other], requiredPublisher: other })), 'signer_not_trusted');
    assert.equal(e.extra?.['publisher'], 'pub-other');
    // A token's publisher that is no longer the channel's.
    throwsCode(() => verifyPackageAttestation(input({ publishers: [githubPublisher()], requiredPublisher: pinned })), 'signer_not_trusted');
  });

  it('checks in order: parse, then cryptography, then statement, then identity', () => {
    const wrongEverything = { filename: 'x-1-0.conda', sha256: '1'.repeat(64), channelUrl: 'https://elsewhere.example/c', publishers: [] };
    throwsCode(() => verifyPackageAttestation(input({ ...wrongEverything, bundleBytes: Buffer.alloc(2 * 1024 * 1024) })), 'attestation_too_large');
    const badSignature = editJson(actionlintBundle, (j) => (j.dsseEnvelope.signatures[0].sig = flipDecoded(j.dsseEnvelope.signatures[0].sig, 10)));
    throwsCode(() => verifyPackageAttestation(input({ ...wrongEverything, bundleBytes: badSignature })), 'signature_invalid');
    throwsCode(() => verifyPackageAttestation(input({ ...wrongEverything, trust: [stagingRoot] })), 'untrusted_certificate');
    throwsCode(() => verifyPackageAttestation(input({ ...wrongEverything })), 'subject_name');
    throwsCode(() => verifyPackageAttestation(input({ publishers: [] })), 'signer_not_trusted');
  });

  it('verifies the staging bundle against the staging root with a generic (email) publisher', () => {
    const person: TrustedPublisher = {
      id: 'pub-person',
      channel: 'my-channel',
      createdAt: '2026-01-01T00:00:00Z',
      kind: 'generic',
      issuer: 'https://github.com/login/oauth',
      claims: { email: 'jku@goto.fi' },
    };
    const stagingInput = { bundleBytes: staging.bundle, filename: staging.filename, sha256: staging.sha256, channelUrl: staging.channelUrl };
    assert.equal(verifyPackageAttestation(input({ ...stagingInput, publishers: [person] })).trustRoot, 'staging');
    throwsCode(() => verifyPackageAttestation(input({ ...stagingInput, publishers: [person], trust: [publicGood] })), 'untrusted_certificate');
    throwsCode(() => verifyPackageAttestation(input({ ...stagingInput, publishers: [{ ...person, claims: { email: 'someone@goto.fi' } }] })), 'signer_not_trusted');
  });
});
