import * as fs from 'node:fs';
import type { SigstoreTrustRoot } from '../../core/attest/trust-root.ts';
import { isProvenaError, type ProvenaError } from '../../core/errors.ts';
import { ruleFromFlags, type IdentityRule } from '../../core/policy/identity.ts';
import { parsePolicyText, type Policy } from '../../core/policy/policy.ts';
import { describeSigner, type BundleReport } from '../../core/verify/bundle-check.ts';
import type { PackageResult } from '../../core/verify/channel-package.ts';
import { ServerLog, type LogMemory, type LogSummary } from '../../core/verify/log-check.ts';
import { loadTrustRoots, type TrustRootSource } from '../sigstore/trusted-roots.ts';
import { CliError, usageError } from './cli-error.ts';
import { Http, HttpLogSource, redact, serverOf } from './verify-http.ts';
import { writeFileDurably } from '../files/durable-file.ts';

/** Options every verify command takes. */
export const TRUST_OPTIONS = {
  'trusted-root': { type: 'string', multiple: true },
  // signed repodata (TUF): where channel roots are pinned, or a root to trust
  'trust-store': { type: 'string' },
  'channel-root': { type: 'string' },
  staging: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

export const IDENTITY_OPTIONS = {
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
  repo: { type: 'string' },
  'signer-workflow': { type: 'string' },
  ref: { type: 'string' },
} as const;

export const LOG_OPTIONS = {
  'log-state': { type: 'string' },
  'log-key': { type: 'string', multiple: true },
} as const;

export { processIo, type Io } from './cli-io.ts';

/**
 * The trusted roots: `--trusted-root FILE` (or the words `public-good`, `staging`; repeatable),
 * `--staging` for Sigstore's staging instance, otherwise the public-good root embedded in the package.
 * Never fetched: verification works offline.
 */
export function trustRootsFrom(values: { 'trusted-root'?: string[]; staging?: boolean }): SigstoreTrustRoot[] {
  const sources: TrustRootSource[] = (values['trusted-root'] ?? []).map((e) =>
    e === 'public-good' ? { kind: 'public-good' } : e === 'staging' ? { kind: 'staging' } : { kind: 'file', path: e },
  );
  if (values.staging) sources.push({ kind: 'staging' });
  try {
    return loadTrustRoots(sources.length > 0 ? sources : undefined);
  } catch (e) {
    if (isProvenaError(e)) throw usageError(`${e.detail} (--trusted-root)`);
    throw e;
  }
}

export type IdentityValues = { [K in keyof typeof IDENTITY_OPTIONS]?: string };

export function hasIdentityFlags(values: IdentityValues): boolean {
  return Object.keys(IDENTITY_OPTIONS).some((k) => values[k as keyof IdentityValues] !== undefined);
}

export function identityRuleFrom(values: IdentityValues): IdentityRule {
  try {
    return ruleFromFlags({
      certificateIdentity: values['certificate-identity'],
      certificateIdentityRegexp: values['certificate-identity-regexp'],
      certificateOidcIssuer: values['certificate-oidc-issuer'],
      certificateOidcIssuerRegexp: values['certificate-oidc-issuer-regexp'],
      repo: values.repo,
      signerWorkflow: values['signer-workflow'],
      ref: values.ref,
    });
  } catch (e) {
    if (isProvenaError(e)) throw usageError(e.detail);
    throw e;
  }
}

export function readPolicyFile(file: string): Policy {
  const text = readTextFile(file, 'policy');
  try {
    return parsePolicyText(text, file);
  } catch (e) {
    if (isProvenaError(e)) throw usageError(e.detail);
    throw e;
  }
}

export function readTextFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(`cannot read the ${what} ${file}: ${(e as Error).message}`);
  }
}

export function inputError(e: ProvenaError): CliError {
  return usageError(`${e.code}: ${e.detail}`);
}

// ---------------------------------------------------------------------------------------------
// Transparency logs: one per server, with what the user saw last time (--log-state)

interface LogStateFile {
  version: 1;
  logs: Record<string, LogMemory>;
}

export class LogTracker {
  private readonly logs = new Map<string, ServerLog>();
  private readonly memory: LogStateFile;

  constructor(
    private readonly http: Http,
    private readonly opts: { stateFile?: string; keys: string[] },
  ) {
    this.memory = opts.stateFile ? readState(opts.stateFile) : { version: 1, logs: {} };
  }

  forChannel = (fetchChannelUrl: string): ServerLog => {
    const server = serverOf(fetchChannelUrl);
    let log = this.logs.get(server);
    if (log === undefined) {
      log = new ServerLog(server, new HttpLogSource(this.http, server), {
        pinnedKeys: this.opts.keys,
        memory: (origin) => this.memory.logs[origin],
      });
      this.logs.set(server, log);
    }
    return log;
  };

