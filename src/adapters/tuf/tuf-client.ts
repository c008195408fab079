import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Updater } from 'tuf-js';
import { ProvenaError } from '../../core/errors.ts';

/**
 * The client side of signed repodata: repodata files fetched through tuf-js's Updater, which walks
 * root → timestamp → snapshot → targets and checks every signature, version, expiry, length and hash
 * (nothing here re-implements those checks; this only names what was refused in words).
 *
 * Trust: a channel's root is pinned in the trust store (`DIR/<channel>/root.json`) the first time it
 * is seen, or copied from a root the user gives; tuf-js keeps the newest trusted metadata next to it,
 * so a later run refuses anything older. Once a channel is pinned it must keep serving TUF metadata.
 */
export interface SignedRepodataOptions {
  /** where pinned roots and trusted metadata live; without it, a temporary directory (trust on this use only) */
  trustStore?: string;
  /** a root.json to trust for the channel instead of the one it serves (for a single channel) */
  root?: string;
}

export class SignedRepodata {
  private readonly channels = new Map<string, Promise<TufChannel | null>>();
  private readonly store: string;

  constructor(private readonly opts: SignedRepodataOptions = {}) {
    if (opts.trustStore !== undefined) {
      this.store = opts.trustStore;
    } else {
      const temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tuf-'));
      process.once('exit', () => fs.rmSync(temporary, { recursive: true, force: true }));
      this.store = temporary;
    }
  }

  /**
   * A subdir file's verified bytes; null when the signed targets name no such file (the subdir has
   * none); undefined when the channel offers no signed repodata (and none was pinned for it).
   */
  async file(channelUrl: string, subdir: string, file: string): Promise<Uint8Array | null | undefined> {
    const channel = await this.channel(channelUrl);
    if (channel === null) return undefined;
    return channel.target(`${subdir}/${file}`);
  }

  channel(channelUrl: string): Promise<TufChannel | null> {
    const url = channelUrl.replace(/\/+$/, '');
    let c = this.channels.get(url);
    if (!c) {
      c = TufChannel.open(url, path.join(this.store, channelDirName(url)), this.opts.root);
      this.channels.set(url, c);
    }
    return c;
  }
}

export class TufChannel {
  private constructor(
    readonly url: string,
    private readonly updater: Updater,
    private readonly dir: string,
    /** set when this run pinned the root (trust on first use) */
    readonly pinnedNow: boolean,
  ) {}

  /** Null when the channel serves no TUF metadata and nothing is pinned for it. */
  static async open(url: string, dir: string, rootFile?: string): Promise<TufChannel | null> {
    const rootPath = path.join(dir, 'root.json');
    let pinnedNow = false;
    if (!fs.existsSync(rootPath)) {
      let root: Buffer | null;
      if (rootFile !== undefined) {
        root = fs.readFileSync(rootFile);
      } else {
        const res = await fetch(`${url}/tuf/1.root.json`, { signal: AbortSignal.timeout(60_000) }).catch((e) => {
          throw new ProvenaError('network_error', 'unavailable', `cannot reach ${url}/tuf/1.root.json: ${(e as Error).message}`);
        });
        if (res.status === 404) {
          await res.body?.cancel();
          return null;
        }
        if (!res.ok) throw new ProvenaError('network_error', 'unavailable', `${url}/tuf/1.root.json answered ${res.status}`);
        root = Buffer.from(await res.arrayBuffer());
      }
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(rootPath, root);
      pinnedNow = rootFile === undefined;
    }
    const updater = new Updater({
      metadataDir: dir,
      metadataBaseUrl: `${url}/tuf/`,
      targetBaseUrl: `${url}/`,
      targetDir: dir,
      config: { fetchTimeout: 60_000 },
    });
    const channel = new TufChannel(url, updater, dir, pinnedNow);
    await refused(url, () => updater.refresh());
    return channel;
  }

  async target(targetPath: string): Promise<Uint8Array | null> {
    const info = await refused(this.url, () => this.updater.getTargetInfo(targetPath));
    if (!info) return null;
    const tmp = path.join(this.dir, `target-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      await refused(this.url, () => this.updater.downloadTarget(info, tmp), targetPath);
      return fs.readFileSync(tmp);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** The verified targets (path → sha256, length), for mirror comparison. */
  async targets(paths: readonly string[]): Promise<Map<string, { sha256: string; length: number }>> {
    const out = new Map<string, { sha256: string; length: number }>();
    for (const p of paths) {
      const info = await refused(this.url, () => this.updater.getTargetInfo(p));
      if (info) out.set(p, { sha256: info.hashes.sha256 ?? '', length: info.length });
    }
    return out;
  }
}

/** `https://host/path/demo` → `host_path_demo-<8 hex>`: readable, and distinct for distinct URLs. */
function channelDirName(url: string): string {
  const u = new URL(url);
  const readable = `${u.host}${u.pathname}`.replace(/\/t\/[^/]+\//, '/').replace(/[^A-Za-z0-9.-]+/g, '_').slice(0, 80);
  return `${readable}-${createHash('sha256').update(url).digest('hex').slice(0, 8)}`;
}

/** Runs a tuf-js step; a refusal becomes one error naming the attack it looks like. */
async function refused<T>(url: string, step: () => Promise<T>, target?: string): Promise<T> {
  try {
    return await step();
  } catch (e) {
    throw tufRefusal(url, e, target);
  }
}

export function tufRefusal(url: string, e: unknown, target?: string): ProvenaError {
  const name = (e as Error)?.constructor?.name ?? 'Error';
  const message = String((e as Error)?.message ?? e);
  const what = `${name}: ${message}`;
  const where = `signed repodata of ${url}`;
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|timed out|aborted/i.test(what) && !/DownloadHTTPError/.test(what)) {
    return new ProvenaError('network_error', 'unavailable', `${where}: ${message}`);
  }
  if (target && /Length|hash|Hash/.test(what)) {
    return new ProvenaError('tuf_tampered', 'unprocessable', `${where}: ${target} does not match the length and sha256 the signed targets give (tampered or swapped file): ${message}`);
  }
  if (/expired/i.test(what)) {
    return new ProvenaError('tuf_freeze', 'unprocessable', `${where}: the metadata has expired (${message}); the server or a mirror is serving stale metadata (freeze attack?)`);
  }
  if (/less than current version|Expected version/i.test(what)) {
    return new ProvenaError('tuf_rollback', 'unprocessable', `${where}: older metadata than this client already trusted (${message}); refusing the rollback`);
  }
  if (/Unsigned|signed by \d+\/\d+ keys|signature/i.test(what)) {
    return new ProvenaError('tuf_signature', 'unprocessable', `${where}: metadata not signed by the keys the trusted root names (${message})`);
  }
  if (/does not match snapshot version|doesn't match timestamp|Unable to load (targets|snapshot)[\s\S]*(Expected hash|Expected length|Length|hash)/i.test(what)) {
    return new ProvenaError('tuf_mix_and_match', 'unprocessable', `${where}: a metadata file is not the one the newer metadata names (${message}); files from different times were mixed`);
  }
  if (/DownloadHTTPError|status code|404/i.test(what)) {
    return new ProvenaError('tuf_unavailable', 'unprocessable', `${where}: a metadata file is missing (${message}); a channel pinned in the trust store must keep serving its TUF metadata`);
  }
  return new ProvenaError('tuf_refused', 'unprocessable', `${where}: ${message}`);
}
