import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAttestation } from '../../../src/core/attest/bundle.ts';
import { verifyBundle } from '../../../src/core/attest/sigstore-verify.ts';
import type { SigstoreTrustRoot } from '../../../src/core/attest/trust-root.ts';
import { actionlintBundle, editJson, flipDecoded, staging, throwsCode, trustRoots } from './fixtures.ts';

const verify = (bytes: Uint8Array, roots: SigstoreTrustRoot[]) => verifyBundle(parseAttestation(bytes), roots);
const { publicGood, staging: stagingRoot } = trustRoots();

function editLine(text: string, n: number, change: (line: string) => string): string {
  const lines = text.split('\n');
  lines[n] = change(lines[n]!);
  return lines.join('\n');
}

/** A copy of a root with some of its trust material changed. */
function alter(root: SigstoreTrustRoot, change: (m: SigstoreTrustRoot['material']) => Partial<SigstoreTrustRoot['material']>): SigstoreTrustRoot {
  return { name: `${root.name}-altered`, material: { ...root.material, ...change(root.material) } };
}

describe('verifyBundle on the real vectors', () => {
  it('verifies the public-good actionlint bundle offline', () => {
    const v = verify(actionlintBundle, [publicGood]);
    assert.equal(v.trustRoot, 'public-good');
    assert.equal(v.signer.sourceRepositoryUri, 'https://github.com/hunger/octoconda');
    assert.equal(v.signer.issuer, 'https://token.actions.githubusercontent.com');
    assert.equal(v.signer.buildConfigUri, 'https://github.com/hunger/octoconda/.github/workflows/octoconda.yaml@refs/heads/main');
    assert.deepEqual(v.tlog, { logIndex: '1202156555', integratedTime: '1774925911', logId: 'wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=' });
    assert.deepEqual(v.timestamps.map((t) => t.source).sort(), ['timestamp-authority', 'transparency-log']);
    assert.equal(v.payloadType, 'application/vnd.in-toto+json');
  });

  it('verifies the staging Rekor v2 bundle against the staging root', () => {
    const v = verify(staging.bundle, [stagingRoot]);
    assert.equal(v.trustRoot, 'staging');
    assert.deepEqual(v.signer.subjectAlternativeName, { type: 'email', value: 'jku@goto.fi' });
    assert.equal(v.signer.issuer, 'https://github.com/login/oauth');
    assert.deepEqual(v.tlog, { logIndex: '4197416', integratedTime: null, logId: '09OnDKEw7/hpZiYVPoTRzRbglHk0sylsUovegnRUlJY=' });
    assert.deepEqual(v.timestamps, [{ source: 'timestamp-authority', time: '2026-05-26T07:42:21.000Z' }]);
  });

  it('refuses each bundle against the other instance’s root', () => {
    const e = throwsCode(() => verify(staging.bundle, [publicGood]), 'untrusted_certificate');
    assert.match(e.detail, /public-good/);
    throwsCode(() => verify(actionlintBundle, [stagingRoot]), 'untrusted_certificate');
  });

  it('tries each configured root and reports which one verified', () => {
    assert.equal(verify(actionlintBundle, [stagingRoot, publicGood]).trustRoot, 'public-good');
    assert.equal(verify(staging.bundle, [publicGood, stagingRoot]).trustRoot, 'staging');
  });

  it('needs at least one root', () => {
    throwsCode(() => verify(actionlintBundle, []), 'trusted_root_missing', 'internal');
  });
});