  /** Consistency across everything seen; saves the state when every log is consistent. */
  async finish(): Promise<LogSummary[]> {
    const summaries: LogSummary[] = [];
    for (const log of this.logs.values()) {
      try {
        summaries.push(await log.finish());
      } catch (e) {
        const unreachable = isProvenaError(e) && e.kind === 'unavailable';
        const detail = `the log could not be checked: ${isProvenaError(e) ? e.detail : String(e)}`;
        summaries.push({ server: log.server, origin: null, status: unreachable ? 'error' : 'alarm', keyTrust: null, key: null, size: null, detail });
      }
    }
    const trouble = summaries.some((s) => s.status === 'alarm' || s.status === 'error');
    if (this.opts.stateFile && !trouble) {
      for (const s of summaries) if (s.origin !== null && s.remember) this.memory.logs[s.origin] = s.remember;
      writeState(this.opts.stateFile, this.memory);
    }
    return summaries;
  }
}

function readState(file: string): LogStateFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, logs: {} };
    throw usageError(`cannot read the log state ${file}: ${(e as Error).message}`);
  }
  try {
    const s = JSON.parse(text) as LogStateFile;
    if (s.version !== 1 || typeof s.logs !== 'object' || s.logs === null) throw new Error('expected {"version": 1, "logs": {...}}');
    for (const [origin, m] of Object.entries(s.logs)) {
      if (typeof m?.key !== 'string' || typeof m?.checkpoint !== 'string') throw new Error(`log ${origin}: expected "key" and "checkpoint"`);
    }
    return s;
  } catch (e) {
    throw usageError(`${file} is not a provena verify log state (${(e as Error).message}); remove it to start over`);
  }
}

/** Replaced atomically: an interrupted run leaves the last state, never half a file. */
function writeState(file: string, state: LogStateFile): void {
  writeFileDurably(file, `${JSON.stringify(state, null, 2)}\n`, { how: 'replace' });
}

// ---------------------------------------------------------------------------------------------
// Output

export function logLines(summaries: readonly LogSummary[]): string[] {
  return summaries.map((s) => {
    if (s.status === 'not_served') return `log ${s.server}: none served`;
    const trust = s.keyTrust === 'first_use' ? ` (key ${s.key} trusted on first use; keep --log-state to pin it)` : s.keyTrust ? ` (key ${s.keyTrust})` : '';
    return `log ${s.origin ?? s.server}: ${s.status === 'consistent' ? `consistent, size ${s.size}; ${s.detail}` : s.detail}${trust}`;
  });
}

export function resultJson(r: PackageResult): Record<string, unknown> {
  return {
    filename: r.filename,
    channel: r.channelUrl,
    subdir: r.subdir,
    url: r.url === null ? null : redact(r.url),
    sha256: r.sha256,
    platforms: r.platforms,
    verdict: r.verdict,
    code: r.code,
    reason: r.reason,
    signer: r.signer,
    notes: r.notes,
    bundles: r.bundles.map(bundleJson),
    log: r.log,
  };
}

export function bundleJson(b: BundleReport): Record<string, unknown> {
  return {
    index: b.index,
    outcome: b.outcome,
    code: b.code,
    detail: b.detail,
    predicate_type: b.predicateType,
    signer: b.signer === null ? null : {
      summary: describeSigner(b),
      issuer: b.signer.issuer,
      subject: b.signer.subjectAlternativeName?.value ?? null,
      repository: b.signer.sourceRepositoryUri,
      ref: b.signer.sourceRepositoryRef,
      commit: b.signer.sourceRepositoryDigest,
      workflow: b.signer.buildConfigUri,
      build_signer: b.signer.buildSignerUri,
      trigger: b.signer.buildTrigger,
      run: b.signer.runInvocationUri,
    },
    key: b.keyId,
    statement: b.statement,
    tlog: b.tlog,
    timestamps: b.timestamps,
    trust_root: b.trustRoot,
  };
}

/** `package  channel  verdict  signer  reason`, one line per package, columns padded. */
export function renderTable(results: readonly PackageResult[]): string[] {
  const rows = results.map((r) => [r.filename, r.channelUrl ?? '(local)', r.verdict, r.signer ?? '-', r.reason]);
  const header = ['PACKAGE', 'CHANNEL', 'VERDICT', 'SIGNER', 'REASON'];
  const widths = header.slice(0, 4).map((h, i) => Math.min(Math.max(h.length, ...rows.map((r) => r[i]!.length)), [60, 50, 8, 70][i]!));
  const line = (cells: string[]) => cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
