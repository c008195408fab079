/**
 * The sequencer's view of the tree while appending: only the right edge ("frontier") of complete
 * subtrees, one per set bit of the size. Appending a leaf needs no reads, and yields exactly the
 * complete-subtree hashes that became final, which the server stores next to the entry in the same
 * transaction so tiles and proofs can be served without ever rehashing old entries.
 */
import { type Hash, assertHash, assertTreeIndex, emptyRoot, leafHash, nodeHash } from './hashing.ts';
import { type HashReader, type StoredHash, combineSubtrees, readChecked, subtreeIndexes } from './stored-hashes.ts';
import { invalid } from '../errors.ts';

export class TreeAppender {
  #size: number;
  /** Complete subtrees covering [0, size), left to right, strictly decreasing levels. */
  readonly #frontier: StoredHash[];

  private constructor(size: number, frontier: StoredHash[]) {
    this.#size = size;
    this.#frontier = frontier;
  }

  /** An appender for an empty log. */
  static empty(): TreeAppender {
    return new TreeAppender(0, []);
  }

  /** Resumes at `size` by reading the popcount(size) frontier hashes from the store. */
  static async open(size: number, reader: HashReader): Promise<TreeAppender> {
    assertTreeIndex(size, 'tree size');
    return TreeAppender.fromFrontier(size, await readChecked(reader, subtreeIndexes(0, size)));
  }

  /** Resumes at `size` from the frontier hashes themselves, largest subtree first (see `frontier`). */
  static fromFrontier(size: number, hashes: readonly Hash[]): TreeAppender {
    assertTreeIndex(size, 'tree size');
    const indexes = subtreeIndexes(0, size);
    if (hashes.length !== indexes.length) {
      throw invalid('frontier_invalid', `a tree of size ${size} has ${indexes.length} frontier hashes, got ${hashes.length}`);
    }
    hashes.forEach((h) => assertHash(h, 'frontier hash'));
    return new TreeAppender(
      size,
      indexes.map((ix, i) => ({ ...ix, hash: hashes[i] })),
    );
  }

  get size(): number {
    return this.#size;
  }

  /** The hashes of the complete subtrees covering [0, size), largest first: all an appender needs. */
  frontier(): Hash[] {
    return this.#frontier.map((f) => f.hash);
  }

  /** The RFC 6962 root of the tree so far. */
  root(): Hash {
    return this.#frontier.length === 0 ? emptyRoot() : combineSubtrees(this.#frontier.map((f) => f.hash));
  }

  /** Appends an entry; returns the new stored hashes (leaf first, then each completed parent). */
  appendEntry(entry: Uint8Array): StoredHash[] {
    return this.appendLeafHash(leafHash(entry));
  }

  appendLeafHash(hash: Hash): StoredHash[] {
    assertHash(hash, 'leaf hash');
    if (!Number.isSafeInteger(this.#size + 1)) {
      throw invalid('tree_full', `tree size ${this.#size} cannot grow further`);
    }
    const created: StoredHash[] = [{ level: 0, index: this.#size, hash }];
    this.#frontier.push(created[0]);
    // Two equal-level subtrees at the end are siblings: merge them, like a binary carry.
    for (;;) {
      const n = this.#frontier.length;
      if (n < 2 || this.#frontier[n - 2].level !== this.#frontier[n - 1].level) break;
      const right = this.#frontier.pop()!;
      const left = this.#frontier.pop()!;
      const parent: StoredHash = { level: left.level + 1, index: left.index / 2, hash: nodeHash(left.hash, right.hash) };
      this.#frontier.push(parent);
      created.push(parent);
    }
    this.#size++;
    return created;
  }
}
