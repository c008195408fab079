import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { BaseFetcher, Updater } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { buildTrustRoot, type SigstoreTrustRoot } from '../../core/attest/trust-root.ts';
import { isProvenaError } from '../../core/errors.ts';
import { refreshedRootFile, type SigstoreInstance } from './trusted-roots.ts';
import { writeFileDurably } from '../files/durable-file.ts';

/**
 * `provena trust-root update`: fetches Sigstore's `trusted_root.json` through a real TUF client (tuf-js's
 * Updater: root rotation, timestamp → snapshot → targets, signatures, thresholds, versions, expiry, target
 * length and hash) and keeps it as DATA/trusted-roots/INSTANCE.json, which the server prefers over its
 * embedded copy. The TUF metadata stays in DATA/tuf/REPO/, so the next update starts from the newest root
 * it has verified rather than from the embedded seed. Nothing is written to trusted-roots/ unless every check
 * passed and the document loads as a trusted root.
 */
export const TUF_MIRRORS: Record<SigstoreInstance, string> = {
  'public-good': 'https://tuf-repo-cdn.sigstore.dev',
  staging: 'https://tuf-repo-cdn.sigstage.dev',
};
const TARGET = 'trusted_root.json';
const FETCH_TIMEOUT_MS = 20_000;

export type UpdateFailure =
  /** the TUF repository could not be reached, or answered with an HTTP error */
  | 'unreachable'
  /** TUF verification refused the metadata or the target */
  | 'tuf'
  /** the verified target is not a usable Sigstore trusted root */
  | 'invalid_root'
  /** nothing to start from (no initial TUF root), or the data directory cannot be written */
  | 'setup';

