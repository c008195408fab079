import type { Severity } from '../policy/policy.ts';
import { describeSigner, type BundleReport } from './bundle-check.ts';

/**
 * verified: the policy holds; failed: a check failed (exit 1); warning: the policy turned a problem
 * into a warning (passes); ignored: the policy ignores it (e.g. no attestation, `missing = "ignore"`);
 * skipped: the policy skips the channel; error: it could not be checked (network, access; exit 3).
 */
export type Verdict = 'verified' | 'failed' | 'warning' | 'ignored' | 'skipped' | 'error';

export interface Judgement {
  verdict: Verdict;
  /** machine-readable reason when not plainly verified */
  code: string | null;
  /** one line: what failed and why (expected vs actual), or what was proven */
  reason: string;
  /** the trusted signer, when one signed */
  signer: string | null;
  notes: string[];
}

/**
 * What a set of bundles means for the artifact, in this order:
 * 1. a bundle that fails any check fails the artifact: everything served as this file's attestation
 *    must verify and be about this file (a broken or foreign bundle is a red flag, never ignored);
 * 2. bundles of another predicate type: `unknownPredicate` says error, warn or ignore;
 * 3. at least one bundle must be signed by a trusted identity; others signed by someone else are noted;
 * 4. no bundle of the expected type at all: `missing` says error, warn or ignore.
 */
export function judgeBundles(reports: readonly BundleReport[], opts: { unknownPredicate: Severity; missing: Severity }): Judgement {
  const notes: string[] = [];
  const failed = reports.find((r) => r.outcome === 'failed');
  if (failed !== undefined) {
    return { verdict: 'failed', code: failed.code, reason: `bundle ${failed.index + 1}: ${failed.code}: ${failed.detail}`, signer: null, notes };
  }
  let warned = false;
  for (const r of reports.filter((x) => x.outcome === 'other_predicate')) {
    if (opts.unknownPredicate === 'error') {
      return { verdict: 'failed', code: 'predicate_type', reason: `bundle ${r.index + 1}: predicate_type: ${r.detail} (policy: unknown_predicate = "error")`, signer: null, notes };
    }
    notes.push(`bundle ${r.index + 1} attests another predicate type (${r.predicateType}); not checked further (policy: unknown_predicate = "${opts.unknownPredicate}")`);
    if (opts.unknownPredicate === 'warn') warned = true;
  }
  const trusted = reports.filter((r) => r.outcome === 'verified');
  const untrusted = reports.filter((r) => r.outcome === 'untrusted_signer');
  if (trusted.length === 0) {
    if (untrusted.length > 0) {
      const u = untrusted[0]!;
      return { verdict: 'failed', code: 'signer_not_trusted', reason: `bundle ${u.index + 1} signed by ${describeSigner(u)}: ${u.detail}`, signer: null, notes };
    }
    const missing = missingJudgement(opts.missing, 'no attestation of the expected predicate type');
    return { ...missing, notes: [...notes, ...missing.notes] };
  }
  for (const u of untrusted) notes.push(`bundle ${u.index + 1} is also signed by ${describeSigner(u)}, not a trusted identity`);
  const first = trusted[0]!;
  const signer = describeSigner(first);
  const statement = first.statement!;
  const what: string[] = [];
  if (first.tlog !== null) what.push(`Rekor entry ${first.tlog.logIndex}`);
  if (statement.targetChannel !== null) what.push(`targetChannel ${statement.targetChannel}${statement.compared.channel ? '' : ' (not compared)'}`);
  else notes.push('the statement names no targetChannel');
  if (!statement.compared.name) notes.push(`subject name ${JSON.stringify(statement.subjectName)} not compared (only a digest was given)`);
  if (first.keyId === null) what.push(`issuer ${first.signer?.issuer ?? 'none'}`);
  return { verdict: warned ? 'warning' : 'verified', code: warned ? 'predicate_type' : null, reason: what.join(', '), signer, notes };
}

export function missingJudgement(missing: Severity, why: string): Judgement {
  if (missing === 'error') return { verdict: 'failed', code: 'attestation_missing', reason: `${why} (policy: missing = "error")`, signer: null, notes: [] };
  if (missing === 'warn') return { verdict: 'warning', code: 'attestation_missing', reason: `${why} (policy: missing = "warn")`, signer: null, notes: [] };
  return { verdict: 'ignored', code: 'attestation_missing', reason: `${why} (policy: missing = "ignore")`, signer: null, notes: [] };
}

/** Exit code of a run: 1 when anything failed, else 3 when anything could not be checked, else 0. */
export function exitCodeOf(verdicts: readonly Verdict[], alarms = 0): 0 | 1 | 3 {
  if (alarms > 0 || verdicts.includes('failed')) return 1;
  if (verdicts.includes('error')) return 3;
  return 0;
}