describe('verifyBundle against altered trust roots', () => {
  it('timestamp authority missing or not yet valid → timestamp_invalid', () => {
    throwsCode(() => verify(actionlintBundle, [alter(publicGood, () => ({ timestampAuthorities: [] }))]), 'timestamp_invalid');
    const late = alter(publicGood, (m) => ({ timestampAuthorities: m.timestampAuthorities.map((t) => ({ ...t, validFor: { start: new Date('2026-04-01'), end: t.validFor.end } })) }));
    throwsCode(() => verify(actionlintBundle, [late]), 'timestamp_invalid');
  });

  it('Rekor key missing or expired → tlog_set_invalid (v1) / tlog_inclusion_proof_invalid (v2 checkpoint)', () => {
    throwsCode(() => verify(actionlintBundle, [alter(publicGood, () => ({ tlogs: [] }))]), 'tlog_set_invalid');
    const expired = alter(publicGood, (m) => ({ tlogs: m.tlogs.map((t) => ({ ...t, validFor: { start: t.validFor.start, end: new Date('2026-01-01') } })) }));
    throwsCode(() => verify(actionlintBundle, [expired]), 'tlog_set_invalid');
    const noAlpha3 = alter(stagingRoot, (m) => ({ tlogs: m.tlogs.filter((t) => !t.baseURL.includes('alpha3')) }));
    throwsCode(() => verify(staging.bundle, [noAlpha3]), 'tlog_inclusion_proof_invalid');
  });

  it('CT log missing → certificate_sct_invalid', () => {
    throwsCode(() => verify(actionlintBundle, [alter(publicGood, () => ({ ctlogs: [] }))]), 'certificate_sct_invalid');
  });

  it('Fulcio CA not valid at the signing time → untrusted_certificate', () => {
    const retired = alter(publicGood, (m) => ({ certificateAuthorities: m.certificateAuthorities.map((c) => ({ ...c, validFor: { start: c.validFor.start, end: new Date('2026-01-01') } })) }));
    throwsCode(() => verify(actionlintBundle, [retired]), 'untrusted_certificate');
  });
});

