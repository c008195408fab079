import type { KeyObject } from 'node:crypto';
import { parseAttestation, parseBundleSidecar, type ParsedBundle } from '../attest/bundle.ts';
import type { SignerIdentity } from '../attest/signer-identity.ts';
import { verifyBundle, type TlogRecord, type VerifiedTimestamp } from '../attest/sigstore-verify.ts';
import type { SigstoreTrustRoot } from '../attest/trust-root.ts';
import { isProvenaError, unprocessable, type ProvenaError } from '../errors.ts';
import { describeMismatch, matchIdentity, type IdentityRule } from '../policy/identity.ts';
import { parseKeyedBundle, verifyKeyedBundle } from './key-bundle.ts';
import { checkAttestedStatement, type ArtifactExpectation, type CheckedStatement } from './statement-check.ts';
import type { BundleWithDsseEnvelope } from '@sigstore/bundle';
import { createHash } from 'node:crypto';

/** Who must have signed: identities (keyless, Fulcio certificates) or one public key. */
export type SignerSpec =
  | { kind: 'identity'; rules: readonly IdentityRule[] }
  | { kind: 'key'; key: KeyObject; requireTlog: boolean };

/** The fate of one bundle. Every bundle gets one, so no bundle is skipped unsaid. */
export interface BundleReport {
  index: number;
  /**
   * verified: signature, statement and signer all hold; failed: a check failed (code, detail);
   * other_predicate: it verifies but attests something else (its predicate type in `predicateType`);
   * untrusted_signer: it verifies and is about this file, but no trusted identity signed it.
   */
  outcome: 'verified' | 'failed' | 'other_predicate' | 'untrusted_signer';
  code: string | null;
  detail: string | null;
  signer: SignerIdentity | null;
  keyId: string | null;
  predicateType: string | null;
  statement: CheckedStatement | null;
  tlog: TlogRecord | null;
  timestamps: VerifiedTimestamp[];
  trustRoot: string | null;
}

/** Reads a bundle file or sidecar: one bundle, or a JSON array of them (`.sigs`, `.v0.sigs`). */
export function readBundles(bytes: Uint8Array, signer: SignerSpec): Array<ParsedBundle | BundleWithDsseEnvelope> {
  if (signer.kind === 'identity') {
    const text = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
    return /^\s*\[/.test(text) ? parseBundleSidecar(bytes) : [parseAttestation(bytes)];
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw unprocessable('attestation_malformed', `bundle: expected JSON, got ${(e as Error).message}`);
  }
  const list = Array.isArray(json) ? json : [json];
  if (list.length === 0 || list.length > 16) throw unprocessable('attestation_count', `expected 1..16 bundles, got ${list.length}`);
  return list.map((b, i) => parseKeyedBundle(b, Array.isArray(json) ? `bundle[${i}]` : 'bundle'));
}

/**
 * Verifies each bundle completely and independently: Sigstore crypto (or the key), then the statement
 * against the artifact, then the signer against the identities. Synchronous: it is CPU work.
 */
export function checkBundles(
  bundles: ReadonlyArray<ParsedBundle | BundleWithDsseEnvelope>,
  expect: ArtifactExpectation,
  signer: SignerSpec,
  roots: readonly SigstoreTrustRoot[],
): BundleReport[] {
  return bundles.map((b, index) => checkOne(b, index, expect, signer, roots));
}

function checkOne(
  b: ParsedBundle | BundleWithDsseEnvelope,
  index: number,
  expect: ArtifactExpectation,
  spec: SignerSpec,
  roots: readonly SigstoreTrustRoot[],
): BundleReport {
  const report: BundleReport = {
    index, outcome: 'failed', code: null, detail: null, signer: null, keyId: null, predicateType: null, statement: null, tlog: null, timestamps: [], trustRoot: null,
  };
  let payloadType: string;
  let payload: Buffer;
  try {
    if (spec.kind === 'identity') {
      const v = verifyBundle(b as ParsedBundle, roots);
      Object.assign(report, { signer: v.signer, tlog: v.tlog, timestamps: v.timestamps, trustRoot: v.trustRoot });
      ({ payloadType, payload } = v);
    } else {
      const v = verifyKeyedBundle(b as BundleWithDsseEnvelope, spec.key, roots, { requireTlog: spec.requireTlog });
      Object.assign(report, { keyId: v.keyId, tlog: v.tlog, timestamps: v.timestamps, trustRoot: v.trustRoot });
      ({ payloadType, payload } = v);
    }
  } catch (e) {
    return fail(report, e);
  }
  try {
    report.statement = checkAttestedStatement(payloadType, payload, expect);
    report.predicateType = report.statement.predicateType;
  } catch (e) {
    if (isProvenaError(e) && e.code === 'predicate_type') {
      report.outcome = 'other_predicate';
      report.predicateType = String(e.extra?.actual ?? 'unknown');
      report.code = e.code;
      report.detail = e.detail;
      return report;
    }
    return fail(report, e);
  }
  if (spec.kind === 'identity') {
    const m = matchIdentity(report.signer!, spec.rules);
    if ('mismatch' in m) {
      report.outcome = 'untrusted_signer';
      report.code = 'signer_not_trusted';
      report.detail = m.mismatch === null ? 'no identity is trusted' : `signer is not trusted: ${describeMismatch(m.mismatch)}`;
      return report;
    }
  }
  report.outcome = 'verified';
  return report;
}

function fail(report: BundleReport, e: unknown): BundleReport {
  const err: ProvenaError = isProvenaError(e) ? e : unprocessable('attestation_unverifiable', String((e as Error)?.message ?? e));
  report.outcome = 'failed';
  report.code = err.code;
  report.detail = err.detail;
  return report;
}

/** One line naming who signed: the workflow run for CI identities, else the subject, else the key. */
export function describeSigner(r: Pick<BundleReport, 'signer' | 'keyId'>): string | null {
  if (r.keyId !== null) return `key ${r.keyId.slice(0, 19)}…`;
  const s = r.signer;
  if (s === null) return null;
  if (s.buildSignerUri !== null) return s.buildSignerUri.replace(/^https:\/\/(github\.com|gitlab\.com)\//, '');
  return s.subjectAlternativeName?.value ?? s.issuer ?? 'unknown';
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
