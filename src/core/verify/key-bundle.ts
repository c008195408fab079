import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  assertBundleLatest,
  assertBundleV01,
  assertBundleV02,
  bundleFromJSON,
  BUNDLE_V01_MEDIA_TYPE,
  BUNDLE_V02_MEDIA_TYPE,
  type BundleWithDsseEnvelope,
} from '@sigstore/bundle';
import { crypto, dsse } from '@sigstore/core';
import { toSignedEntity, VerificationError, Verifier } from '@sigstore/verify';
import { BUNDLE_MEDIA_TYPES } from '../attest/bundle.ts';
import { assertBundleShape, malformed } from '../attest/bundle-shape.ts';
import type { TlogRecord, VerifiedTimestamp } from '../attest/sigstore-verify.ts';
import type { SigstoreTrustRoot } from '../attest/trust-root.ts';
import { checkTlogEntryShapes } from '../attest/bundle-material.ts';
import { invalid, isProvenaError, unprocessable } from '../errors.ts';

/**
 * Bundles signed with a plain key (`cosign sign-blob --key`, `cosign attest-blob --key`, sigstore-js
 * with a key signer): `verificationMaterial.publicKey` holds only a hint, so the key comes from the
 * user (`provena verify --key PEM`). The same strictness as keyless bundles: the JSON shape, the DSSE
 * signature over the pre-authentication encoding, and each transparency-log entry (inclusion, SET,
 * and that it logs this signature by this key). A bundle without a log entry is accepted only when
 * the user says so (`requireTlog: false`, cosign's `--insecure-ignore-tlog`).
 */
export interface KeyVerifiedBundle {
  /** `sha256:<hex of the SPKI DER>`, how the key is named in reports */
  keyId: string;
  tlog: TlogRecord | null;
  timestamps: VerifiedTimestamp[];
  trustRoot: string | null;
  payloadType: string;
  payload: Buffer;
}

export function readPublicKey(pem: string, source: string): KeyObject {
  try {
    const key = createPublicKey(pem);
    if (key.type !== 'public') throw new Error('not a public key');
    return key;
  } catch (e) {
    throw invalid('key_invalid', `${source}: not a PEM public key (${(e as Error).message})`);
  }
}

export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

