/**
 * The log persists the hash of every *complete* subtree: at level L, index N is the root of leaves
 * [N·2^L, (N+1)·2^L). These never change once written, which is what lets tiles be immutable, and any
 * subtree of the RFC 6962 tree decomposes into at most log2(n) of them, which is what keeps proofs at
 * O(log n) reads instead of a recomputation over every entry.
 */
import { type Hash, assertHash, assertTreeIndex, emptyRoot, nodeHash } from './hashing.ts';
import { ProvenaError } from '../errors.ts';

/** Where a complete-subtree hash lives: level 0 holds leaf hashes, level L+1 pairs of level L. */
export interface StoredHashIndex {
  level: number;
  index: number;
}

export interface StoredHash extends StoredHashIndex {
  hash: Hash;
}

/** Reads stored hashes in the order asked; the server reads its store, a monitor reads tiles. */
export interface HashReader {
  readHashes(indexes: readonly StoredHashIndex[]): Promise<Hash[]>;
}

/**
 * The complete subtrees that make up leaves [start, end), left to right, largest first. Only valid for
 * the ranges the RFC 6962 recursion produces (start aligned to a power of two ≥ end − start), which is
 * every range proofs ask for.
 */
export function subtreeIndexes(start: number, end: number): StoredHashIndex[] {
  const out: StoredHashIndex[] = [];
  let at = start;
  let remaining = end - start;
  while (remaining > 0) {
    let width = 1;
    let level = 0;
    while (width * 2 <= remaining) {
      width *= 2;
      level++;
    }
    out.push({ level, index: at / width });
    at += width;
    remaining -= width;
  }
  return out;
}

/** Combines the pieces of `subtreeIndexes` into the RFC 6962 hash of the whole range. */
export function combineSubtrees(pieces: readonly Hash[]): Hash {
  if (pieces.length === 0) return emptyRoot();
  // Right to left: each smaller piece is the right child of everything to its left.
  let acc = pieces[pieces.length - 1];
  for (let i = pieces.length - 2; i >= 0; i--) acc = nodeHash(pieces[i], acc);
  return acc;
}

/** Root hash of the first `size` leaves, from at most log2(size) stored hashes. */
export async function treeRoot(size: number, reader: HashReader): Promise<Hash> {
  assertTreeIndex(size, 'tree size');
  const indexes = subtreeIndexes(0, size);
  return combineSubtrees(await readChecked(reader, indexes));
}

/** Reads hashes and checks the reader kept its side of the contract, so a broken store fails loudly. */
export async function readChecked(reader: HashReader, indexes: readonly StoredHashIndex[]): Promise<Hash[]> {
  if (indexes.length === 0) return [];
  const hashes = await reader.readHashes(indexes);
  if (hashes.length !== indexes.length) {
    throw new ProvenaError(
      'hash_reader_failed',
      'internal',
      `hash reader returned ${hashes.length} hashes for ${indexes.length} indexes`,
    );
  }
  hashes.forEach((h, i) => assertHash(h, `stored hash (level ${indexes[i].level}, index ${indexes[i].index})`));
  return hashes;
}
