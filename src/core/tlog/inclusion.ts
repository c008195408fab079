/**
 * Inclusion proofs (RFC 9162 §2.1.3): generated from stored complete-subtree hashes, verified with the
 * RFC's bit-walking algorithm, which needs nothing but the proof, the leaf hash and the signed root.
 */
import { type Hash, assertTreeIndex, hashEquals, hashToHex, nodeHash, splitPoint, HASH_SIZE } from './hashing.ts';
import { type HashReader, type StoredHashIndex, combineSubtrees, readChecked, subtreeIndexes } from './stored-hashes.ts';
import { invalid, unprocessable } from '../errors.ts';

/** A leaf range [start, end) whose RFC 6962 hash is one proof element. */
export interface ProofRange {
  start: number;
  end: number;
}

/** The sibling ranges of PATH(index, D[0:size]), leaf-side first, as RFC 9162 orders them. */
export function inclusionRanges(index: number, size: number): ProofRange[] {
  assertTreeIndex(index, 'leaf index');
  assertTreeIndex(size, 'tree size');
  if (index >= size) {
    throw invalid('proof_request_invalid', `leaf index ${index} is not in a tree of size ${size}`);
  }
  const topDown: ProofRange[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index - start < k) {
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      topDown.push({ start, end: start + k });
      start += k;
    }
  }
  return topDown.reverse();
}

/** Hashes of the given ranges, read in one batch: each range costs popcount(width) stored hashes. */
export async function hashRanges(ranges: readonly ProofRange[], reader: HashReader): Promise<Hash[]> {
  const pieces = ranges.map((r) => subtreeIndexes(r.start, r.end));
  const flat: StoredHashIndex[] = pieces.flat();
  const hashes = await readChecked(reader, flat);
  const out: Hash[] = [];
  let at = 0;
  for (const p of pieces) {
    out.push(combineSubtrees(hashes.slice(at, at + p.length)));
    at += p.length;
  }
  return out;
}

export async function inclusionProof(index: number, size: number, reader: HashReader): Promise<Hash[]> {
  return hashRanges(inclusionRanges(index, size), reader);
}

/** The root a proof leads to; throws `inclusion_proof_invalid` when the proof cannot fit the tree shape. */
export function rootFromInclusionProof(index: number, size: number, leaf: Hash, proof: readonly Hash[]): Hash {
  const fail = (why: string) =>
    unprocessable('inclusion_proof_invalid', `inclusion proof for leaf ${index} in tree of size ${size}: ${why}`);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw fail('the leaf index is outside the tree');
  }
  if (leaf.length !== HASH_SIZE) throw fail(`the leaf hash has ${leaf.length} bytes, not ${HASH_SIZE}`);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const [i, p] of proof.entries()) {
    if (p.length !== HASH_SIZE) throw fail(`element ${i} has ${p.length} bytes, not ${HASH_SIZE}`);
    if (sn === 0) throw fail(`it has ${proof.length} elements, more than the tree is tall`);
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // Skip the levels where this node has no right sibling: it is promoted unchanged.
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw fail(`it has ${proof.length} elements, fewer than the tree needs`);
  return r;
}

/** Throws `inclusion_proof_invalid` unless `leaf` is at `index` in the tree of `size` with `root`. */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): void {
  const got = rootFromInclusionProof(index, size, leaf, proof);
  if (!hashEquals(got, root)) {
    throw unprocessable(
      'inclusion_proof_invalid',
      `inclusion proof for leaf ${index} leads to root ${hashToHex(got)}, but the tree of size ${size} has root ${hashToHex(root)}`,
    );
  }
}
