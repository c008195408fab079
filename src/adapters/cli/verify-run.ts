import type { KeyObject } from 'node:crypto';
import type { SigstoreTrustRoot } from '../../core/attest/trust-root.ts';
import type { LockedPackage } from '../../core/lockfiles/locked-package.ts';
import { channelPolicyFor, type ChannelPolicy, type Policy, type Severity } from '../../core/policy/policy.ts';
import type { SignerSpec } from '../../core/verify/bundle-check.ts';
import { verifyChannelPackage, type PackageResult, type PackageToVerify } from '../../core/verify/channel-package.ts';
import type { LogSummary } from '../../core/verify/log-check.ts';
import type { Verdict } from '../../core/verify/verdict.ts';
import { ProgressBar } from './progress.ts';
import { LogTracker } from './verify-common.ts';
import { Http, HttpChannelReader } from './verify-http.ts';
import { SignedRepodata, type SignedRepodataOptions } from '../tuf/tuf-client.ts';

/**
 * The engine behind `verify URL`, `verify --channel` and `verify-env`: packages are checked in
 * parallel (at most `jobs` at a time; the crypto itself is synchronous, so it never runs twice at
 * once), each package once, each sidecar read and each bundle verified once; results come back in
 * input order. Memory holds the results, the sidecars in flight and the repodata shards of the
 * packages asked for.
 */
export interface RunOptions {
  roots: readonly SigstoreTrustRoot[];
  key?: { key: KeyObject; requireTlog: boolean };
  jobs: number;
  logState?: string;
  logKeys: string[];
  predicateType?: string;
  progress?: { label: string; stream: NodeJS.WriteStream };
  /** hash the package bytes themselves instead of trusting the lock file's digest */
  download?: boolean;
  /** signed repodata: trust store and pinned root */
  tuf?: SignedRepodataOptions;
}

export interface RunResult {
  results: PackageResult[];
  logs: LogSummary[];
  requests: number;
}

export type Target = LockedPackage;

export async function verifyPackages(targets: readonly Target[], policyFor: (t: Target) => ChannelPolicy | Decision, o: RunOptions): Promise<RunResult> {
  const http = new Http();
  const reader = new HttpChannelReader(http, new SignedRepodata(o.tuf));
  const logs = new LogTracker(http, { stateFile: o.logState, keys: o.logKeys });
  const signer = (p: ChannelPolicy): SignerSpec => (o.key ? { kind: 'key', ...o.key } : { kind: 'identity', rules: p.identities });
  const ctx = { reader, roots: o.roots, signer, log: logs.forChannel, predicateType: o.predicateType };
  const bar = o.progress ? new ProgressBar(o.progress.label, targets.length, 'items', o.progress.stream) : null;
  for (const t of targets) if (t.fetchChannelUrl !== null && t.subdir !== null) reader.expect(t.fetchChannelUrl, t.subdir, t.filename);

  const results: PackageResult[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      const t = targets[i]!;
      results[i] = { ...(await verifyTarget(t, policyFor(t), ctx, http, o.download === true)), platforms: t.platforms };
      bar?.tick(1);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs, targets.length)) }, worker));
  bar?.finish();
  return { results, logs: await logs.finish(), requests: http.requests };
}

/** A package no policy entry verifies: the policy's word for it, said in the report. */
export interface Decision {
  verdict: Verdict;
  code: string;
  reason: string;
}

async function verifyTarget(
  t: Target,
  policy: ChannelPolicy | Decision,
  ctx: Parameters<typeof verifyChannelPackage>[2],
  http: Http,
  download: boolean,
): Promise<PackageResult> {
  const base = { filename: t.filename, channelUrl: t.channelUrl, subdir: t.subdir, url: t.url, sha256: t.sha256, bundles: [], log: null, signer: null, notes: [] };
  if ('verdict' in policy) return { ...base, verdict: policy.verdict, code: policy.code, reason: policy.reason };
  if (policy.skip) return { ...base, verdict: 'skipped', code: 'policy_skip', reason: `policy skips ${policy.url} (${policy.where})` };
  let sha256 = t.sha256;
  let downloaded = false;
  if (download && t.url !== null) {
    try {
      const got = await http.hash(t.url);
      if (got === null) return { ...base, verdict: 'failed', code: 'package_missing', reason: `${t.url} is not served (404)` };
      if (t.sha256 !== null && t.sha256 !== got.sha256) {
        return { ...base, verdict: 'failed', code: 'sha256_mismatch', reason: `sha256: expected ${t.sha256}, the file served has ${got.sha256}` };
      }
      sha256 = got.sha256;
      downloaded = true;
    } catch (e) {
      const err = e as { code?: string; detail?: string; kind?: string };
      return { ...base, verdict: err.kind === 'unavailable' || err.kind === 'forbidden' ? 'error' : 'failed', code: err.code ?? 'download_failed', reason: err.detail ?? String(e) };
    }
  }
  const pkg: PackageToVerify = {
    filename: t.filename,
    channelUrl: t.channelUrl!,
    fetchChannelUrl: t.fetchChannelUrl!,
    subdir: t.subdir!,
    url: t.url!,
    sha256,
    md5: t.md5,
    downloaded,
  };
  return verifyChannelPackage(pkg, policy, ctx);
}

/** The policy entry for a lock file's package, or what the policy says about packages it does not cover. */
export function policyDecision(policy: Policy, t: Target): ChannelPolicy | Decision {
  if (t.channelUrl === null) {
    return severityDecision(policy.localPackages, 'local_package', `${t.local ?? 'no URL'}: not from a channel, so no attestation can be checked`, 'local_packages');
  }
  const c = channelPolicyFor(policy, t.channelUrl);
  if (c === null) return severityDecision(policy.unlistedChannels, 'channel_not_in_policy', `no policy entry covers ${t.channelUrl}`, 'unlisted_channels');
  return c;
}

function severityDecision(s: Severity, code: string, why: string, key: string): Decision {
  const verdict: Verdict = s === 'error' ? 'failed' : s === 'warn' ? 'warning' : 'ignored';
  return { verdict, code, reason: `${why} (policy: ${key} = "${s}")` };
}

export function countVerdicts(results: readonly PackageResult[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { verified: 0, failed: 0, warning: 0, ignored: 0, skipped: 0, error: 0 };
  for (const r of results) counts[r.verdict]++;
  return counts;
}
