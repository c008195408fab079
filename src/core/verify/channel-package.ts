import { CONDA_PUBLISH_PREDICATE_TYPE } from '../attest/statement.ts';
import type { SigstoreTrustRoot } from '../attest/trust-root.ts';
import { isProvenaError } from '../errors.ts';
import type { ChannelPolicy } from '../policy/policy.ts';
import { checkBundles, readBundles, sha256Hex, type BundleReport, type SignerSpec } from './bundle-check.ts';
import type { LogOutcome, ServerLog } from './log-check.ts';
import { judgeBundles, missingJudgement, type Judgement, type Verdict } from './verdict.ts';

/** The fields of a repodata record verification needs. */
export interface RecordView {
  sha256: string | null;
  md5: string | null;
  size: number | null;
  /** sha256 of the `.sigs` bytes (draft CEP); null when the record has none */
  attestationsSha256: string | null;
}

/** How a channel is read; the adapter does HTTP. Network failures throw a ProvenaError of kind `unavailable`. */
export interface ChannelReader {
  /** the record of FILE in the subdir's repodata, or null when the channel does not list it */
  record(fetchChannelUrl: string, subdir: string, filename: string): Promise<RecordView | null>;
  /** the bytes of `FILE.sigs` or `FILE.v0.sigs`, or null on 404 */
  sidecar(fetchChannelUrl: string, subdir: string, filename: string, suffix: '.sigs' | '.v0.sigs'): Promise<Uint8Array | null>;
}

export interface PackageToVerify {
  filename: string;
  /** the channel's identity URL (no credentials, no /t/TOKEN) */
  channelUrl: string;
  fetchChannelUrl: string;
  subdir: string;
  url: string;
  /** what the user pins (lock file) or measured (downloaded bytes) */
  sha256: string | null;
  md5: string | null;
  /** set when the package bytes were downloaded and hashed */
  downloaded?: boolean;
}

export interface PackageResult extends Judgement {
  filename: string;
  channelUrl: string | null;
  subdir: string | null;
  url: string | null;
  sha256: string | null;
  bundles: BundleReport[];
  log: LogOutcome | null;
  platforms?: string[];
}

export interface VerifyContext {
  reader: ChannelReader;
  roots: readonly SigstoreTrustRoot[];
  signer: (policy: ChannelPolicy) => SignerSpec;
  /** the server log for a channel, or null when logs are not checked */
  log: (fetchChannelUrl: string) => ServerLog | null;
  predicateType?: string;
}

/**
 * One package from a channel, every step a check with its own refusal:
 * 1. the channel's repodata must list the file, with the sha256 (and md5) the lock file pins;
 * 2. with `attestations_sha256` in the record, `FILE.sigs` (or `.v0.sigs`) must be served and hash to it;
 *    without, a `.v0.sigs` (prefix.dev) is still read, and said to be unbound;
 * 3. every bundle in it is verified (bundle-check.ts) against this file, this digest and this channel;
 * 4. the policy decides (verdict.ts); then, for an accepted package, the server's transparency log entry.
 */
