import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ASN1Obj, X509Certificate } from '@sigstore/core';
import { parseAttestation } from '../../../src/core/attest/bundle.ts';
import { encodeDer } from '../../../src/core/attest/der.ts';
import { signedEntityOf, verifyBundle } from '../../../src/core/attest/sigstore-verify.ts';
import { toSignedEntity } from '@sigstore/verify';
import type { SigstoreTrustRoot } from '../../../src/core/attest/trust-root.ts';
import { seq } from './der.ts';
import { actionlintBundle, editJson, flipDecoded, staging, throwsCode, trustRoots } from './fixtures.ts';

const verify = (bytes: Uint8Array, roots: SigstoreTrustRoot[]) => verifyBundle(parseAttestation(bytes), roots);
const { publicGood, staging: stagingRoot } = trustRoots();

/** The certificate with another subjectPublicKeyInfo: same names, same key identifiers, another key. */
function withKey(cert: X509Certificate, spki: Buffer): X509Certificate {
  const tbs = cert.tbsCertificate.subs.map((s, i) => (i === (cert.tbsCertificate.subs[0]!.tag.isContextSpecific(0x00) ? 6 : 5) ? spki : s.toDER()));
  return X509Certificate.parse(Buffer.from(seq(seq(...tbs), cert.root.subs[1]!.toDER(), cert.root.subs[2]!.toDER())));
}

/**
 * Public-good's CAs, each holding staging's intermediate key instead of its own: a root whose Fulcio has the
 * leaf's issuer name and key identifier but whose signature is not on the leaf.
 */
function lookalikeRoot(): SigstoreTrustRoot {
  const otherKey = Buffer.from(stagingRoot.material.certificateAuthorities.at(-1)!.certChain[0]!.publicKey);
  const certificateAuthorities = publicGood.material.certificateAuthorities.map((ca) => ({ ...ca, certChain: ca.certChain.map((c) => withKey(c, otherKey)) }));
  return { name: 'lookalike', material: { ...publicGood.material, certificateAuthorities } };
}

describe('which root issued the signing certificate', () => {
  const lookalike = lookalikeRoot();

  it('the look-alike CA really has the leaf issuer’s name and key identifier', () => {
    const leaf = parseAttestation(actionlintBundle).certificate;
    const cas = lookalike.material.certificateAuthorities.flatMap((ca) => ca.certChain);
    assert.ok(cas.some((c) => c.subject.equals(leaf.issuer) && c.extSubjectKeyID?.keyIdentifier.equals(leaf.extAuthorityKeyID!.keyIdentifier!)));
    assert.ok(cas.every((c) => !leaf.verify(c)));
  });

  it('a CA with the right name and key identifier but another key did not issue it → untrusted_certificate', () => {
    const e = throwsCode(() => verify(actionlintBundle, [lookalike]), 'untrusted_certificate');
    assert.match(e.detail, /lookalike/);
  });

  it('the look-alike root is passed over for the root that did issue it', () => {
    assert.equal(verify(actionlintBundle, [lookalike, publicGood]).trustRoot, 'public-good');
    assert.equal(verify(actionlintBundle, [stagingRoot, lookalike, publicGood]).trustRoot, 'public-good');
  });

  it('with a look-alike root first, a failure is still named by the root that issued the certificate', () => {
    const payload = editJson(actionlintBundle, (j) => (j.dsseEnvelope.payload = flipDecoded(j.dsseEnvelope.payload, 40)));
    throwsCode(() => verify(payload, [lookalike, publicGood]), 'signature_invalid');
    const set = editJson(actionlintBundle, (j) => {
      const entry = j.verificationMaterial.tlogEntries[0];
      entry.inclusionPromise.signedEntryTimestamp = flipDecoded(entry.inclusionPromise.signedEntryTimestamp, 30);
    });
    throwsCode(() => verify(set, [lookalike, publicGood]), 'tlog_set_invalid');
    throwsCode(() => verify(set, [publicGood, lookalike]), 'tlog_set_invalid');
    // Found only by Provena's own checks after @sigstore/verify accepted the bundle for public-good.
    const tsaCopy = editJson(actionlintBundle, (j) => {
      const t = j.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0];
      const der = Buffer.from(t.signedTimestamp, 'base64');
      const at = der.indexOf(publicGood.material.timestampAuthorities.at(-1)!.certChain[0]!.root.toDER());
      der[at + 20] = der[at + 20]! ^ 0x01;
      t.signedTimestamp = der.toString('base64');
    });
    throwsCode(() => verify(tsaCopy, [lookalike, publicGood]), 'timestamp_invalid');
  });

  it('a bad signature on a certificate no trusted CA issued is reported as the certificate', () => {
    const both = editJson(staging.bundle, (j) => (j.dsseEnvelope.payload = flipDecoded(j.dsseEnvelope.payload, 40)));
    throwsCode(() => verify(both, [lookalike, publicGood]), 'untrusted_certificate');
  });
});

