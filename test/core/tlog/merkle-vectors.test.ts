// Published RFC 6962 vectors: the 8-leaf tree of the certificate-transparency test suite (as kept in
// transparency-dev/merkle testonly/constants.go) and transparency-dev/merkle's proof vectors, which
// include negative cases (tampered proofs, wrong sizes, garbage) that verification must reject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { emptyRoot, hashToHex, leafHash, rootOfLeafHashes } from '../../../src/core/tlog/hashing.ts';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { MemoryHashStore } from '../../../src/core/tlog/memory-hash-store.ts';
import { treeRoot } from '../../../src/core/tlog/stored-hashes.ts';
import { inclusionProof, verifyInclusion } from '../../../src/core/tlog/inclusion.ts';
import { consistencyProof, verifyConsistency } from '../../../src/core/tlog/consistency.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

// testonly.LeafInputs() and RootHashes() (index = tree size).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(hex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// NodeHashes() level 1 and 2 (complete subtrees the server must store).
const LEVEL1 = ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0'];
const LEVEL2 = ['d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'];

interface InclusionVector { leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[]; desc: string; wantErr: boolean; file: string }
interface ConsistencyVector { size1: number; size2: number; root1: string; root2: string; proof: string[]; desc: string; wantErr: boolean; file: string }
const VECTORS = JSON.parse(readFileSync(new URL('./fixtures/merkle-proof-vectors.json', import.meta.url), 'utf8')) as {
  inclusion: InclusionVector[];
  consistency: ConsistencyVector[];
};

async function buildTree(leaves: Uint8Array[]) {
  const store = new MemoryHashStore();
  const appender = TreeAppender.empty();
  const roots: string[] = [hashToHex(appender.root())];
  for (const leaf of leaves) {
    store.put(appender.appendEntry(leaf));
    roots.push(hashToHex(appender.root()));
  }
  return { store, roots };
}

test('roots of the 8-leaf RFC 6962 tree at every size, three ways', async () => {
  const { store, roots } = await buildTree(LEAVES);
  assert.deepEqual(roots, ROOTS);
  for (let n = 0; n <= 8; n++) {
    assert.equal(hashToHex(await treeRoot(n, store)), ROOTS[n], `treeRoot(${n})`);
    assert.equal(hashToHex(rootOfLeafHashes(LEAVES.slice(0, n).map(leafHash))), ROOTS[n], `rootOfLeafHashes(${n})`);
  }
  assert.equal(hashToHex(emptyRoot()), ROOTS[0]);
});

test('the appender stores exactly the complete subtrees (2n − 1 hashes for n = 8)', async () => {
  const { store } = await buildTree(LEAVES);
  assert.equal(store.count, 8 + 4 + 2 + 1);
  const l1 = await store.readHashes([0, 1, 2, 3].map((index) => ({ level: 1, index })));
  assert.deepEqual(l1.map(hashToHex), LEVEL1);
  const l2 = await store.readHashes([0, 1].map((index) => ({ level: 2, index })));
  assert.deepEqual(l2.map(hashToHex), LEVEL2);
});

test('appender resumed from the store continues the same tree', async () => {
  const { store } = await buildTree(LEAVES.slice(0, 5));
  const resumed = await TreeAppender.open(5, store);
  assert.equal(hashToHex(resumed.root()), ROOTS[5]);
  for (const leaf of LEAVES.slice(5)) store.put(resumed.appendEntry(leaf));
  assert.equal(hashToHex(resumed.root()), ROOTS[8]);
});

test('generated proofs equal the published happy-path proofs', async () => {
  const { store } = await buildTree(LEAVES);
  const happyInclusion = VECTORS.inclusion.filter((v) => !v.wantErr && v.treeSize >= 1 && v.treeSize <= 8 && v.file.includes('happy-path'));
  const happyConsistency = VECTORS.consistency.filter((v) => !v.wantErr && v.file.includes('happy-path'));
  assert.ok(happyInclusion.length >= 4 && happyConsistency.length >= 4);
  for (const v of happyInclusion) {
    const proof = await inclusionProof(v.leafIdx, v.treeSize, store);
    assert.deepEqual(proof.map((h) => Buffer.from(h).toString('base64')), v.proof, v.file);
  }
  for (const v of happyConsistency) {
    const proof = v.size1 === v.size2 ? [] : await consistencyProof(v.size1, v.size2, store);
    assert.deepEqual(proof.map((h) => Buffer.from(h).toString('base64')), v.proof, v.file);
  }
});

// We refuse any hash that is not 32 bytes, even where the reference library does not look at it
// (equal sizes, where it only compares the two roots): such input is malformed, never a valid proof.
const malformedHashes = (hashes: string[]) => hashes.some((h) => b64(h).length !== 32);

test('every published inclusion vector verifies or fails as published', () => {
  assert.ok(VECTORS.inclusion.length > 50);
  for (const v of VECTORS.inclusion) {
    const mustFail = v.wantErr || malformedHashes([v.root, v.leafHash, ...v.proof]);
    const run = () => verifyInclusion(v.leafIdx, v.treeSize, b64(v.leafHash), v.proof.map(b64), b64(v.root));
    if (mustFail) {
      assert.throws(run, (e) => isProvenaError(e) && e.code === 'inclusion_proof_invalid', `${v.file}: ${v.desc}`);
    } else {
      assert.doesNotThrow(run, `${v.file}: ${v.desc}`);
    }
  }
});

test('every published consistency vector verifies or fails as published', () => {
  assert.ok(VECTORS.consistency.length > 50);
  for (const v of VECTORS.consistency) {
    const mustFail = v.wantErr || malformedHashes([v.root1, v.root2, ...v.proof]);
    const run = () => verifyConsistency(v.size1, v.size2, b64(v.root1), b64(v.root2), v.proof.map(b64));
    if (mustFail) {
      assert.throws(run, (e) => isProvenaError(e) && e.code === 'consistency_proof_invalid', `${v.file}: ${v.desc}`);
    } else {
      assert.doesNotThrow(run, `${v.file}: ${v.desc}`);
    }
  }
});
