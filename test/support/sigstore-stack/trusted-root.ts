/**
 * The stack's trusted_root.json: the same document Sigstore distributes through TUF, made from the keys and
 * certificates the stack generated, so verification code is configured exactly as in production
 * (`TrustedRoot.fromJSON(json)` → `toTrustMaterial`).
 */
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

export interface TimeWindow {
  /** RFC 3339 */
  start: string;
  end?: string;
}

export interface SerializedLog {
  baseUrl: string;
  hashAlgorithm: 'SHA2_256';
  publicKey: { rawBytes: string; keyDetails: 'PKIX_ECDSA_P256_SHA_256'; validFor: TimeWindow };
  logId: { keyId: string };
}

export interface SerializedAuthority {
  subject: { organization: string; commonName: string };
  uri: string;
  /** base64 DER, leaf (or signing certificate) first, trust anchor last */
  certChain: { certificates: { rawBytes: string }[] };
  validFor: TimeWindow;
}

/** The JSON form of protobuf-specs' TrustedRoot, as in trusted_root.json. */
export interface SerializedTrustedRoot {
  mediaType: string;
  tlogs: SerializedLog[];
  certificateAuthorities: SerializedAuthority[];
  ctlogs: SerializedLog[];
  timestampAuthorities: SerializedAuthority[];
}

export interface TrustedRootParts {
  fulcio: { url: string; rootCertificate: ArrayBufferView<ArrayBuffer> };
  ctlog: { url: string; publicKey: KeyObject };
  rekor: { url: string; publicKey: KeyObject };
  tsa: { url: string; signingCertificate: ArrayBufferView<ArrayBuffer>; rootCertificate: ArrayBufferView<ArrayBuffer> };
  /** Every authority's window; the stack uses its roots' notBefore and leaves the end open. */
  validFor: { start: Date; end?: Date };
}

export function buildTrustedRoot(parts: TrustedRootParts): SerializedTrustedRoot {
  const validFor: TimeWindow = {
    start: parts.validFor.start.toISOString(),
    ...(parts.validFor.end ? { end: parts.validFor.end.toISOString() } : {}),
  };
  const log = (url: string, key: KeyObject): SerializedLog => {
    const spki = key.export({ format: 'der', type: 'spki' });
    return {
      baseUrl: url,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: spki.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor },
      // RFC 6962 log id: SHA-256 of the DER SubjectPublicKeyInfo (what the mock puts in SETs and SCTs).
      logId: { keyId: createHash('sha256').update(spki).digest('base64') },
    };
  };
  const chain = (...certs: ArrayBufferView<ArrayBuffer>[]) => ({
    certificates: certs.map((der) => ({ rawBytes: derBytes(der).toString('base64') })),
  });
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [log(parts.rekor.url, parts.rekor.publicKey)],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: parts.fulcio.url,
      certChain: chain(parts.fulcio.rootCertificate),
      validFor,
    }],
    ctlogs: [log(parts.ctlog.url, parts.ctlog.publicKey)],
    timestampAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'tsa' },
      uri: parts.tsa.url,
      certChain: chain(parts.tsa.signingCertificate, parts.tsa.rootCertificate),
      validFor,
    }],
  };
}

/** The mock hands out DER as ArrayBufferView (Buffer or Uint8Array); view exactly its bytes. */
export function derBytes(view: ArrayBufferView<ArrayBuffer>): Buffer<ArrayBuffer> {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}