export class TrustRootUpdateError extends Error {
  constructor(
    readonly failure: UpdateFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface TrustRootUpdateOptions {
  dataDir: string;
  instance: SigstoreInstance;
  /** the TUF repository; the instance's CDN by default */
  mirrorUrl?: string;
  /** initial TUF root.json, trusted as given; otherwise the cached one, else @sigstore/tuf's seed */
  tufRootFile?: string;
}

export interface TrustRootUpdate {
  /** false: the refreshed file already held these bytes */
  changed: boolean;
  file: string;
  mirrorUrl: string;
  /** the TUF root version the update ended on */
  tufRootVersion: number;
  /** the version of targets metadata the trusted root came from, and when that metadata expires */
  targetsVersion: number;
  targetsExpires: string;
  sha256: string;
  /** sha256 of the refreshed file this replaced, when there was one */
  previousSha256: string | null;
  root: SigstoreTrustRoot;
}

export async function updateTrustRoot(opts: TrustRootUpdateOptions): Promise<TrustRootUpdate> {
  const mirrorUrl = (opts.mirrorUrl ?? TUF_MIRRORS[opts.instance]).replace(/\/+$/, '');
  const cacheDir = path.join(opts.dataDir, 'tuf', encodeURIComponent(new URL(mirrorUrl).host + new URL(mirrorUrl).pathname.replace(/\/$/, '')));
  const file = refreshedRootFile(opts.dataDir, opts.instance);
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw new TrustRootUpdateError('setup', `cannot create ${cacheDir}: ${(e as Error).message}`);
  }
  seedTufRoot(cacheDir, mirrorUrl, opts.tufRootFile);

  const fetcher = new MirrorFetcher(FETCH_TIMEOUT_MS);
  let bytes: Buffer;
  let updater: Updater;
  let targetInfo: Awaited<ReturnType<Updater['getTargetInfo']>>;
  const scratch = path.join(cacheDir, `.${TARGET}.${process.pid}.download`);
  try {
    updater = new Updater({ metadataBaseUrl: mirrorUrl, targetBaseUrl: `${mirrorUrl}/targets`, metadataDir: cacheDir, targetDir: cacheDir, fetcher });
    await updater.refresh();
    targetInfo = await updater.getTargetInfo(TARGET);
    if (!targetInfo) throw new TrustRootUpdateError('tuf', `the TUF repository ${mirrorUrl} lists no ${TARGET} target`);
    // downloadTarget checks length and hashes against the signed targets metadata before it writes the file
    await updater.downloadTarget(targetInfo, scratch);
    bytes = fs.readFileSync(scratch);
  } catch (e) {
    throw classify(e, fetcher, mirrorUrl);
  } finally {
    fs.rmSync(scratch, { force: true });
  }

  let root: SigstoreTrustRoot;
  try {
    root = buildTrustRoot(JSON.parse(bytes.toString('utf8')), opts.instance);
  } catch (e) {
    const why = isProvenaError(e) ? e.detail : `not JSON (${(e as Error).message})`;
    throw new TrustRootUpdateError('invalid_root', `${TARGET} from ${mirrorUrl} passed TUF but is not a usable Sigstore trusted root: ${why}`);
  }

  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const previous = readIfPresent(file);
  const previousSha256 = previous ? createHash('sha256').update(previous).digest('hex') : null;
  const changed = previousSha256 !== sha256;
  if (changed) writeAtomically(file, bytes);
  // tuf-js keeps the trusted metadata it verified; read the versions it ended on for the report
  const trusted = (updater as unknown as { trustedSet: TrustedSetView }).trustedSet;
  return {
    changed,
    file,
    mirrorUrl,
    tufRootVersion: trusted.root.signed.version,
    targetsVersion: trusted.targets?.signed.version ?? 0,
    targetsExpires: trusted.targets?.signed.expires ?? '',
    sha256,
    previousSha256,
    root,
  };
}

interface TrustedSetView {
  root: { signed: { version: number } };
  targets?: { signed: { version: number; expires: string } };
}

/**
 * The TUF root the client starts from. A root given with --tuf-root is trusted as the operator's choice
 * unless the cache already holds a newer verified one (no rollback); otherwise the cached root, else the
 * seed @sigstore/tuf ships for the public-good CDN.
 */
function seedTufRoot(cacheDir: string, mirrorUrl: string, tufRootFile: string | undefined): void {
  const cached = path.join(cacheDir, 'root.json');
  const cachedVersion = rootVersion(readIfPresent(cached));
  if (tufRootFile) {
    let given: Buffer;
    try {
      given = fs.readFileSync(tufRootFile);
    } catch (e) {
      throw new TrustRootUpdateError('setup', `cannot read --tuf-root ${tufRootFile}: ${(e as Error).message}`);
    }
    const givenVersion = rootVersion(given);
    if (givenVersion === null) throw new TrustRootUpdateError('setup', `--tuf-root ${tufRootFile} is not TUF root metadata (no signed._type "root" with a version)`);
    if (cachedVersion === null || givenVersion > cachedVersion) writeAtomically(cached, given);
    return;
  }
  if (cachedVersion !== null) return;
  const seeds = createRequire(import.meta.url)('@sigstore/tuf/seeds.json') as Record<string, { 'root.json'?: string } | undefined>;
  const seed = seeds[mirrorUrl]?.['root.json'];
  if (!seed) {
    throw new TrustRootUpdateError('setup', `no initial TUF root is known for ${mirrorUrl}: give its root.json (obtained out of band) with --tuf-root FILE`);
  }
  writeAtomically(cached, Buffer.from(seed, 'base64'));
}

function rootVersion(bytes: Buffer | null): number | null {
  if (!bytes) return null;
  try {
    const signed = (JSON.parse(bytes.toString('utf8')) as { signed?: { _type?: unknown; version?: unknown } }).signed;
    return signed?._type === 'root' && typeof signed.version === 'number' ? signed.version : null;
  } catch {
    return null;
  }
}

/** Turns whatever the TUF client threw into one of the failures the CLI reports. */
function classify(e: unknown, fetcher: MirrorFetcher, mirrorUrl: string): TrustRootUpdateError {
  if (e instanceof TrustRootUpdateError) return e;
  // tuf-js wraps snapshot/targets errors in RuntimeError with the cause only in the message, so network
  // trouble is recorded by the fetcher itself
  if (fetcher.unreachable) return new TrustRootUpdateError('unreachable', `cannot reach the TUF repository ${mirrorUrl} (${fetcher.unreachable})`);
  if (fetcher.httpError) return new TrustRootUpdateError('unreachable', `the TUF repository ${mirrorUrl} answered ${fetcher.httpError}`);
  const err = e as Error;
  const kind = KIND_OF[err.constructor?.name ?? ''] ?? '';
  const detail = (err.message ?? String(e)).replace(/^Unable to load (snapshot metadata|targets) error (\w+Error: )?/, (_m, what: string) => `${what === 'targets' ? 'targets' : 'snapshot'}: `);
  const what = err.constructor?.name === 'LengthOrHashMismatchError' ? `${TARGET}: ` : '';
  return new TrustRootUpdateError('tuf', `TUF verification failed${kind ? ` (${kind})` : ''}: ${what}${detail}`);
}

const KIND_OF: Record<string, string> = {
  ExpiredMetadataError: 'expired metadata',
  UnsignedMetadataError: 'signature',
  LengthOrHashMismatchError: 'target length or hash',
  DownloadLengthMismatchError: 'length',
  BadVersionError: 'version',
  EqualVersionError: 'version',
  RepositoryError: 'repository',
};

/** Plain fetch with a timeout, remembering network failures and HTTP errors for the report. */
class MirrorFetcher extends BaseFetcher {
  unreachable: string | null = null;
  httpError: string | null = null;
  constructor(private readonly timeoutMs: number) {
    super();
  }

  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { 'user-agent': 'provena-trust-root-update' } });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      this.unreachable = cause?.code ?? cause?.message ?? (e as Error).message;
      throw e;
    }
    if (!res.ok || !res.body) {
      // 403/404 on N.root.json only means "no newer root": tuf-js stops there, so that one is not an error
      if (!/\/\d+\.root\.json$/.test(url) || (res.status !== 403 && res.status !== 404)) this.httpError = `HTTP ${res.status} for ${url}`;
      throw new DownloadHTTPError('Failed to download', res.status);
    }
    return res.body as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

function readIfPresent(file: string): Buffer | null {
  try {
    return fs.readFileSync(file);
  } catch {
    return null;
  }
}

/** Replaces a file durably; a failure is the update's own error, naming the file. */
function writeAtomically(file: string, bytes: Buffer): void {
  try {
    writeFileDurably(file, bytes, { how: 'replace' });
  } catch (e) {
    throw new TrustRootUpdateError('setup', `cannot write ${file}: ${(e as Error).message}`);
  }
}
