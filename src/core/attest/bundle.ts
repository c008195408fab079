import { createHash } from 'node:crypto';
import {
  assertBundleLatest,
  assertBundleV01,
  assertBundleV02,
  bundleFromJSON,
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
  type BundleWithDsseEnvelope,
} from '@sigstore/bundle';
import { unprocessable } from '../errors.ts';
import { readVerificationMaterial, type VerificationMaterialParts } from './bundle-material.ts';
import { assertBundleShape, malformed } from './bundle-shape.ts';

/** A bundle larger than this is refused before it is parsed; real CEP-27 bundles are ~10 KB. */
export const MAX_BUNDLE_BYTES = 1024 * 1024;
/** A `.v0.sigs` sidecar with more bundles than this is refused. */
export const MAX_SIDECAR_BUNDLES = 16;

export const BUNDLE_MEDIA_TYPES: readonly string[] = [
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  BUNDLE_V03_LEGACY_MEDIA_TYPE,
  BUNDLE_V03_MEDIA_TYPE,
];

/** A bundle whose structure has been checked; nothing in it is verified yet. */
export interface ParsedBundle extends VerificationMaterialParts {
  mediaType: string;
  bundle: BundleWithDsseEnvelope;
  /** sha256 (hex) of the bytes the bundle was read from (for a sidecar: of the whole sidecar) */
  sourceSha256: string;
}

export interface ParseOptions {
  maxBytes?: number;
}

/** Reads one bundle, or a JSON array holding exactly one (the `.v0.sigs` form). */
export function parseAttestation(bytes: Uint8Array, opts: ParseOptions = {}): ParsedBundle {
  const json = readJson(bytes, opts.maxBytes ?? MAX_BUNDLE_BYTES);
  const sha = sha256(bytes);
  if (Array.isArray(json)) {
    if (json.length !== 1) {
      throw unprocessable('attestation_count', `attestation: expected one bundle, got an array of ${json.length}`);
    }
    return parseBundleJson(json[0], sha, 'bundle[0]');
  }
  return parseBundleJson(json, sha, 'bundle');
}

/** Reads a `.v0.sigs` sidecar: a JSON array of bundles (prefix.dev's form). */
export function parseBundleSidecar(bytes: Uint8Array, opts: ParseOptions = {}): ParsedBundle[] {
  const json = readJson(bytes, opts.maxBytes ?? MAX_BUNDLE_BYTES * 4);
  if (!Array.isArray(json)) throw malformed('sidecar', 'a JSON array of bundles', typeof json);
  if (json.length === 0 || json.length > MAX_SIDECAR_BUNDLES) {
    throw unprocessable('attestation_count', `sidecar: expected 1..${MAX_SIDECAR_BUNDLES} bundles, got ${json.length}`);
  }
  const sha = sha256(bytes);
  return json.map((b, i) => parseBundleJson(b, sha, `bundle[${i}]`));
}

function readJson(bytes: Uint8Array, maxBytes: number): unknown {
  // Checked before decoding so an oversized upload costs nothing.
  if (bytes.byteLength > maxBytes) {
    throw unprocessable('attestation_too_large', `attestation: at most ${maxBytes} bytes allowed, got ${bytes.byteLength}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw malformed('attestation', 'UTF-8 text', 'invalid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw malformed('attestation', 'JSON', (e as Error).message);
  }
}

function parseBundleJson(json: unknown, sourceSha256: string, path: string): ParsedBundle {
  try {
    return parseBundleObject(json, sourceSha256, path);
  } catch (e) {
    if (e instanceof Error && e.name === 'ProvenaError') throw e;
    throw malformed(path, 'a readable Sigstore bundle', (e as Error)?.message ?? String(e));
  }
}

function parseBundleObject(json: unknown, sourceSha256: string, path: string): ParsedBundle {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed(path, 'a JSON object', describe(json));
  const mediaType = (json as Record<string, unknown>)['mediaType'];
  if (typeof mediaType !== 'string' || !BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    throw unprocessable(
      'attestation_media_type',
      `${path}.mediaType: expected one of ${BUNDLE_MEDIA_TYPES.join(', ')}, got ${JSON.stringify(mediaType ?? null)}`,
      { field: 'mediaType' },
    );
  }
  const record = json as Record<string, unknown>;
  if (record['dsseEnvelope'] === undefined) {
    const actual = record['messageSignature'] !== undefined ? 'a messageSignature' : 'no signed content';
    throw unprocessable('attestation_not_dsse', `${path}: expected a dsseEnvelope (CEP-27 attests an in-toto statement), got ${actual}`, {
      field: 'dsseEnvelope',
    });
  }
  assertBundleShape(json);
  const keyMaterial = record['verificationMaterial'] as Record<string, unknown>;
  const present = ['certificate', 'x509CertificateChain', 'publicKey'].filter((k) => keyMaterial[k] !== undefined);
  if (present.length !== 1 || record['messageSignature'] !== undefined) {
    throw malformed(`${path}.verificationMaterial`, 'exactly one of certificate, x509CertificateChain, publicKey and no messageSignature', present.join(', ') || 'none');
  }
  if (present[0] === 'publicKey') {
    // A bare key names no identity, so no Trusted Publisher could ever be matched against it.
    throw unprocessable('attestation_no_certificate', `${path}.verificationMaterial: expected a Fulcio certificate, got a public key hint`, {
      field: 'verificationMaterial.publicKey',
    });
  }
  const bundle = bundleFromJSON(json);
  try {
    if (mediaType === BUNDLE_V01_MEDIA_TYPE) assertBundleV01(bundle);
    else if (mediaType === BUNDLE_V02_MEDIA_TYPE) assertBundleV02(bundle);
    else assertBundleLatest(bundle);
  } catch (e) {
    const fields = (e as { fields?: string[] }).fields ?? [];
    throw malformed(`${path}.${fields[0] ?? ''}`, `a valid ${mediaType} bundle`, (e as Error).message);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw malformed(`${path}.dsseEnvelope`, 'a DSSE envelope', bundle.content.$case);
  const keyid = bundle.content.dsseEnvelope.signatures[0]?.keyid ?? '';
  if (keyid !== '') {
    // The keyid is not signed: a keyless bundle has no use for it and it could be changed freely.
    throw malformed(`${path}.dsseEnvelope.signatures[0].keyid`, 'absent or "" (keyless signing)', JSON.stringify(keyid));
  }
  const material = readVerificationMaterial(bundle as BundleWithDsseEnvelope, path);
  return { mediaType, bundle: bundle as BundleWithDsseEnvelope, ...material, sourceSha256 };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function describe(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v;
}
