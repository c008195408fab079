/**
 * Stored hashes kept in a Map: the reference behaviour that database-backed stores must match, and
 * what tests and a throwaway dev log use.
 */
import type { Hash } from './hashing.ts';
import type { HashReader, StoredHash, StoredHashIndex } from './stored-hashes.ts';
import { notFound } from '../errors.ts';

export class MemoryHashStore implements HashReader {
  readonly #hashes = new Map<string, Hash>();

  put(hashes: readonly StoredHash[]): void {
    for (const h of hashes) this.#hashes.set(key(h), h.hash);
  }

  async readHashes(indexes: readonly StoredHashIndex[]): Promise<Hash[]> {
    return indexes.map((ix) => {
      const h = this.#hashes.get(key(ix));
      if (h === undefined) {
        throw notFound('stored_hash_missing', `no stored hash at level ${ix.level}, index ${ix.index}`);
      }
      return h;
    });
  }

  get count(): number {
    return this.#hashes.size;
  }
}

function key(ix: StoredHashIndex): string {
  return `${ix.level}/${ix.index}`;
}