describe('verifyBundle on hand-modified bundles', () => {
  const vm = (j: any) => j.verificationMaterial;
  const entry = (j: any) => j.verificationMaterial.tlogEntries[0];
  type Case = [name: string, code: string, edit: (j: any) => void];
  const common: Case[] = [
    ['payload byte', 'signature_invalid', (j) => (j.dsseEnvelope.payload = flipDecoded(j.dsseEnvelope.payload, 40))],
    ['payload type', 'signature_invalid', (j) => (j.dsseEnvelope.payloadType = 'application/vnd.in-toto+jsoN')],
    ['signature byte', 'signature_invalid', (j) => (j.dsseEnvelope.signatures[0].sig = flipDecoded(j.dsseEnvelope.signatures[0].sig, 20))],
    ['certificate text byte', 'untrusted_certificate', (j) => (vm(j).certificate.rawBytes = flipDecoded(vm(j).certificate.rawBytes, 60, 0x02))],
    ['inclusion proof hash', 'tlog_inclusion_proof_invalid', (j) => (entry(j).inclusionProof.hashes[0] = flipDecoded(entry(j).inclusionProof.hashes[0], 5))],
    ['inclusion proof root hash', 'tlog_inclusion_proof_invalid', (j) => (entry(j).inclusionProof.rootHash = flipDecoded(entry(j).inclusionProof.rootHash, 3))],
    ['inclusion proof tree size', 'tlog_inclusion_proof_invalid', (j) => (entry(j).inclusionProof.treeSize = String(BigInt(entry(j).inclusionProof.treeSize) + 1n))],
    ['checkpoint root line', 'tlog_inclusion_proof_invalid', (j) => (entry(j).inclusionProof.checkpoint = { envelope: editLine(entry(j).inclusionProof.checkpoint.envelope, 2, (l) => flipDecoded(l, 7)) })],
    ['checkpoint size line', 'tlog_inclusion_proof_invalid', (j) => (entry(j).inclusionProof.checkpoint = { envelope: editLine(entry(j).inclusionProof.checkpoint.envelope, 1, (l) => String(BigInt(l) + 1n)) })],
    ['checkpoint size not a number', 'tlog_checkpoint_invalid', (j) => (entry(j).inclusionProof.checkpoint = { envelope: editLine(entry(j).inclusionProof.checkpoint.envelope, 1, (l) => `A${l.slice(1)}`) })],
    ['checkpoint extra line', 'tlog_checkpoint_invalid', (j) => (entry(j).inclusionProof.checkpoint.envelope += 'not a signature line\n')],
    ['log kind', 'tlog_entry_mismatch', (j) => (entry(j).kindVersion.kind = 'intoto')],
    ['timestamp token signed byte', 'timestamp_invalid', (j) => (vm(j).timestampVerificationData.rfc3161Timestamps[0].signedTimestamp = flipDecoded(vm(j).timestampVerificationData.rfc3161Timestamps[0].signedTimestamp, 80))],
  ];

  it('public-good bundle: each change refused for its reason', () => {
    const cases: Case[] = [
      ...common,
      ['signed entry timestamp', 'tlog_set_invalid', (j) => (entry(j).inclusionPromise.signedEntryTimestamp = flipDecoded(entry(j).inclusionPromise.signedEntryTimestamp, 30))],
      ['integrated time', 'tlog_set_invalid', (j) => (entry(j).integratedTime = String(Number(entry(j).integratedTime) + 1))],
      ['integrated time beyond any date', 'tlog_set_invalid', (j) => (entry(j).integratedTime = '9999999999999999999')],
      ['log index', 'tlog_set_invalid', (j) => (entry(j).logIndex = String(Number(entry(j).logIndex) + 1))],
      ['log id', 'tlog_set_invalid', (j) => (entry(j).logId.keyId = flipDecoded(entry(j).logId.keyId, 0))],
      ['logged body byte', 'tlog_set_invalid', (j) => (entry(j).canonicalizedBody = flipDecoded(entry(j).canonicalizedBody, 100))],
      ['SET removed: logIndex and integratedTime unproven', 'tlog_entry_inconsistent', (j) => delete entry(j).inclusionPromise],
      ['no log entry', 'tlog_entry_missing', (j) => (vm(j).tlogEntries = [])],
      ['embedded TSA certificate serial', 'timestamp_invalid', (j) => {
        const t = vm(j).timestampVerificationData.rfc3161Timestamps[0];
        const der = Buffer.from(t.signedTimestamp, 'base64');
        const tsaLeaf = publicGood.material.timestampAuthorities.at(-1)!.certChain[0]!.root.toDER();
        const at = der.indexOf(tsaLeaf);
        assert.ok(at > 0, 'the token embeds the TSA certificate');
        der[at + 20] = der[at + 20]! ^ 0x01; // inside the serial number: still DER, no longer the trusted certificate
        t.signedTimestamp = der.toString('base64');
      }],
    ];
    for (const [name, code, edit] of cases) {
      const e = throwsCode(() => verify(editJson(actionlintBundle, edit), [publicGood]), code);
      assert.ok(e.detail.length > 0, name);
    }
  });

  it('staging Rekor v2 bundle: each change refused for its reason', () => {
    const cases: Case[] = [
      ...common,
      ['logged body byte', 'tlog_inclusion_proof_invalid', (j) => (entry(j).canonicalizedBody = flipDecoded(entry(j).canonicalizedBody, 100))],
      ['log index (no SET covers it)', 'tlog_entry_inconsistent', (j) => (entry(j).logIndex = String(Number(entry(j).logIndex) + 1))],
      ['integrated time without SET', 'tlog_entry_inconsistent', (j) => (entry(j).integratedTime = '1779781341')],
      ['log id (no SET covers it)', 'tlog_checkpoint_invalid', (j) => (entry(j).logId.keyId = flipDecoded(entry(j).logId.keyId, 10))],
      ['log’s own checkpoint signature', 'tlog_inclusion_proof_invalid', (j) => (entry(j).inclusionProof.checkpoint.envelope = entry(j).inclusionProof.checkpoint.envelope.replace('09OnDHOnDDQyk', '09OnDHOnDDQyA'))],
      ['no timestamp at all', 'timestamp_missing', (j) => delete vm(j).timestampVerificationData],
    ];
    for (const [name, code, edit] of cases) {
      const e = throwsCode(() => verify(editJson(staging.bundle, edit), [stagingRoot]), code);
      assert.ok(e.detail.length > 0, name);
    }
  });

  it('a v0.2 chain may repeat the trusted intermediate, nothing else', () => {
    const intermediate = publicGood.material.certificateAuthorities.at(-1)!.certChain[0]!.root.toDER().toString('base64');
    const asChain = (extra: string) =>
      editJson(actionlintBundle, (j) => {
        j.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.2';
        j.verificationMaterial.x509CertificateChain = { certificates: [j.verificationMaterial.certificate, { rawBytes: extra }] };
        delete j.verificationMaterial.certificate;
      });
    assert.equal(verify(asChain(intermediate), [publicGood]).trustRoot, 'public-good');
    const foreign = JSON.parse(staging.bundle.toString()).verificationMaterial.certificate.rawBytes;
    throwsCode(() => verify(asChain(foreign), [publicGood]), 'untrusted_certificate');
  });
});
