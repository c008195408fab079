// Proofs built from stored hashes must equal the RFC 6962 recursive definitions (MTH, PATH, SUBPROOF),
// written here naively over the leaf list, for sizes 1..2000 chosen by a seeded generator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { MemoryHashStore } from '../../../src/core/tlog/memory-hash-store.ts';
import { treeRoot } from '../../../src/core/tlog/stored-hashes.ts';
import { inclusionProof, verifyInclusion } from '../../../src/core/tlog/inclusion.ts';
import { consistencyProof, verifyConsistency } from '../../../src/core/tlog/consistency.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const MAX = 2000;
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const entries = Array.from({ length: MAX }, (_, i) => new TextEncoder().encode(`entry ${i}`));

// Naive RFC 6962 §2.1, memoised on the range only so 2000-leaf trees stay quick.
const memo = new Map<string, string>();
function mth(start: number, end: number): string {
  const key = `${start}:${end}`;
  let h = memo.get(key);
  if (h === undefined) {
    if (end - start === 1) h = sha(Uint8Array.of(0), entries[start]);
    else {
      let k = 1;
      while (k * 2 < end - start) k *= 2;
      h = sha(Uint8Array.of(1), Buffer.from(mth(start, start + k), 'hex'), Buffer.from(mth(start + k, end), 'hex'));
    }
    memo.set(key, h);
  }
  return h;
}
function path(m: number, start: number, end: number): string[] {
  if (end - start <= 1) return [];
  let k = 1;
  while (k * 2 < end - start) k *= 2;
  return m - start < k
    ? [...path(m, start, start + k), mth(start + k, end)]
    : [...path(m, start + k, end), mth(start, start + k)];
}
function subproof(m: number, start: number, end: number, b: boolean): string[] {
  if (m === end) return b ? [] : [mth(start, end)];
  let k = 1;
  while (k * 2 < end - start) k *= 2;
  return m - start <= k
    ? [...subproof(m, start, start + k, b), mth(start + k, end)]
    : [...subproof(m, start + k, end, false), mth(start, start + k)];
}

// mulberry32: a fixed seed makes every run check the same pairs.
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const store = new MemoryHashStore();
const appender = TreeAppender.empty();
for (const e of entries) store.put(appender.appendEntry(e));
const toHex = (hs: Uint8Array[]) => hs.map((h) => Buffer.from(h).toString('hex'));
const fromHex = (hs: string[]) => hs.map((h) => new Uint8Array(Buffer.from(h, 'hex')));

function sampleSizes(random: () => number): number[] {
  const fixed = [1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 1999, 2000];
  const picked = Array.from({ length: 40 }, () => 1 + Math.floor(random() * MAX));
  return [...new Set([...fixed, ...picked])];
}
function sampleBelow(n: number, random: () => number, count: number): number[] {
  const edges = [0, 1, n - 2, n - 1, Math.floor(n / 2)];
  for (let p = 1; p < n; p *= 2) edges.push(p - 1, p, p + 1);
  const picked = Array.from({ length: count }, () => Math.floor(random() * n));
  return [...new Set([...edges, ...picked])].filter((x) => x >= 0 && x < n);
}

test('roots from stored hashes equal the naive MTH at every size 1..2000', async () => {
  for (let n = 1; n <= MAX; n++) {
    assert.equal(Buffer.from(await treeRoot(n, store)).toString('hex'), mth(0, n), `size ${n}`);
  }
});

test('inclusion proofs equal naive PATH and verify; any flipped bit fails', async () => {
  const random = rng(6962);
  for (const n of sampleSizes(random)) {
    const root = new Uint8Array(Buffer.from(mth(0, n), 'hex'));
    for (const i of sampleBelow(n, random, 12)) {
      const proof = await inclusionProof(i, n, store);
      assert.deepEqual(toHex(proof), path(i, 0, n), `PATH(${i}, ${n})`);
      const leaf = new Uint8Array(Buffer.from(mth(i, i + 1), 'hex'));
      verifyInclusion(i, n, leaf, proof, root);
      if (proof.length > 0) {
        const j = Math.floor(random() * proof.length);
        const bad = fromHex(toHex(proof));
        bad[j][Math.floor(random() * 32)] ^= 1 << Math.floor(random() * 8);
        assert.throws(() => verifyInclusion(i, n, leaf, bad, root), (e) => isProvenaError(e) && e.code === 'inclusion_proof_invalid');
      }
      if (n > 1) {
        // The same proof must not prove the leaf at another position.
        assert.throws(() => verifyInclusion((i + 1) % n, n, leaf, proof, root), (e) => isProvenaError(e));
      }
    }
  }
});

test('consistency proofs equal naive SUBPROOF and verify; tampering fails', async () => {
  const random = rng(9162);
  for (const n of sampleSizes(random)) {
    const newRoot = new Uint8Array(Buffer.from(mth(0, n), 'hex'));
    for (const m of sampleBelow(n, random, 12).filter((m) => m >= 1)) {
      const oldRoot = new Uint8Array(Buffer.from(mth(0, m), 'hex'));
      const proof = await consistencyProof(m, n, store);
      assert.deepEqual(toHex(proof), subproof(m, 0, n, true), `PROOF(${m}, ${n})`);
      verifyConsistency(m, n, oldRoot, newRoot, proof);
      const bad = fromHex(toHex(proof));
      bad[Math.floor(random() * bad.length)][Math.floor(random() * 32)] ^= 1;
      assert.throws(() => verifyConsistency(m, n, oldRoot, newRoot, bad), (e) => isProvenaError(e) && e.code === 'consistency_proof_invalid');
      assert.throws(() => verifyConsistency(m, n, newRoot, oldRoot, proof), (e) => isProvenaError(e) && e.code === 'consistency_proof_invalid');
      if (m + 1 < n) {
        assert.throws(() => verifyConsistency(m + 1, n, oldRoot, newRoot, proof), (e) => isProvenaError(e));
      }
    }
  }
});

test('every (m, n) pair up to 64 leaves, exhaustively', async () => {
  for (let n = 1; n <= 64; n++) {
    const newRoot = new Uint8Array(Buffer.from(mth(0, n), 'hex'));
    for (let m = 1; m < n; m++) {
      const proof = await consistencyProof(m, n, store);
      assert.deepEqual(toHex(proof), subproof(m, 0, n, true), `PROOF(${m}, ${n})`);
      verifyConsistency(m, n, new Uint8Array(Buffer.from(mth(0, m), 'hex')), newRoot, proof);
    }
    for (let i = 0; i < n; i++) {
      const proof = await inclusionProof(i, n, store);
      assert.deepEqual(toHex(proof), path(i, 0, n), `PATH(${i}, ${n})`);
    }
  }
});
