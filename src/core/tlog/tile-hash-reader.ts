/**
 * A HashReader over tiles, for clients (monitors, `provena verify`) that only have the static tile
 * endpoints: a stored hash of Merkle level 8·T + k is rebuilt from 2^k hashes of a level-T tile.
 *
 * Tile bytes are not authenticated here. Callers must check what they derive against a signed
 * checkpoint (a proof verified against its root, or `treeRoot` compared with it), which is what
 * makes a lying tile server detectable.
 */
import { type Hash, rootOfLeafHashes } from './hashing.ts';
import type { HashReader, StoredHashIndex } from './stored-hashes.ts';
import { type Tile, TILE_HEIGHT, TILE_WIDTH, tilePath } from './tile-path.ts';
import { hashesAtTileLevel, tileHashes } from './tiles.ts';
import { notFound } from '../errors.ts';

/** Fetches tile bytes (over HTTP, from a blob store, from a test map). */
export interface TileSource {
  readTiles(tiles: readonly Tile[]): Promise<Uint8Array[]>;
}

export class TileHashReader implements HashReader {
  readonly #cache = new Map<string, Hash[]>();

  /** `size` is the tree size of the checkpoint being checked: it fixes the widths of partial tiles. */
  constructor(
    readonly size: number,
    private readonly source: TileSource,
  ) {}

  async readHashes(indexes: readonly StoredHashIndex[]): Promise<Hash[]> {
    const plans = indexes.map((ix) => this.#plan(ix));
    const missing = new Map<string, Tile>();
    for (const p of plans) if (!this.#cache.has(p.path)) missing.set(p.path, p.tile);
    if (missing.size > 0) {
      const tiles = [...missing.values()];
      const data = await this.source.readTiles(tiles);
      tiles.forEach((t, i) => this.#cache.set(tilePath(t), tileHashes(t, data[i] ?? new Uint8Array(0))));
    }
    return plans.map((p) => rootOfLeafHashes(this.#cache.get(p.path)!.slice(p.offset, p.offset + p.span)));
  }

  /** Number of distinct tiles fetched so far (for tests and metrics). */
  get tilesFetched(): number {
    return this.#cache.size;
  }

  #plan({ level, index }: StoredHashIndex) {
    const span = 2 ** (level % TILE_HEIGHT);
    if (!Number.isSafeInteger(index) || index < 0 || (index + 1) * 2 ** level > this.size) {
      throw notFound('stored_hash_missing', `no complete subtree at level ${level}, index ${index} in a tree of size ${this.size}`);
    }
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const first = index * span;
    const tileIndex = Math.floor(first / TILE_WIDTH);
    const width = Math.min(TILE_WIDTH, hashesAtTileLevel(this.size, tileLevel) - tileIndex * TILE_WIDTH);
    const tile: Tile = { level: tileLevel, index: tileIndex, width };
    return { tile, path: tilePath(tile), offset: first - tileIndex * TILE_WIDTH, span };
  }
}
