import type { BundleWithDsseEnvelope } from '@sigstore/bundle';
import { type ASN1Obj, RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { malformed } from './bundle-shape.ts';
import { encodeDer } from './der.ts';
import { assertTimestampTokenShape } from './timestamp-token.ts';
import { parseCheckpoint } from './tlog-binding.ts';

export interface VerificationMaterialParts {
  /** the leaf (signing) certificate */
  certificate: X509Certificate;
  certificateDer: Buffer;
  /** further certificates a v0.1/v0.2 chain carried */
  chainDer: Buffer[];
  timestamps: RFC3161Timestamp[];
}

/**
 * Reads the binary parts of a bundle strictly, before any cryptography: @sigstore/verify reads them by
 * position and throws plain errors (or guesses) on odd input, so what it is handed must already have the
 * one shape each part is allowed: canonical DER, readable log bodies and checkpoints, a plain RFC 3161 token.
 */
export function readVerificationMaterial(bundle: BundleWithDsseEnvelope, path: string): VerificationMaterialParts {
  checkTlogEntryShapes(bundle, path);
  const ders = certificateDers(bundle);
  const certificate = parseDer(ders[0]!, `${path}.verificationMaterial.certificate`, (b) => X509Certificate.parse(b));
  checkSignatureAlgorithm(certificate, `${path}.verificationMaterial.certificate`);
  const timestamps = (bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).map((t, i) => {
    const at = `${path}.verificationMaterial.timestampVerificationData.rfc3161Timestamps[${i}]`;
    const ts = parseDer(Buffer.from(t.signedTimestamp), at, (b) => RFC3161Timestamp.parse(b));
    assertTimestampTokenShape(ts, at);
    return ts;
  });
  return { certificate, certificateDer: ders[0]!, chainDer: ders.slice(1), timestamps };
}

/**
 * RFC 5280 §4.1.1.2: the outer signatureAlgorithm must repeat the one inside the signed TBS. The outer copy
 * is unsigned, and an unknown one would make @sigstore/core verify with a default hash.
 */
function checkSignatureAlgorithm(cert: X509Certificate, path: string): void {
  const tbs = cert.tbsCertificate.subs;
  const inner = tbs[tbs[0]?.tag.isContextSpecific(0x00) ? 2 : 1];
  const outer = cert.root.subs[1];
  let known: boolean;
  try {
    known = cert.signatureAlgorithm !== undefined;
  } catch {
    known = false;
  }
  if (inner === undefined || outer === undefined || !known || !encodeDer(inner).equals(encodeDer(outer))) {
    throw malformed(`${path}.signatureAlgorithm`, 'a known algorithm equal to the signed one', 'another value');
  }
}

function certificateDers(bundle: BundleWithDsseEnvelope): Buffer[] {
  const c = bundle.verificationMaterial.content;
  if (c.$case === 'certificate') return [Buffer.from(c.certificate.rawBytes)];
  if (c.$case === 'x509CertificateChain') return c.x509CertificateChain.certificates.map((x) => Buffer.from(x.rawBytes));
  return [];
}

/** DER must parse and re-encode to exactly the bytes given: no trailing bytes, no second spelling. */
function parseDer<T extends { root: ASN1Obj }>(der: Buffer, path: string, parse: (b: Buffer<ArrayBuffer>) => T): T {
  try {
    const value = parse(Buffer.from(der));
    if (!encodeDer(value.root).equals(der)) throw new Error('not in canonical DER (trailing or re-encoded bytes)');
    return value;
  } catch (e) {
    throw malformed(path, 'DER', (e as Error).message);
  }
}

/** Every log entry's body is a JSON object and its checkpoint (if any) parses: checked before any verifier reads them. */
export function checkTlogEntryShapes(bundle: BundleWithDsseEnvelope, path: string): void {
  bundle.verificationMaterial.tlogEntries.forEach((entry, i) => {
    const at = `${path}.verificationMaterial.tlogEntries[${i}]`;
    try {
      const body: unknown = JSON.parse(entry.canonicalizedBody.toString('utf8'));
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    } catch (e) {
      throw malformed(`${at}.canonicalizedBody`, 'a JSON object', (e as Error).message);
    }
    const checkpoint = entry.inclusionProof?.checkpoint?.envelope;
    if (checkpoint !== undefined) parseCheckpoint(checkpoint, `${at}.inclusionProof.checkpoint`);
  });
}