describe('signedEntityOf', () => {
  it('is what toSignedEntity makes of the bundle, with the certificate and timestamps parsed once', () => {
    for (const bytes of [actionlintBundle, staging.bundle]) {
      const parsed = parseAttestation(bytes);
      const ours = signedEntityOf(parsed);
      const theirs = toSignedEntity(parsed.bundle);
      assert.equal(ours.key.$case, 'certificate');
      assert.equal(theirs.key.$case, 'certificate');
      if (ours.key.$case === 'certificate' && theirs.key.$case === 'certificate') {
        assert.equal(ours.key.certificate, parsed.certificate);
        assert.deepEqual(ours.key.certificate.root.toDER(), theirs.key.certificate.root.toDER());
      }
      assert.equal(ours.tlogEntries, theirs.tlogEntries);
      assert.deepEqual(ours.signature, theirs.signature);
      assert.equal(ours.timestamps.length, theirs.timestamps.length);
      ours.timestamps.forEach((t, i) => {
        const u = theirs.timestamps[i]!;
        assert.equal(t.$case, u.$case);
        if (t.$case === 'transparency-log' && u.$case === 'transparency-log') assert.equal(t.tlogEntry, u.tlogEntry);
        if (t.$case === 'timestamp-authority' && u.$case === 'timestamp-authority') assert.deepEqual(t.timestamp.root.toDER(), u.timestamp.root.toDER());
      });
    }
  });
});

describe('encodeDer', () => {
  it('writes the same bytes as @sigstore/core toDER for every node of real certificates and timestamps', () => {
    const bundle = JSON.parse(actionlintBundle.toString('utf8'));
    const ders = [
      Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'),
      Buffer.from(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp, 'base64'),
      ...[publicGood, stagingRoot].flatMap((r) => r.material.certificateAuthorities.flatMap((ca) => ca.certChain.map((c) => c.root.toDER()))),
    ];
    let nodes = 0;
    const walk = (o: ASN1Obj) => {
      assert.deepEqual(encodeDer(o), o.toDER());
      nodes++;
      o.subs.forEach(walk);
    };
    for (const der of ders) {
      const root = ASN1Obj.parseBuffer(Buffer.from(der));
      assert.deepEqual(encodeDer(root), der);
      walk(root);
    }
    assert.ok(nodes > 500, `${nodes} nodes`);
  });

  it('uses the minimal length form at each boundary', () => {
    for (const n of [0, 1, 127, 128, 255, 256, 65535, 65536]) {
      const header = n < 128 ? [0x04, n] : n < 256 ? [0x04, 0x81, n] : n < 65536 ? [0x04, 0x82, n >> 8, n & 0xff] : [0x04, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
      const der = Buffer.concat([Buffer.from(header), Buffer.alloc(n, 0x5a)]);
      assert.deepEqual(encodeDer(ASN1Obj.parseBuffer(Buffer.from(der))), der, `length ${n}`);
    }
  });
});