/** Reads one bundle object that may carry a public key hint (parseAttestation refuses those for uploads). */
export function parseKeyedBundle(json: unknown, path: string): BundleWithDsseEnvelope {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw malformed(path, 'a JSON object', Array.isArray(json) ? 'an array' : typeof json);
  const record = json as Record<string, unknown>;
  const mediaType = record.mediaType;
  if (typeof mediaType !== 'string' || !BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    throw unprocessable('attestation_media_type', `${path}.mediaType: expected one of ${BUNDLE_MEDIA_TYPES.join(', ')}, got ${JSON.stringify(mediaType ?? null)}`);
  }
  if (record.dsseEnvelope === undefined) throw unprocessable('attestation_not_dsse', `${path}: expected a dsseEnvelope (an in-toto statement), got none`);
  try {
    // proto3 JSON leaves out an empty hint (`"publicKey": {}`); the shape check wants the field
    assertBundleShape(withDefaultHint(record));
  } catch (e) {
    if (isProvenaError(e)) throw unprocessable(e.code, e.detail.replace(/^bundle/, path));
    throw e;
  }
  const material = record.verificationMaterial as Record<string, unknown>;
  const present = ['certificate', 'x509CertificateChain', 'publicKey'].filter((k) => material[k] !== undefined);
  if (present.length !== 1 || present[0] !== 'publicKey') {
    throw unprocessable('attestation_not_key_signed', `${path}.verificationMaterial: --key verifies key-signed bundles; this one carries ${present.join(', ') || 'no key material'} (verify it without --key, with identity flags)`);
  }
  const bundle = bundleFromJSON(json);
  try {
    if (mediaType === BUNDLE_V01_MEDIA_TYPE) assertBundleV01(bundle);
    else if (mediaType === BUNDLE_V02_MEDIA_TYPE) assertBundleV02(bundle);
    else assertBundleLatest(bundle);
  } catch (e) {
    throw malformed(path, `a valid ${mediaType} bundle`, (e as Error).message);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw malformed(`${path}.dsseEnvelope`, 'a DSSE envelope', bundle.content.$case);
  checkTlogEntryShapes(bundle as BundleWithDsseEnvelope, path);
  return bundle as BundleWithDsseEnvelope;
}

function withDefaultHint(record: Record<string, unknown>): unknown {
  const material = record.verificationMaterial as Record<string, unknown> | undefined;
  const publicKey = material?.publicKey;
  if (typeof publicKey !== 'object' || publicKey === null || Array.isArray(publicKey) || 'hint' in publicKey) return record;
  return { ...record, verificationMaterial: { ...material, publicKey: { ...publicKey, hint: '' } } };
}

export function verifyKeyedBundle(
  bundle: BundleWithDsseEnvelope,
  key: KeyObject,
  roots: readonly SigstoreTrustRoot[],
  opts: { requireTlog: boolean },
): KeyVerifiedBundle {
  const envelope = bundle.content.dsseEnvelope;
  const pae = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
  if (!crypto.verify(pae, key, envelope.signatures[0]!.sig)) {
    throw unprocessable('signature_invalid', 'dsseEnvelope.signatures[0].sig: does not verify over the payload with the given --key');
  }
  const entries = bundle.verificationMaterial.tlogEntries;
  const base = { keyId: keyFingerprint(key), payloadType: envelope.payloadType, payload: envelope.payload };
  if (entries.length === 0) {
    if (opts.requireTlog) {
      throw unprocessable('tlog_entry_missing', 'the bundle has no transparency log entry, so nothing proves when it was signed or that it is public; pass --insecure-ignore-tlog to accept the key signature alone');
    }
    return { ...base, tlog: null, timestamps: [], trustRoot: null };
  }
  if (roots.length === 0) throw invalid('trusted_root_missing', 'no trusted root to check the transparency log entries with');
  let firstError: unknown;
  for (const root of roots) {
    try {
      const verifier = new Verifier(
        { ...root.material, publicKey: () => ({ publicKey: key, validFor: () => true }) },
        { tlogThreshold: 1, ctlogThreshold: 0, timestampThreshold: 1 },
      );
      verifier.verify(toSignedEntity(bundle));
      entries.forEach((e, i) => checkBodyNamesKey(e.canonicalizedBody, key, `tlogEntries[${i}]`));
      const first = entries[0]!;
      const timestamps: VerifiedTimestamp[] = [];
      for (const e of entries) {
        if (e.inclusionPromise && e.integratedTime !== '0') timestamps.push({ source: 'transparency-log', time: new Date(Number(e.integratedTime) * 1000).toISOString() });
      }
      return {
        ...base,
        tlog: { logIndex: first.logIndex, integratedTime: first.inclusionPromise ? first.integratedTime : null, logId: first.logId.keyId.toString('base64') },
        timestamps,
        trustRoot: root.name,
      };
    } catch (e) {
      firstError ??= e;
    }
  }
  throw keyBundleError(firstError);
}

/** The logged entry must name this very key, not only carry the signature. */
function checkBodyNamesKey(body: Buffer, key: KeyObject, at: string): void {
  const spec = (JSON.parse(body.toString('utf8')) as { spec?: Record<string, any> }).spec ?? {};
  const named: unknown = spec.signatures?.[0]?.verifier ?? spec.signature?.publicKey?.content ?? spec.content?.envelope?.signatures?.[0]?.publicKey ?? spec.publicKey;
  let same = false;
  if (typeof named === 'string') {
    try {
      const logged = createPublicKey(Buffer.from(named, 'base64').toString('utf8'));
      same = logged.export({ type: 'spki', format: 'der' }).equals(key.export({ type: 'spki', format: 'der' }));
    } catch {
      same = false;
    }
  }
  if (!same) throw unprocessable('tlog_entry_mismatch', `${at}.canonicalizedBody: expected the given --key, got ${typeof named === 'string' ? 'another key' : 'no key'}`);
}

function keyBundleError(e: unknown) {
  if (isProvenaError(e)) return e;
  if (e instanceof VerificationError) {
    const code =
      e.code === 'TLOG_INCLUSION_PROOF_ERROR' ? 'tlog_inclusion_proof_invalid'
        : e.code === 'TLOG_INCLUSION_PROMISE_ERROR' ? 'tlog_set_invalid'
          : e.code === 'TLOG_BODY_ERROR' ? 'tlog_entry_mismatch'
            : e.code === 'TLOG_MISSING_INCLUSION_ERROR' ? 'tlog_inclusion_missing'
              : e.code === 'TIMESTAMP_ERROR' ? 'timestamp_invalid'
                : e.code === 'SIGNATURE_ERROR' ? 'signature_invalid'
                  : 'attestation_unverifiable';
    return unprocessable(code, e.message);
  }
  return unprocessable('attestation_unverifiable', `bundle could not be verified: ${(e as Error)?.message ?? String(e)}`);
}
