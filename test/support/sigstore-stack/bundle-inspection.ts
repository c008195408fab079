/**
 * Reading bundles the way tests need to: verify as production does (trusted_root.json → Verifier, default
 * thresholds), and look inside the certificate and the DSSE payload.
 */
import assert from 'node:assert/strict';
import { bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import type { Signer, VerificationPolicy } from '@sigstore/verify';
import type { SerializedTrustedRoot } from './trusted-root.ts';

export function verifyBundle(json: string, root: SerializedTrustedRoot, policy?: VerificationPolicy): Signer {
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(root)));
  return verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(json))), policy);
}

export function bundleCertificate(json: string): X509Certificate {
  const bundle = JSON.parse(json) as { verificationMaterial: { certificate: { rawBytes: string } } };
  return X509Certificate.parse(Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64'));
}

/** A Fulcio extension's text: .1.8 on are DER UTF8String, .1.1–.1.6 raw bytes. */
export function fulcioExtension(cert: X509Certificate, oid: string): string | undefined {
  const ext = cert.extension(oid);
  if (!ext) return undefined;
  const legacy = Number(oid.split('.').pop()) <= 6;
  // valueObj is the extnValue OCTET STRING parsed as DER; its one child is the UTF8String.
  return legacy ? ext.value.toString('utf8') : ext.valueObj.subs[0]?.value.toString('utf8');
}

/** The DSSE payload, parsed; asserts the in-toto payload type. */
export function bundlePayload(json: string): unknown {
  const bundle = JSON.parse(json) as { dsseEnvelope: { payload: string; payloadType: string } };
  assert.equal(bundle.dsseEnvelope.payloadType, 'application/vnd.in-toto+json');
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
}

/** Escapes a literal for an anchored SAN policy (@sigstore/verify reads the SAN as an unanchored regex). */
export function exactly(literal: string): string {
  return `^${literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`;
}
