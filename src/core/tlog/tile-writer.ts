/**
 * Publishes the static form of the log (c2sp.org/tlog-tiles) into the blob store under `log/`: the
 * tiles and entry bundles a new checkpoint needs are written before the checkpoint that points at
 * them, so whoever sees a checkpoint can fetch its tiles. Partial tiles a full tile has replaced are
 * deleted, as the spec allows; the server can still answer for them from the database.
 */
import { encodeEntryBundle } from './entry-bundle.ts';
import type { CheckedExtension } from './batch-check.ts';
import type { LogRepo } from './log-repo.ts';
import { type Tile, TILE_WIDTH, entryBundlePath, indexPath, tilePath } from './tile-path.ts';
import { newTiles, readTileData } from './tiles.ts';

/** The part of the blob store the log writes to (the BlobStore port satisfies it). */
export interface LogBlobs {
  putBytes(key: string, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  list(prefix: string): AsyncIterable<string>;
}

export const LOG_PREFIX = 'log';
export const CHECKPOINT_KEY = `${LOG_PREFIX}/checkpoint`;
const WRITES_AT_ONCE = 16;

export const tileKey = (tile: Tile) => `${LOG_PREFIX}/${tilePath(tile)}`;
export const bundleKey = (tile: { index: number; width: number }) => `${LOG_PREFIX}/${entryBundlePath(tile)}`;

/** Writes the tiles and bundles that the tree of `ext.size` has and the one of `previousSize` had not. */
export async function writeTiles(blobs: LogBlobs, repo: LogRepo, previousSize: number, ext: CheckedExtension): Promise<void> {
  const tiles = newTiles(previousSize, ext.size);
  await inParallel(tiles, async (tile) => {
    await blobs.putBytes(tileKey(tile), await readTileData(tile, repo));
    if (tile.level === 0) {
      const from = tile.index * TILE_WIDTH - ext.bundleStart;
      await blobs.putBytes(bundleKey(tile), encodeEntryBundle(ext.entries.slice(from, from + tile.width)));
    }
  });
  const full = tiles.filter((t) => t.width === TILE_WIDTH);
  await inParallel(full, async (tile) => {
    await deleteUnder(blobs, `${LOG_PREFIX}/tile/${tile.level}/${indexPath(tile.index, TILE_WIDTH)}.p/`);
    if (tile.level === 0) await deleteUnder(blobs, `${LOG_PREFIX}/tile/entries/${indexPath(tile.index, TILE_WIDTH)}.p/`);
  });
}

async function deleteUnder(blobs: LogBlobs, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const key of blobs.list(prefix)) keys.push(key);
  for (const key of keys) await blobs.delete(key);
}

async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(WRITES_AT_ONCE, items.length) }, worker));
}
