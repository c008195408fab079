// Tile bytes against the spec's definition (hash i of tile n at level l is MTH of leaves
// [(n·256 + i)·256^l, (n·256 + i + 1)·256^l)), entry bundles, and proofs computed from tiles alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { MemoryHashStore } from '../../../src/core/tlog/memory-hash-store.ts';
import { treeRoot } from '../../../src/core/tlog/stored-hashes.ts';
import { type Tile, tilePath } from '../../../src/core/tlog/tile-path.ts';
import { readTileData, tileHashes, tilesForSize } from '../../../src/core/tlog/tiles.ts';
import { TileHashReader } from '../../../src/core/tlog/tile-hash-reader.ts';
import { decodeEntryBundle, encodeEntryBundle } from '../../../src/core/tlog/entry-bundle.ts';
import { inclusionProof, verifyInclusion } from '../../../src/core/tlog/inclusion.ts';
import { consistencyProof, verifyConsistency } from '../../../src/core/tlog/consistency.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const SIZE = 70_000;
const entries = Array.from({ length: SIZE }, (_, i) => new TextEncoder().encode(`{"n":${i}}`));
const store = new MemoryHashStore();
const appender = TreeAppender.empty();
const rootAt: Uint8Array[] = [appender.root()];
for (const e of entries) {
  store.put(appender.appendEntry(e));
  if (appender.size % 997 === 0 || appender.size >= SIZE - 3) rootAt[appender.size] = appender.root();
}

// Independent of src: the RFC 6962 MTH of a range of entries, straight from the definition.
const sha = (...p: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const x of p) h.update(x);
  return new Uint8Array(h.digest());
};
function mth(start: number, end: number): Uint8Array {
  if (end - start === 1) return sha(Uint8Array.of(0), entries[start]);
  let k = 1;
  while (k * 2 < end - start) k *= 2;
  return sha(Uint8Array.of(1), mth(start, start + k), mth(start + k, end));
}
const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;

async function tileMap(size: number): Promise<Map<string, Uint8Array>> {
  const m = new Map<string, Uint8Array>();
  for (const t of tilesForSize(size)) m.set(tilePath(t), await readTileData(t, store));
  return m;
}

test('tile bytes are the spec-defined subtree hashes, 32 bytes each', async () => {
  const tiles = await tileMap(SIZE);
  const check = (tile: Tile, i: number) => {
    const span = 256 ** tile.level;
    const start = (tile.index * 256 + i) * span;
    const data = tiles.get(tilePath(tile))!;
    assert.equal(data.length, tile.width * 32);
    assert.deepEqual(data.subarray(i * 32, (i + 1) * 32), mth(start, start + span), `${tilePath(tile)} hash ${i}`);
  };
  check({ level: 0, index: 0, width: 256 }, 0);
  check({ level: 0, index: 17, width: 256 }, 255);
  check({ level: 0, index: 273, width: 112 }, 111);
  check({ level: 1, index: 0, width: 256 }, 3);
  check({ level: 1, index: 1, width: 17 }, 16);
  check({ level: 2, index: 0, width: 1 }, 0);
});

test('level-0 tiles hash the entries of their bundles', async () => {
  const tiles = await tileMap(SIZE);
  const tile: Tile = { level: 0, index: 273, width: 112 };
  const bundle = encodeEntryBundle(entries.slice(273 * 256, 273 * 256 + 112));
  const decoded = decodeEntryBundle(bundle, 112);
  const hashes = tileHashes(tile, tiles.get(tilePath(tile))!);
  decoded.forEach((e, i) => assert.deepEqual(sha(Uint8Array.of(0), e), hashes[i]));
});

test('entry bundles: uint16 length prefixes, exact widths, size limit', () => {
  const a = new TextEncoder().encode('a');
  const big = new Uint8Array(300).fill(7);
  const bundle = encodeEntryBundle([a, new Uint8Array(0), big]);
  assert.deepEqual([...bundle.subarray(0, 3)], [0, 1, 0x61]);
  assert.deepEqual([...bundle.subarray(3, 5)], [0, 0]);
  assert.deepEqual([...bundle.subarray(5, 7)], [1, 44]);
  assert.deepEqual(decodeEntryBundle(bundle, 3), [a, new Uint8Array(0), big]);
  assert.throws(() => decodeEntryBundle(bundle, 2), code('entry_bundle_malformed'));
  assert.throws(() => decodeEntryBundle(bundle, 4), code('entry_bundle_malformed'));
  assert.throws(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1), 3), code('entry_bundle_malformed'));
  assert.throws(() => decodeEntryBundle(Uint8Array.of(0), 1), code('entry_bundle_malformed'));
  assert.equal(decodeEntryBundle(encodeEntryBundle([new Uint8Array(65535)]), 1)[0].length, 65535);
  assert.throws(() => encodeEntryBundle([new Uint8Array(65536)]), code('entry_too_large'));
});

test('a tile of the wrong length is refused', () => {
  assert.throws(() => tileHashes({ level: 0, index: 0, width: 2 }, new Uint8Array(63)), code('tile_malformed'));
});

test('proofs computed from tiles alone equal proofs from the store and verify', async () => {
  for (const size of [SIZE, SIZE - 1, 997 * 66, 997]) {
    const tiles = await tileMap(size);
    const reader = new TileHashReader(size, { readTiles: async (ts) => ts.map((t) => tiles.get(tilePath(t))!) });
    assert.deepEqual(await treeRoot(size, reader), rootAt[size]);
    for (const index of [0, 255, 256, 65535, 65536, size - 1].filter((i) => i < size)) {
      const proof = await inclusionProof(index, size, reader);
      assert.deepEqual(proof, await inclusionProof(index, size, store));
      verifyInclusion(index, size, sha(Uint8Array.of(0), entries[index]), proof, rootAt[size]);
    }
    const m = 997;
    if (m < size) {
      const proof = await consistencyProof(m, size, reader);
      verifyConsistency(m, size, rootAt[m], rootAt[size], proof);
    }
    // A handful of tiles per size, not a walk over the whole log.
    assert.ok(reader.tilesFetched <= 20, `${reader.tilesFetched} tiles at size ${size}`);
  }
});

test('a tampered tile changes the derived root, so the signed root exposes it', async () => {
  const tiles = await tileMap(SIZE);
  const path = 'tile/0/100'; // holds the leaf hashes of entries 25,600..25,855
  const forged = new Uint8Array(tiles.get(path)!);
  forged[5] ^= 1;
  tiles.set(path, forged);
  const reader = new TileHashReader(SIZE, { readTiles: async (ts) => ts.map((t) => tiles.get(tilePath(t))!) });
  // Level-0 tile 100 feeds level-1 tile 0 only through hashes the server stored, so an inclusion
  // proof through the forged tile must fail against the real root.
  const proof = await inclusionProof(100 * 256 + 1, SIZE, reader);
  assert.throws(
    () => verifyInclusion(100 * 256 + 1, SIZE, sha(Uint8Array.of(0), entries[100 * 256 + 1]), proof, rootAt[SIZE]),
    code('inclusion_proof_invalid'),
  );
  await assert.rejects(new TileHashReader(10, { readTiles: async () => [] }).readHashes([{ level: 4, index: 0 }]), code('stored_hash_missing'));
});
