import { decodeEntryBundle } from '../../core/tlog/entry-bundle.ts';
import { type Tile, TILE_WIDTH, entryBundlePath, tilePath } from '../../core/tlog/tile-path.ts';
import type { TileSource } from '../../core/tlog/tile-hash-reader.ts';
import { CliError } from './cli-error.ts';

const FETCHES_AT_ONCE = 8;

/**
 * Reads a log's static C2SP endpoints (`<prefix>/checkpoint`, `/tile/...`). Nothing it returns is
 * trusted: the monitor checks it all against a signed checkpoint.
 */
export class LogClient implements TileSource {
  /** `SERVER` or the log prefix itself (`SERVER/log`). */
  readonly prefix: string;

  constructor(server: string) {
    const base = server.replace(/\/+$/, '');
    this.prefix = base.endsWith('/log') ? base : `${base}/log`;
  }

  async text(path: string): Promise<string> {
    return new TextDecoder().decode(await this.#get(path));
  }

  async readTiles(tiles: readonly Tile[]): Promise<Uint8Array[]> {
    return inParallel(tiles, async (t) => {
      try {
        return await this.#get(tilePath(t));
      } catch (e) {
        if (!(e instanceof NotFound) || t.width === TILE_WIDTH) throw e;
        return (await this.#get(tilePath({ ...t, width: TILE_WIDTH }))).subarray(0, t.width * 32);
      }
    });
  }

  /** Entries [start, end) from the entry bundles. */
  async entries(start: number, end: number): Promise<Uint8Array[]> {
    const bundles: { index: number; width: number }[] = [];
    for (let i = Math.floor(start / TILE_WIDTH); i * TILE_WIDTH < end; i++) bundles.push({ index: i, width: Math.min(TILE_WIDTH, end - i * TILE_WIDTH) });
    const data = await inParallel(bundles, async (b) => {
      try {
        return decodeEntryBundle(await this.#get(entryBundlePath(b)), b.width);
      } catch (e) {
        if (!(e instanceof NotFound) || b.width === TILE_WIDTH) throw e;
        // c2sp.org/tlog-tiles: a partial bundle may be gone once the full one exists
        return decodeEntryBundle(await this.#get(entryBundlePath({ ...b, width: TILE_WIDTH })), TILE_WIDTH).slice(0, b.width);
      }
    });
    return data.flat().slice(start % TILE_WIDTH, start % TILE_WIDTH + (end - start));
  }

  /** `SERVER/PATH` (e.g. `api/v1/log/entries/N`) as JSON, with a bearer token; null on 404. */
  async json(path: string, token: string): Promise<unknown> {
    const url = `${this.prefix.slice(0, -'/log'.length)}/${path}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    } catch (e) {
      throw new CliError(`cannot reach ${url}: ${String((e as Error).cause ?? (e as Error).message)}`, 3);
    }
    if (res.status === 404) return null;
    if (res.status === 401 || res.status === 403) {
      const detail = ((await res.json().catch(() => null)) as { detail?: string } | null)?.detail ?? '';
      throw new CliError(`${url} refused the token (${res.status}${detail ? `: ${detail}` : ''}); give a valid read key with --token`, 2);
    }
    if (!res.ok) throw new CliError(`${url} answered ${res.status}`, res.status >= 500 ? 3 : 1);
    try {
      return await res.json();
    } catch {
      throw new CliError(`${url} did not answer JSON`, 1);
    }
  }

  async #get(path: string): Promise<Uint8Array> {
    const url = `${this.prefix}/${path}`;
    let res: Response;
    try {
      res = await fetch(url);
    } catch (e) {
      throw new CliError(`cannot reach ${url}: ${String((e as Error).cause ?? (e as Error).message)}`, 3);
    }
    if (res.status === 404) throw new NotFound(url);
    if (!res.ok) throw new CliError(`${url} answered ${res.status}; the log is not available`, res.status >= 500 ? 3 : 1);
    return new Uint8Array(await res.arrayBuffer());
  }
}

export class NotFound extends CliError {
  constructor(readonly url: string) {
    super(`${url} answered 404: the log does not serve what its signed checkpoint requires`, 1);
  }
}

async function inParallel<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCHES_AT_ONCE, items.length) }, worker));
  return out;
}