export async function verifyChannelPackage(pkg: PackageToVerify, policy: ChannelPolicy, ctx: VerifyContext): Promise<PackageResult> {
  const base = { filename: pkg.filename, channelUrl: pkg.channelUrl, subdir: pkg.subdir, url: pkg.url, sha256: pkg.sha256, bundles: [] as BundleReport[], log: null };
  const done = (j: Judgement, extra: Partial<PackageResult> = {}): PackageResult => ({ ...base, ...j, ...extra });
  const failed = (code: string, reason: string, notes: string[] = []): PackageResult => done({ verdict: 'failed', code, reason, signer: null, notes });
  try {
    const record = await ctx.reader.record(pkg.fetchChannelUrl, pkg.subdir, pkg.filename);
    if (record === null) return failed('not_in_channel', `the repodata of ${pkg.channelUrl}/${pkg.subdir} has no record for ${pkg.filename}`);
    const what = pkg.downloaded ? 'the downloaded file' : 'the lock file';
    if (record.sha256 === null) return failed('record_sha256_missing', `the repodata record of ${pkg.filename} has no sha256, so nothing binds an attestation to the bytes`);
    if (pkg.sha256 !== null && record.sha256 !== pkg.sha256) {
      return failed('sha256_mismatch', `sha256: ${what} has ${pkg.sha256}, the channel's repodata record says ${record.sha256}`);
    }
    if (pkg.md5 !== null && record.md5 !== null && record.md5 !== pkg.md5) {
      return failed('md5_mismatch', `md5: ${what} has ${pkg.md5}, the channel's repodata record says ${record.md5}`);
    }
    if (pkg.md5 !== null && record.md5 === null && pkg.sha256 === null) {
      return failed('record_md5_missing', `the lock file pins only an md5 and the repodata record has none to compare it with`);
    }
    const sha256 = record.sha256;
    const notes: string[] = [];
    if (pkg.sha256 === null) notes.push(`the lock file pins ${pkg.md5 ? 'only an md5' : 'no digest'}; the sha256 attested is the repodata record's`);

    let sidecar: Uint8Array | null;
    const bound = record.attestationsSha256 !== null;
    if (bound) {
      sidecar = (await ctx.reader.sidecar(pkg.fetchChannelUrl, pkg.subdir, pkg.filename, '.sigs')) ?? (await ctx.reader.sidecar(pkg.fetchChannelUrl, pkg.subdir, pkg.filename, '.v0.sigs'));
      if (sidecar === null) return failed('sidecar_missing', `the repodata record lists attestations (attestations_sha256 ${record.attestationsSha256}) but ${pkg.filename}.sigs is not served`);
      const actual = sha256Hex(sidecar);
      if (actual !== record.attestationsSha256) {
        return failed('attestations_sha256_mismatch', `${pkg.filename}.sigs: expected sha256 ${record.attestationsSha256} (repodata attestations_sha256), got ${actual}`);
      }
    } else {
      sidecar = await ctx.reader.sidecar(pkg.fetchChannelUrl, pkg.subdir, pkg.filename, '.v0.sigs');
      if (sidecar !== null) notes.push('the sidecar is not bound by the repodata record (no attestations_sha256)');
    }
    if (sidecar === null) return done({ ...missingJudgement(policy.missing, 'no attestation: the repodata record lists none and no .v0.sigs is served'), notes });

    let bundles;
    try {
      bundles = readBundles(sidecar, ctx.signer(policy));
    } catch (e) {
      if (!isProvenaError(e)) throw e;
      return failed('sidecar_unreadable', `${pkg.filename}${bound ? '.sigs' : '.v0.sigs'} is not a readable list of Sigstore bundles: ${e.code}: ${e.detail}`, notes);
    }
    const reports = checkBundles(bundles, { sha256, filename: pkg.filename, channelUrl: pkg.channelUrl, predicateType: ctx.predicateType ?? CONDA_PUBLISH_PREDICATE_TYPE }, ctx.signer(policy), ctx.roots);
    const judged = judgeBundles(reports, { unknownPredicate: policy.unknownPredicate, missing: policy.missing });
    const result = done({ ...judged, notes: [...notes, ...judged.notes] }, { bundles: reports, sha256 });
    if (!acceptable(result.verdict) || judged.signer === null) return result;

    // the transparency log: the server committed, under its signature, to this very publish
    const log = policy.transparencyLog === 'ignore' ? null : ctx.log(pkg.fetchChannelUrl);
    if (log === null) {
      result.notes.push('transparency log not checked (policy: transparency_log = "ignore")');
      return result;
    }
    const outcome = await log.checkPackage({
      channel: channelName(pkg.channelUrl),
      fetchChannelUrl: pkg.fetchChannelUrl,
      subdir: pkg.subdir,
      filename: pkg.filename,
      sha256,
      attestationsSha256: sha256Hex(sidecar),
    });
    result.log = outcome;
    if (outcome.status === 'verified') result.reason += `, ${outcome.detail}`;
    else if (outcome.status === 'failed') return { ...result, verdict: 'failed', code: outcome.code, reason: `${outcome.code}: ${outcome.detail}` };
    else if (policy.transparencyLog === 'require') return { ...result, verdict: 'failed', code: outcome.code ?? 'log_not_served', reason: `${outcome.detail} (policy: transparency_log = "require")` };
    else result.notes.push(outcome.detail);
    return result;
  } catch (e) {
    if (isProvenaError(e) && (e.kind === 'unavailable' || e.kind === 'forbidden' || e.kind === 'unauthenticated')) {
      return done({ verdict: 'error', code: e.code, reason: e.detail, signer: null, notes: [] });
    }
    if (isProvenaError(e)) return failed(e.code, e.detail);
    throw e;
  }
}

function acceptable(v: Verdict): boolean {
  return v === 'verified' || v === 'warning';
}

/** `https://host/prefix/NAME` → `NAME`: how the server's log names the channel. */
export function channelName(channelUrl: string): string {
  return new URL(channelUrl).pathname.replace(/\/+$/, '').split('/').pop() ?? '';
}
