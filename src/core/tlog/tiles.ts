/**
 * Which tiles a tree of a given size has, and their bytes. A tile at level T holds stored hashes of
 * Merkle level 8·T, so the server builds every tile straight from its stored complete-subtree hashes,
 * and only the tiles on the right edge change as the log grows.
 */
import { type Hash, HASH_SIZE, assertTreeIndex } from './hashing.ts';
import { type HashReader, type StoredHashIndex, readChecked } from './stored-hashes.ts';
import { type Tile, TILE_HEIGHT, TILE_WIDTH, MAX_TILE_LEVEL } from './tile-path.ts';
import { unprocessable } from '../errors.ts';

/** How many stored hashes at tile level `level` a tree of `size` has (hashes of Merkle level 8·level). */
export function hashesAtTileLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/** Every tile of a tree of `size`: full tiles, then the partial one, level by level. */
export function tilesForSize(size: number): Tile[] {
  return newTiles(0, size);
}

/**
 * Tiles a tree of `newSize` has that one of `oldSize` had not: what the server writes when it publishes
 * a checkpoint. Full tiles never change; a partial tile that grew is a new resource with a new width.
 */
export function newTiles(oldSize: number, newSize: number): Tile[] {
  assertTreeIndex(oldSize, 'old tree size');
  assertTreeIndex(newSize, 'new tree size');
  const out: Tile[] = [];
  for (let level = 0; level <= MAX_TILE_LEVEL; level++) {
    const count = hashesAtTileLevel(newSize, level);
    if (count === 0) break;
    const oldCount = hashesAtTileLevel(Math.min(oldSize, newSize), level);
    for (let index = Math.floor(oldCount / TILE_WIDTH); index * TILE_WIDTH < count; index++) {
      const width = Math.min(TILE_WIDTH, count - index * TILE_WIDTH);
      const oldWidth = Math.min(TILE_WIDTH, Math.max(0, oldCount - index * TILE_WIDTH));
      if (width !== oldWidth) out.push({ level, index, width });
    }
  }
  return out;
}

/** The stored hashes a tile holds, in order. */
export function tileHashIndexes(tile: Tile): StoredHashIndex[] {
  const level = tile.level * TILE_HEIGHT;
  return Array.from({ length: tile.width }, (_, i) => ({ level, index: tile.index * TILE_WIDTH + i }));
}

/** A tile's bytes: its hashes concatenated (8,192 bytes when full). */
export async function readTileData(tile: Tile, reader: HashReader): Promise<Uint8Array> {
  const hashes = await readChecked(reader, tileHashIndexes(tile));
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  hashes.forEach((h, i) => out.set(h, i * HASH_SIZE));
  return out;
}

/** Splits tile bytes back into hashes, refusing data of the wrong length for the tile's width. */
export function tileHashes(tile: Tile, data: Uint8Array): Hash[] {
  if (data.length !== tile.width * HASH_SIZE) {
    throw unprocessable(
      'tile_malformed',
      `tile ${tile.level}/${tile.index} of width ${tile.width} must be ${tile.width * HASH_SIZE} bytes, got ${data.length}`,
    );
  }
  return Array.from({ length: tile.width }, (_, i) => data.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}
