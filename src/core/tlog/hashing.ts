/**
 * RFC 6962 §2.1 hashing: the only place that knows the 0x00/0x01 domain-separation prefixes, so a leaf can
 * never be passed off as an interior node (second-preimage resistance).
 */
import { createHash } from 'node:crypto';
import { invalid } from '../errors.ts';

/** A SHA-256 Merkle tree hash: always 32 bytes. */
export type Hash = Uint8Array;

export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** The hash of an empty tree: SHA-256 of no bytes. */
export function emptyRoot(): Hash {
  return sha256(new Uint8Array(0));
}

export function leafHash(entry: Uint8Array): Hash {
  return sha256(LEAF_PREFIX, entry);
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return sha256(NODE_PREFIX, left, right);
}

/** Root of a list of leaf hashes kept in memory (tiles, small trees); the log itself uses stored hashes. */
export function rootOfLeafHashes(hashes: readonly Hash[]): Hash {
  if (hashes.length === 0) return emptyRoot();
  let level = [...hashes];
  while (level.length > 1) {
    const next: Hash[] = [];
    // An odd last node is promoted unchanged: RFC 6962 splits at the largest power of two, which
    // for a left-aligned level is the same as pairing from the left.
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i], level[i + 1]));
    if (level.length % 2 === 1) next.push(level[level.length - 1]);
    level = next;
  }
  return level[0];
}

export function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function hashToHex(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');
}

export function hashToBase64(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('base64');
}

/** Checks a value is a 32-byte hash; `what` names it in the error (e.g. "inclusion proof element 3"). */
export function assertHash(h: unknown, what: string): asserts h is Hash {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    const got = h instanceof Uint8Array ? `${h.length} bytes` : typeof h;
    throw invalid('hash_malformed', `${what} must be a ${HASH_SIZE}-byte SHA-256 hash, got ${got}`);
  }
}

/** Tree sizes and indexes are plain numbers: exact up to 2^53, far beyond any log we will run. */
export function assertTreeIndex(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw invalid('tree_index_invalid', `${what} must be a non-negative integer, got ${n}`);
  }
}

/** Largest power of two strictly less than n (n ≥ 2): the RFC 6962 split point `k`. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function sha256(...parts: Uint8Array[]): Hash {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  // A plain Uint8Array (not a Buffer) so hashes compare equal whatever produced them.
  return new Uint8Array(h.digest());
}
