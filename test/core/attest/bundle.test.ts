import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BUNDLE_BYTES, parseAttestation, parseBundleSidecar } from '../../../src/core/attest/bundle.ts';
import { actionlint, actionlintBundle, editJson, staging, throwsCode } from './fixtures.ts';

describe('parseAttestation', () => {
  it('reads a v0.3 DSSE bundle and a one-bundle .v0.sigs array alike', () => {
    const single = parseAttestation(actionlintBundle);
    const sidecar = parseAttestation(actionlint.sidecar);
    assert.equal(single.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.equal(single.bundle.content.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
    assert.deepEqual(single.certificateDer, sidecar.certificateDer);
    assert.equal(single.timestamps.length, 1);
    assert.notEqual(single.sourceSha256, sidecar.sourceSha256, 'hash is of the bytes as given');
    assert.match(parseAttestation(staging.bundle).sourceSha256, /^[0-9a-f]{64}$/);
  });

  it('refuses a 10 MB attestation before reading it', () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0x20);
    const e = throwsCode(() => parseAttestation(big), 'attestation_too_large');
    assert.match(e.detail, /10485760/);
    // the size is checked before any decoding: bytes that are not even UTF-8 are refused for their size
    throwsCode(() => parseAttestation(Buffer.alloc(2 * 1024 * 1024, 0xff)), 'attestation_too_large');
    throwsCode(() => parseAttestation(Buffer.alloc(MAX_BUNDLE_BYTES + 1, 0x20)), 'attestation_too_large');
    throwsCode(() => parseAttestation(actionlintBundle, { maxBytes: 1000 }), 'attestation_too_large');
  });

  it('refuses bytes that are not UTF-8 JSON', () => {
    throwsCode(() => parseAttestation(Buffer.from('{"mediaType": ')), 'attestation_malformed');
    throwsCode(() => parseAttestation(Buffer.from([0x7b, 0xff, 0x7d])), 'attestation_malformed');
    throwsCode(() => parseAttestation(Buffer.from('"a string"')), 'attestation_malformed');
    throwsCode(() => parseAttestation(Buffer.from('null')), 'attestation_malformed');
  });

  it('accepts the v0.1–v0.3 media types only, by exact string', () => {
    for (const bad of ['application/vnd.dev.sigstore.bundle.v0.4+json', 'application/vnd.dev.sigstore.bundle.v0.3+json ', 'application/json', 7]) {
      const e = throwsCode(() => parseAttestation(editJson(actionlintBundle, (j) => (j.mediaType = bad))), 'attestation_media_type');
      assert.equal(e.extra?.['field'], 'mediaType');
    }
    throwsCode(() => parseAttestation(editJson(actionlintBundle, (j) => delete j.mediaType)), 'attestation_media_type');
    // The legacy spelling of v0.3 is a v0.3 bundle too.
    const legacy = editJson(actionlintBundle, (j) => (j.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.3'));
    assert.equal(parseAttestation(legacy).mediaType, 'application/vnd.dev.sigstore.bundle+json;version=0.3');
  });

  it('holds each media type to its version: v0.1 needs a SET, v0.3 a single certificate', () => {
    const v01 = editJson(staging.bundle, (j) => (j.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.1'));
    throwsCode(() => parseAttestation(v01), 'attestation_malformed');
    const chain = editJson(actionlintBundle, (j) => {
      j.verificationMaterial.x509CertificateChain = { certificates: [j.verificationMaterial.certificate] };
      delete j.verificationMaterial.certificate;
    });
    throwsCode(() => parseAttestation(chain), 'attestation_malformed');
    const v02 = editJson(chain, (j) => (j.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.2'));
    assert.equal(parseAttestation(v02).chainDer.length, 0);
  });

  it('reads proto3 defaults left out (index 0, no proof hashes) as such', () => {
    const omitted = editJson(staging.bundle, (j) => {
      const entry = j.verificationMaterial.tlogEntries[0];
      delete entry.logIndex;
      delete entry.inclusionProof.logIndex;
      delete entry.inclusionProof.hashes;
    });
    const parsed = parseAttestation(omitted);
    assert.equal(parsed.bundle.verificationMaterial.tlogEntries[0]!.logIndex, '0');
    assert.deepEqual(parsed.bundle.verificationMaterial.tlogEntries[0]!.inclusionProof?.hashes, []);
  });

  it('requires a DSSE envelope', () => {
    const message = editJson(actionlintBundle, (j) => {
      delete j.dsseEnvelope;
      j.messageSignature = { messageDigest: { algorithm: 'SHA2_256', digest: 'AAAA' }, signature: 'AAAA' };
    });
    throwsCode(() => parseAttestation(message), 'attestation_not_dsse');
    throwsCode(() => parseAttestation(editJson(actionlintBundle, (j) => delete j.dsseEnvelope)), 'attestation_not_dsse');
  });

  it('refuses a bundle signed by a bare key: no identity to match', () => {
    const keyed = editJson(actionlintBundle, (j) => {
      delete j.verificationMaterial.certificate;
      j.verificationMaterial.publicKey = { hint: 'abc' };
    });
    throwsCode(() => parseAttestation(keyed), 'attestation_no_certificate');
  });

  it('refuses what protobuf JSON would forgive', () => {
    const cases: [string, (j: any) => void][] = [
      ['unknown field', (j) => (j.verificationMaterial.tlogEntries[0].inclusionPromisf = {})],
      ['unknown top-level field', (j) => (j.extra = 1)],
      ['__proto__ key', (j) => Object.defineProperty(j, '__proto__', { value: 1, enumerable: true })],
      ['int64 as a number', (j) => (j.verificationMaterial.tlogEntries[0].logIndex = 1202156555)],
      ['int64 with a leading zero', (j) => (j.verificationMaterial.tlogEntries[0].integratedTime = '01774925911')],
      ['url-safe base64', (j) => (j.dsseEnvelope.signatures[0].sig = j.dsseEnvelope.signatures[0].sig.replace(/\+/g, '-'))],
      ['unpadded base64', (j) => (j.dsseEnvelope.signatures[0].sig = j.dsseEnvelope.signatures[0].sig.replace(/=+$/, ''))],
      ['non-zero padding bits', (j) => (j.dsseEnvelope.signatures[0].sig = j.dsseEnvelope.signatures[0].sig.replace(/A==$/, 'B=='))],
      ['stray character in base64', (j) => (j.dsseEnvelope.payload = `!${j.dsseEnvelope.payload}`)],
      ['two signatures', (j) => j.dsseEnvelope.signatures.push(j.dsseEnvelope.signatures[0])],
      ['no signature', (j) => (j.dsseEnvelope.signatures = [])],
      ['a DSSE keyid', (j) => (j.dsseEnvelope.signatures[0].keyid = 'k1')],
      ['two kinds of key material', (j) => (j.verificationMaterial.publicKey = { hint: 'x' })],
      ['log body that is not JSON', (j) => (j.verificationMaterial.tlogEntries[0].canonicalizedBody = Buffer.from('[1').toString('base64'))],
      ['certificate with a trailing byte', (j) => (j.verificationMaterial.certificate.rawBytes = Buffer.concat([Buffer.from(j.verificationMaterial.certificate.rawBytes, 'base64'), Buffer.from([0])]).toString('base64'))],
      ['certificate that is not DER', (j) => (j.verificationMaterial.certificate.rawBytes = 'AAAA')],
      ['missing verification material', (j) => delete j.verificationMaterial],
      ['missing log entry field', (j) => delete j.verificationMaterial.tlogEntries[0].kindVersion],
    ];
    for (const [name, edit] of cases) {
      assert.doesNotThrow(() => edit(JSON.parse(actionlintBundle.toString())), name);
      const e = throwsCode(() => parseAttestation(editJson(actionlintBundle, edit)), 'attestation_malformed');
      assert.ok(typeof e.extra?.['field'] === 'string', `${name}: names the field`);
    }
    assert.ok(actionlintBundle.toString().includes('A=="'), 'the padding case above really edits the signature');
  });

  it('refuses a malformed RFC 3161 token by its structure', () => {
    const edited = editJson(staging.bundle, (j) => {
      const t = j.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0];
      const der = Buffer.from(t.signedTimestamp, 'base64');
      der[8] = 0x02; // PKIStatus: granted (0) -> rejection (2)
      t.signedTimestamp = der.toString('base64');
    });
    const e = throwsCode(() => parseAttestation(edited), 'timestamp_invalid');
    assert.match(e.detail, /status: expected granted \(0\) or grantedWithMods \(1\), got 2/);
  });

  it('refuses BER where DER has one form: a constructed OCTET STRING around TSTInfo', () => {
    const edited = editJson(staging.bundle, (j) => {
      const t = j.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0];
      const der = Buffer.from(t.signedTimestamp, 'base64');
      assert.equal(der[69], 0x04, 'eContent OCTET STRING tag');
      der[69] = 0x24; // same content, constructed encoding: read alike by @sigstore/core
      t.signedTimestamp = der.toString('base64');
    });
    const e = throwsCode(() => parseAttestation(edited), 'timestamp_invalid');
    assert.match(e.detail, /eContent/);
  });

  it('refuses checkpoint signature lines that are not `— name base64`', () => {
    const envelope = (j: any) => j.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
    for (const change of [
      (text: string) => text.replace('\u2014 log2025-alpha3', '\u2014 log2025)alpha3'), // @sigstore/verify would compile this as a regex
      (text: string) => text.replace('\u2014 staging.witness', '- staging.witness'),
      (text: string) => `${text}\n`,
      (text: string) => text.replace(/\n$/, ''),
    ]) {
      const edited = editJson(staging.bundle, (j) => (envelope(j).envelope = change(envelope(j).envelope)));
      assert.notDeepEqual(edited, editJson(staging.bundle, () => {}), 'the edit changes something');
      throwsCode(() => parseAttestation(edited), 'tlog_checkpoint_invalid');
    }
  });

  it('wants exactly one bundle where one is expected', () => {
    throwsCode(() => parseAttestation(Buffer.from('[]')), 'attestation_count');
    throwsCode(() => parseAttestation(Buffer.from(`[${actionlintBundle},${actionlintBundle}]`)), 'attestation_count');
  });
});

describe('parseBundleSidecar', () => {
  it('reads every bundle of a .v0.sigs array', () => {
    assert.equal(parseBundleSidecar(actionlint.sidecar).length, 1);
    assert.equal(parseBundleSidecar(Buffer.from(`[${actionlintBundle},${staging.bundle}]`)).length, 2);
  });

  it('refuses an empty, oversized or non-array sidecar', () => {
    throwsCode(() => parseBundleSidecar(Buffer.from('[]')), 'attestation_count');
    throwsCode(() => parseBundleSidecar(Buffer.from(`[${Array(17).fill(actionlintBundle).join(',')}]`)), 'attestation_count');
    throwsCode(() => parseBundleSidecar(actionlintBundle), 'attestation_malformed');
  });
});
