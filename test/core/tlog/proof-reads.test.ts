// Proofs at a million entries must cost O(log n) stored-hash reads, not a recomputation. A tree whose
// leaves are all the same entry lets us know every subtree hash without building 2 million nodes: the
// hash of a range depends only on its width, so the naive MTH below is cheap and independent of src.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { HashReader, StoredHashIndex } from '../../../src/core/tlog/stored-hashes.ts';
import { inclusionProof, verifyInclusion } from '../../../src/core/tlog/inclusion.ts';
import { consistencyProof, verifyConsistency } from '../../../src/core/tlog/consistency.ts';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const LEAF = sha(Uint8Array.of(0), new TextEncoder().encode('same entry'));
const byWidth = new Map<number, Uint8Array>([[1, LEAF]]);
function mthOfWidth(w: number): Uint8Array {
  let h = byWidth.get(w);
  if (h === undefined) {
    let k = 1;
    while (k * 2 < w) k *= 2;
    h = sha(Uint8Array.of(1), mthOfWidth(k), mthOfWidth(w - k));
    byWidth.set(w, h);
  }
  return h;
}

class CountingReader implements HashReader {
  reads = 0;
  constructor(readonly size: number) {}
  async readHashes(indexes: readonly StoredHashIndex[]) {
    this.reads += indexes.length;
    return indexes.map(({ level, index }) => {
      // Only complete subtrees inside the tree exist in a real store; asking for others is a bug.
      assert.ok((index + 1) * 2 ** level <= this.size, `read of incomplete subtree (${level}, ${index})`);
      return mthOfWidth(2 ** level);
    });
  }
}

const N = 1_000_000;
const bound = 2 * Math.ceil(Math.log2(N));

test(`inclusion proofs at size ${N} read at most ${bound} hashes and verify`, async () => {
  const root = mthOfWidth(N);
  for (const index of [0, 1, 123_456, 524_287, 524_288, 999_998, N - 1]) {
    const reader = new CountingReader(N);
    const proof = await inclusionProof(index, N, reader);
    assert.ok(reader.reads <= bound, `index ${index}: ${reader.reads} reads`);
    verifyInclusion(index, N, LEAF, proof, root);
  }
});

test(`consistency proofs up to size ${N} read at most ${bound} hashes and verify`, async () => {
  const root = mthOfWidth(N);
  for (const m of [1, 2, 3, 1000, 65_536, 524_287, 524_289, 999_999]) {
    const reader = new CountingReader(N);
    const proof = await consistencyProof(m, N, reader);
    assert.ok(reader.reads <= bound, `m ${m}: ${reader.reads} reads`);
    verifyConsistency(m, N, mthOfWidth(m), root, proof);
  }
});

test('resuming the appender at size N reads one hash per set bit of N', async () => {
  const reader = new CountingReader(N);
  const appender = await TreeAppender.open(N, reader);
  assert.equal(reader.reads, N.toString(2).replaceAll('0', '').length);
  assert.deepEqual(appender.root(), mthOfWidth(N));
  appender.appendLeafHash(LEAF);
  assert.deepEqual(appender.root(), mthOfWidth(N + 1));
});
