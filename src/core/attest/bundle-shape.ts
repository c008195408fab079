import { unprocessable } from '../errors.ts';

/**
 * Strict shape of a Sigstore bundle (v0.1–v0.3) as JSON. Protobuf-JSON readers forgive a lot: unknown
 * keys are dropped, base64 with stray characters or non-zero padding bits decodes to the same bytes,
 * numbers may be strings or not. Each forgiveness lets different bytes mean the same bundle, so a bundle
 * could be altered without any check noticing. Provena accepts one spelling only: every key known, every
 * byte field canonical base64, every int64 a canonical decimal string.
 */
type Shape =
  | 'string'
  | 'bytes'
  | 'int64'
  | { readonly object: Readonly<Record<string, readonly [Shape, 'required' | 'optional']>> }
  | { readonly array: Shape; readonly min: number; readonly max: number };

const obj = (fields: Record<string, readonly [Shape, 'required' | 'optional']>): Shape => ({ object: fields });
const arr = (of: Shape, min: number, max: number): Shape => ({ array: of, min, max });
const req = (s: Shape) => [s, 'required'] as const;
const opt = (s: Shape) => [s, 'optional'] as const;

// Bounds keep a hostile bundle from costing more than a real one; real ones hold 1 entry, 1 signature.
// Proto3 JSON leaves out fields at their default (int64 0, empty lists), so those may be absent.
const TLOG_ENTRY = obj({
  logIndex: opt('int64'),
  logId: req(obj({ keyId: req('bytes') })),
  kindVersion: req(obj({ kind: req('string'), version: req('string') })),
  integratedTime: opt('int64'),
  inclusionPromise: opt(obj({ signedEntryTimestamp: req('bytes') })),
  inclusionProof: opt(
    obj({
      logIndex: opt('int64'),
      rootHash: req('bytes'),
      treeSize: req('int64'),
      hashes: opt(arr('bytes', 0, 64)),
      checkpoint: req(obj({ envelope: req('string') })),
    }),
  ),
  canonicalizedBody: req('bytes'),
});

const CERTIFICATE = obj({ rawBytes: req('bytes') });

const BUNDLE = obj({
  mediaType: req('string'),
  verificationMaterial: req(
    obj({
      certificate: opt(CERTIFICATE),
      x509CertificateChain: opt(obj({ certificates: req(arr(CERTIFICATE, 1, 10)) })),
      publicKey: opt(obj({ hint: req('string') })),
      tlogEntries: opt(arr(TLOG_ENTRY, 0, 8)),
      timestampVerificationData: opt(obj({ rfc3161Timestamps: opt(arr(obj({ signedTimestamp: req('bytes') }), 0, 8)) })),
    }),
  ),
  dsseEnvelope: opt(
    obj({
      payload: req('bytes'),
      payloadType: req('string'),
      signatures: req(arr(obj({ sig: req('bytes'), keyid: opt('string') }), 1, 1)),
    }),
  ),
  messageSignature: opt(obj({ messageDigest: opt(obj({ algorithm: req('string'), digest: req('bytes') })), signature: req('bytes') })),
});

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const CANONICAL_INT64 = /^(?:0|[1-9][0-9]{0,18})$/;

/** Throws `attestation_malformed` naming the JSON path of the first field that is not in canonical form. */
export function assertBundleShape(json: unknown): void {
  check(BUNDLE, json, 'bundle');
}

/** Decodes canonical base64 only: one string per byte sequence. */
export function decodeCanonicalBase64(s: string, path: string): Buffer {
  const bytes = Buffer.from(s, 'base64');
  if (!CANONICAL_BASE64.test(s) || bytes.toString('base64') !== s) {
    throw malformed(path, 'canonical standard base64 (A-Z a-z 0-9 + /, "=" padding, zero padding bits)', abbreviate(s));
  }
  return bytes;
}

function check(shape: Shape, v: unknown, path: string): void {
  if (shape === 'string') {
    if (typeof v !== 'string') throw malformed(path, 'a string', describe(v));
  } else if (shape === 'bytes') {
    if (typeof v !== 'string') throw malformed(path, 'a base64 string', describe(v));
    if (v.length === 0) throw malformed(path, 'non-empty base64', '""');
    decodeCanonicalBase64(v, path);
  } else if (shape === 'int64') {
    if (typeof v !== 'string' || !CANONICAL_INT64.test(v)) throw malformed(path, 'a decimal string without leading zeros', describe(v));
  } else if ('array' in shape) {
    if (!Array.isArray(v)) throw malformed(path, 'an array', describe(v));
    if (v.length < shape.min || v.length > shape.max) throw malformed(path, `${shape.min}..${shape.max} items`, `${v.length}`);
    v.forEach((item, i) => check(shape.array, item, `${path}[${i}]`));
  } else {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(path, 'an object', describe(v));
    const record = v as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!Object.hasOwn(shape.object, key)) throw malformed(`${path}.${key}`, 'no such field (unknown fields are refused)', 'present');
    }
    for (const [key, [sub, presence]] of Object.entries(shape.object)) {
      if (record[key] === undefined) {
        if (presence === 'required') throw malformed(`${path}.${key}`, 'present', 'missing');
        continue;
      }
      check(sub, record[key], `${path}.${key}`);
    }
  }
}

export function malformed(path: string, expected: string, actual: string) {
  return unprocessable('attestation_malformed', `${path}: expected ${expected}, got ${actual}`, { field: path });
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(abbreviate(v));
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : typeof v;
}

function abbreviate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
