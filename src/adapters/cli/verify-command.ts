import type { KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { normalizeChannelUrl } from '../../core/attest/channel-url.ts';
import { CONDA_PUBLISH_PREDICATE_TYPE } from '../../core/attest/statement.ts';
import { isKnownSubdir } from '../../core/conda/platforms.ts';
import { comparePackagePreference } from '../../core/conda/version.ts';
import { isProvenaError } from '../../core/errors.ts';
import { locatePackage, type LockedPackage } from '../../core/lockfiles/locked-package.ts';
import { parseMatchSpec } from '../../core/repodata/match-spec.ts';
import { checkBundles, readBundles, type SignerSpec } from '../../core/verify/bundle-check.ts';
import type { PackageResult } from '../../core/verify/channel-package.ts';
import { readPublicKey } from '../../core/verify/key-bundle.ts';
import { exitCodeOf, judgeBundles } from '../../core/verify/verdict.ts';
import { flagsPolicy, type ChannelPolicy } from '../../core/policy/policy.ts';
import { CliError, usageError } from './cli-error.ts';
import { parse } from './run-cli.ts';
import {
  bundleJson,
  hasIdentityFlags,
  IDENTITY_OPTIONS,
  identityRuleFrom,
  LOG_OPTIONS,
  logLines,
  processIo,
  readPolicyFile,
  renderTable,
  resultJson,
  TRUST_OPTIONS,
  trustRootsFrom,
  type Io,
} from './verify-common.ts';
import { Http, HttpChannelReader } from './verify-http.ts';
import { SignedRepodata, type SignedRepodataOptions } from '../tuf/tuf-client.ts';
import { countVerdicts, policyDecision, verifyPackages, type Decision, type RunResult } from './verify-run.ts';
import { hashFile } from './file-digest.ts';

const VERIFY_OPTIONS = {
  ...TRUST_OPTIONS,
  ...IDENTITY_OPTIONS,
  ...LOG_OPTIONS,
  bundle: { type: 'string' },
  key: { type: 'string' },
  'insecure-ignore-tlog': { type: 'boolean' },
  channel: { type: 'string' },
  'predicate-type': { type: 'string' },
  policy: { type: 'string' },
  subdir: { type: 'string', multiple: true },
  all: { type: 'boolean' },
  'record-only': { type: 'boolean' },
  jobs: { type: 'string' },
} as const;

export const VERIFY_USAGE = `usage:
  provena verify FILE|sha256:HEX --bundle BUNDLE (IDENTITY | --key PEM [--insecure-ignore-tlog]) [--channel URL] [--predicate-type URI]
  provena verify URL/NAME/SUBDIR/FILE (IDENTITY | --policy FILE) [--record-only] [--log-state FILE] [--log-key KEY]
  provena verify --channel URL SPEC... (IDENTITY | --policy FILE) [--subdir SUBDIR]... [--all] [--log-state FILE]
IDENTITY: --certificate-identity(-regexp) X --certificate-oidc-issuer(-regexp) Y | --repo OWNER/NAME [--signer-workflow OWNER/NAME/.github/workflows/FILE] [--ref REF]
trust: [--trusted-root FILE]... [--staging]; output: [--json]; exit 0 verified, 1 failed, 2 usage, 3 network`;

type Values = ReturnType<typeof parseVerify>['values'];

function parseVerify(args: string[]) {
  return parse(args, VERIFY_OPTIONS, true);
}

/** `provena verify …`: one file with its bundle (offline), a package URL, or specs in a channel. */
export async function verifyCommand(args: string[], _env: NodeJS.ProcessEnv, io: Io = processIo): Promise<number> {
  const { values, positionals } = parseVerify(args);
  if (values.bundle !== undefined) {
    if (positionals.length !== 1) throw usageError(`give one FILE (or sha256:HEX) with --bundle\n${VERIFY_USAGE}`);
    return verifyFileWithBundle(positionals[0]!, values, io);
  }
  if (values.channel !== undefined) {
    if (positionals.length === 0) throw usageError(`give the package specs to verify in ${values.channel}\n${VERIFY_USAGE}`);
    return verifyChannelSpecs(values.channel, positionals, values, io);
  }
  if (positionals.length === 1 && /^https?:\/\//i.test(positionals[0]!)) return verifyUrl(positionals[0]!, values, io);
  throw usageError(VERIFY_USAGE);
}

// ---------------------------------------------------------------------------------------------
// verify FILE --bundle BUNDLE (offline)

async function verifyFileWithBundle(file: string, values: Values, io: Io): Promise<number> {
  const signer = signerFrom(values);
  if (values['log-state'] !== undefined || values.policy !== undefined) throw usageError('--log-state and --policy apply to packages in a channel, not to FILE --bundle');
  const roots = trustRootsFrom(values);
  let channelUrl: string | null = null;
  if (values.channel !== undefined) {
    try {
      channelUrl = normalizeChannelUrl(values.channel);
    } catch {
      throw usageError(`--channel: expected an http(s) channel URL, got ${JSON.stringify(values.channel)}`);
    }
  }
  const digest = /^sha256:([0-9a-fA-F]{64})$/.exec(file);
  const sha256 = digest ? digest[1]!.toLowerCase() : await hashFile(file);
  const filename = digest ? null : path.basename(file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(values.bundle!);
  } catch (e) {
    throw usageError(`cannot read the bundle ${values.bundle}: ${(e as Error).message}`);
  }
  const subject = filename ?? `sha256:${sha256}`;
  let reports;
  try {
    reports = checkBundles(readBundles(bytes, signer), { sha256, filename, channelUrl, predicateType: values['predicate-type'] ?? CONDA_PUBLISH_PREDICATE_TYPE }, signer, roots);
  } catch (e) {
    if (!isProvenaError(e)) throw e;
    const reason = `${values.bundle} is not a readable Sigstore bundle: ${e.code}: ${e.detail}`;
    if (values.json) io.out(JSON.stringify({ ok: false, subject, sha256, verdict: 'failed', code: e.code, reason, bundles: [] }));
    else io.err(`FAILED ${subject}: ${reason}`);
    return 1;
  }
  const judged = judgeBundles(reports, { unknownPredicate: 'error', missing: 'error' });
  const ok = judged.verdict === 'verified';
  if (values.json) {
    io.out(JSON.stringify({ ok, subject, sha256, verdict: judged.verdict, code: judged.code, reason: judged.reason, signer: judged.signer, notes: judged.notes, bundles: reports.map(bundleJson) }));
  } else if (ok) {
    io.out(`verified ${subject}${filename === null ? '' : ` (sha256:${sha256})`}: signed by ${judged.signer}; ${judged.reason}`);
    for (const r of reports) {
      if (r.outcome !== 'verified') continue;
      const s = r.signer;
      if (s !== null) {
        io.out(`  bundle ${r.index + 1}: issuer ${s.issuer ?? 'none'}, subject ${s.subjectAlternativeName?.value ?? 'none'}`);
        if (s.sourceRepositoryUri) io.out(`    repository ${s.sourceRepositoryUri} ref ${s.sourceRepositoryRef ?? '-'} commit ${s.sourceRepositoryDigest ?? '-'} trigger ${s.buildTrigger ?? '-'}`);
      } else {
        io.out(`  bundle ${r.index + 1}: signed by ${r.keyId}`);
      }
      const times = r.timestamps.map((t) => `${t.time} (${t.source})`).join(', ');
      io.out(`    ${r.statement!.predicateType}${r.tlog ? `, Rekor log index ${r.tlog.logIndex}` : ', no transparency log entry'}${times ? `, signed ${times}` : ''}, trusted root ${r.trustRoot ?? '-'}`);
    }
    for (const n of judged.notes) io.out(`  note: ${n}`);
  } else {
    io.err(`FAILED ${subject}: ${judged.reason}`);
    for (const n of judged.notes) io.err(`  note: ${n}`);
  }
  return ok ? 0 : 1;
}

function signerFrom(values: Values): SignerSpec {
  if (values.key !== undefined) {
    if (hasIdentityFlags(values)) throw usageError('--key verifies a key-signed bundle; identity flags apply to keyless (certificate) bundles: give one or the other');
    let pem: string;
    try {
      pem = fs.readFileSync(values.key, 'utf8');
    } catch (e) {
      throw usageError(`cannot read the key ${values.key}: ${(e as Error).message}`);
    }
    let key: KeyObject;
    try {
      key = readPublicKey(pem, values.key);
    } catch (e) {
      if (isProvenaError(e)) throw usageError(e.detail);
      throw e;
    }
    return { kind: 'key', key, requireTlog: values['insecure-ignore-tlog'] !== true };
  }
  if (values['insecure-ignore-tlog']) throw usageError('--insecure-ignore-tlog only applies with --key (keyless bundles always need their log entry or timestamp)');
  return { kind: 'identity', rules: [identityRuleFrom(values)] };
}


// ---------------------------------------------------------------------------------------------
// verify URL and verify --channel URL SPEC...

/** The policy for channel modes: a policy file, or one entry made from the identity flags (or --key). */
function channelPolicyFrom(values: Values, channelUrl: string): (url: string) => ChannelPolicy | Decision {
  if (values.policy !== undefined) {
    if (hasIdentityFlags(values)) throw usageError('give identity flags or --policy, not both');
    const policy = readPolicyFile(values.policy);
    return (url) => policyDecision(policy, { channelUrl: url, local: null } as LockedPackage);
  }
  const rules = values.key !== undefined ? [] : [identityRuleFrom(values)];
  const entry = flagsPolicy(channelUrl, rules);
  return () => entry;
}

async function verifyUrl(url: string, values: Values, io: Io): Promise<number> {
  let target: LockedPackage;
  try {
    target = { ...locatePackage(url, 'URL'), sha256: null, md5: null, platforms: [] };
  } catch (e) {
    if (isProvenaError(e)) throw usageError(`${e.detail}; expected CHANNEL_URL/SUBDIR/FILE.conda`);
    throw e;
  }
  const entry = channelPolicyFrom(values, target.channelUrl!);
  const run = await verifyPackages([target], (t) => entry(t.channelUrl!), runOptions(values, { download: values['record-only'] !== true }));
  return report(run, values, io);
}

async function verifyChannelSpecs(channel: string, specs: string[], values: Values, io: Io): Promise<number> {
  let channelUrl: string;
  try {
    channelUrl = normalizeChannelUrl(channel);
  } catch {
    throw usageError(`--channel: expected an http(s) channel URL, got ${JSON.stringify(channel)}`);
  }
  const fetchUrl = channel.replace(/\/+$/, '');
  const entry = channelPolicyFrom(values, channelUrl);
  const subdirs = values.subdir ?? ['noarch', nativeSubdir()];
  for (const s of subdirs) if (!isKnownSubdir(s)) throw usageError(`--subdir: ${JSON.stringify(s)} is not a conda subdir`);
  const reader = new HttpChannelReader(new Http(), new SignedRepodata(tufOptions(values)));
  const targets: LockedPackage[] = [];
  const notFound: PackageResult[] = [];
  for (const spec of specs) {
    let found: LockedPackage[];
    try {
      found = await resolveSpec(reader, fetchUrl, channelUrl, spec, subdirs, values.all === true);
    } catch (e) {
      if (!isProvenaError(e)) throw e;
      if (e.kind === 'invalid') throw usageError(`${spec}: ${e.detail}`);
      if (e.kind === 'unavailable') throw new CliError(e.detail, 3);
      throw new CliError(`${e.code}: ${e.detail}`, 1);
    }
    if (found.length === 0) {
      notFound.push({ filename: spec, channelUrl, subdir: null, url: null, sha256: null, bundles: [], log: null, verdict: 'failed', code: 'not_in_channel', reason: `no package in ${channelUrl} (${subdirs.join(', ')}) matches ${JSON.stringify(spec)}`, signer: null, notes: [] });
    }
    targets.push(...found);
  }
  const run = await verifyPackages(targets, (t) => entry(t.channelUrl!), runOptions(values, { download: false }));
  run.results.push(...notFound);
  return report(run, values, io, { channel: channelUrl, specs });
}

/** The records a spec names: a filename exactly, or a match spec's newest record per subdir (every one with --all). */
async function resolveSpec(reader: HttpChannelReader, fetchUrl: string, channelUrl: string, spec: string, subdirs: string[], all: boolean): Promise<LockedPackage[]> {
  const toTarget = (subdir: string, filename: string, sha256: string | null): LockedPackage => ({
    filename, url: `${fetchUrl}/${subdir}/${filename}`, local: null, channelUrl, fetchChannelUrl: fetchUrl, subdir, sha256, md5: null, platforms: [subdir],
  });
  if (/\.(conda|tar\.bz2)$/.test(spec) && !/[\s=<>*]/.test(spec)) {
    const out: LockedPackage[] = [];
    for (const subdir of subdirs) if ((await reader.record(fetchUrl, subdir, spec)) !== null) out.push(toTarget(subdir, spec, null));
    return out;
  }
  const match = parseMatchSpec(spec);
  const out: LockedPackage[] = [];
  for (const subdir of subdirs) {
    const records = (await reader.recordsByName(fetchUrl, subdir, match.name)).filter((r) => match.matches({ ...r }));
    records.sort(comparePackagePreference);
    for (const r of all ? records : records.slice(-1)) out.push(toTarget(subdir, r.filename, null));
  }
  return out;
}

function nativeSubdir(): string {
  const os = process.platform === 'darwin' ? 'osx' : process.platform === 'win32' ? 'win' : 'linux';
  const arch = process.arch === 'x64' ? '64' : process.arch === 'arm64' ? (os === 'linux' ? 'aarch64' : 'arm64') : process.arch;
  return `${os}-${arch}`;
}

export function runOptions(values: Values | Record<string, unknown>, extra: { download: boolean }) {
  const v = values as Values;
  let key: { key: KeyObject; requireTlog: boolean } | undefined;
  if (v.key !== undefined) {
    const spec = signerFrom(v);
    if (spec.kind === 'key') key = { key: spec.key, requireTlog: spec.requireTlog };
  }
  let jobs = 8;
  if (v.jobs !== undefined) {
    jobs = Number(v.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw usageError('--jobs takes a whole number from 1 to 64');
  }
  return {
    roots: trustRootsFrom(v),
    key,
    jobs,
    logState: v['log-state'],
    logKeys: (v['log-key'] ?? []).map(readKeyText),
    predicateType: v['predicate-type'],
    download: extra.download,
    tuf: tufOptions(v),
  };
}

/** `--trust-store DIR` (pinned channel roots) and `--channel-root FILE` (a root to trust instead). */
function tufOptions(v: { 'trust-store'?: string; 'channel-root'?: string }): SignedRepodataOptions {
  if (v['channel-root'] !== undefined && !fs.existsSync(v['channel-root'])) throw usageError(`--channel-root: no file ${v['channel-root']}`);
  return { trustStore: v['trust-store'], root: v['channel-root'] };
}

/** `--log-key` takes the verifier key text (NAME+ID+BASE64) or a file holding it. */
function readKeyText(value: string): string {
  return fs.existsSync(value) ? fs.readFileSync(value, 'utf8').trim() : value.trim();
}

/** Results as a table (or one block for one package), or JSON; the exit code from the verdicts. */
export function report(run: RunResult, values: { json?: boolean }, io: Io, extra: Record<string, unknown> = {}): number {
  const alarms = run.logs.filter((l) => l.status === 'alarm').length;
  const logErrors = run.logs.filter((l) => l.status === 'error').length;
  const verdicts = run.results.map((r) => r.verdict);
  let code = exitCodeOf(verdicts, alarms);
  if (code === 0 && logErrors > 0) code = 3;
  const counts = countVerdicts(run.results);
  if (values.json) {
    io.out(JSON.stringify({ ok: code === 0, ...extra, summary: counts, packages: run.results.map(resultJson), logs: run.logs }));
    return code;
  }
  if (run.results.length === 1 && Object.keys(extra).length === 0) {
    const r = run.results[0]!;
    const line = `${r.verdict === 'verified' ? 'verified' : r.verdict.toUpperCase()} ${r.channelUrl ? `${r.channelUrl}/${r.subdir}/` : ''}${r.filename}: ${r.signer ? `signed by ${r.signer}; ` : ''}${r.reason}`;
    (r.verdict === 'failed' || r.verdict === 'error' ? io.err : io.out)(line);
    for (const n of r.notes) io.out(`  note: ${n}`);
  } else {
    for (const l of renderTable(run.results)) io.out(l);
    io.out(summaryLine(counts, run.results.length));
  }
  for (const l of logLines(run.logs)) (l.includes('ALARM') ? io.err : io.out)(l);
  return code;
}

function summaryLine(counts: Record<string, number>, total: number): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([v, n]) => `${n} ${v}`);
  return `${total} package${total === 1 ? '' : 's'}: ${parts.join(', ') || 'none'}`;
}
