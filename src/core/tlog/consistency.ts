/**
 * Consistency proofs (RFC 9162 §2.1.4): the proof that the tree of size m is a prefix of the tree of
 * size n, which is what makes the log append-only for anyone holding an older signed checkpoint.
 */
import { type Hash, assertTreeIndex, hashEquals, hashToHex, nodeHash, splitPoint, HASH_SIZE } from './hashing.ts';
import { type ProofRange, hashRanges } from './inclusion.ts';
import type { HashReader } from './stored-hashes.ts';
import { invalid, unprocessable } from '../errors.ts';

/** The ranges of PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true), deepest first as the RFC orders them. */
export function consistencyRanges(m: number, n: number): ProofRange[] {
  assertTreeIndex(m, 'old tree size');
  assertTreeIndex(n, 'new tree size');
  if (m > n) throw invalid('proof_request_invalid', `old tree size ${m} is larger than new tree size ${n}`);
  if (m === 0) throw invalid('proof_request_invalid', 'a consistency proof from the empty tree proves nothing');
  const topDown: ProofRange[] = [];
  let start = 0;
  let end = n;
  // Whether the current subtree's hash is one the verifier already has (the old root itself).
  let known = true;
  for (;;) {
    if (m - start === end - start) {
      if (!known) topDown.push({ start, end });
      break;
    }
    const k = splitPoint(end - start);
    if (m - start <= k) {
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      topDown.push({ start, end: start + k });
      start += k;
      known = false;
    }
  }
  return topDown.reverse();
}

export async function consistencyProof(m: number, n: number, reader: HashReader): Promise<Hash[]> {
  return hashRanges(consistencyRanges(m, n), reader);
}

/** Throws `consistency_proof_invalid` unless the tree (m, oldRoot) is a prefix of (n, newRoot). */
export function verifyConsistency(m: number, n: number, oldRoot: Hash, newRoot: Hash, proof: readonly Hash[]): void {
  const fail = (why: string) =>
    unprocessable('consistency_proof_invalid', `consistency proof from size ${m} to size ${n}: ${why}`);
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0 || n < m) {
    throw fail('the old size must be between 0 and the new size');
  }
  if (oldRoot.length !== HASH_SIZE || newRoot.length !== HASH_SIZE) throw fail('a root hash is not 32 bytes');
  if (m === n) {
    if (proof.length !== 0) throw fail('equal sizes need an empty proof');
    if (!hashEquals(oldRoot, newRoot)) throw fail('the two roots of the same size differ');
    return;
  }
  if (m === 0) throw fail('a proof from the empty tree proves nothing');
  if (proof.length === 0) throw fail('the proof is empty');
  proof.forEach((p, i) => {
    if (p.length !== HASH_SIZE) throw fail(`element ${i} has ${p.length} bytes, not ${HASH_SIZE}`);
  });

  // When m is a power of two the old root is itself a node of the new tree, so the proof omits it.
  const path = isPowerOfTwo(m) ? [oldRoot, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) throw fail(`it has ${proof.length} elements, more than the trees need`);
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw fail(`it has ${proof.length} elements, fewer than the trees need`);
  if (!hashEquals(fr, oldRoot)) {
    throw fail(`it leads to old root ${hashToHex(fr)}, but the old checkpoint has ${hashToHex(oldRoot)}`);
  }
  if (!hashEquals(sr, newRoot)) {
    throw fail(`it leads to new root ${hashToHex(sr)}, but the new checkpoint has ${hashToHex(newRoot)}`);
  }
}

function isPowerOfTwo(x: number): boolean {
  let p = 1;
  while (p < x) p *= 2;
  return p === x;
}
