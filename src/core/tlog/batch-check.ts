/**
 * Before the log signs a bigger tree it rebuilds the new part from the entries themselves, starting
 * from the right edge of the last signed tree, and requires the database to agree hash for hash.
 * The root it signs is the rebuilt one, so by construction it extends the last checkpoint: a
 * database that was edited (an entry rewritten, a hash changed, rows lost) stops the signer instead
 * of producing a fork that monitors would catch only afterwards.
 */
import { type Hash, hashEquals, hashToHex, leafHash } from './hashing.ts';
import type { LogRepo } from './log-repo.ts';
import type { StoredHash } from './stored-hashes.ts';
import { TILE_WIDTH } from './tile-path.ts';
import { TreeAppender } from './tree-appender.ts';
import { ProvenaError } from '../errors.ts';

export interface CheckedExtension {
  size: number;
  root: Hash;
  /** first index of `entries`: the start of the entry bundle that holds the previous size */
  bundleStart: number;
  /** entries [bundleStart, size), each checked against its stored leaf hash */
  entries: Uint8Array[];
}

export async function checkExtension(repo: LogRepo, previous: { size: number; root: Hash }, size: number): Promise<CheckedExtension> {
  if (size < previous.size) {
    throw inconsistent(`the database holds ${size} entries, fewer than the ${previous.size} the last checkpoint signed`);
  }
  const appender = await TreeAppender.open(previous.size, repo);
  if (!hashEquals(appender.root(), previous.root)) {
    throw inconsistent(`the stored hashes of the first ${previous.size} entries no longer give the signed root ${hashToHex(previous.root)}`);
  }
  const bundleStart = previous.size - (previous.size % TILE_WIDTH);
  const entries = await repo.entries(bundleStart, size);
  const kept = previous.size - bundleStart;
  // Entries already signed but re-served in the grown tail bundle: their leaves must still match.
  const expected: StoredHash[] = entries.slice(0, kept).map((e, i) => ({ level: 0, index: bundleStart + i, hash: leafHash(e) }));
  for (const e of entries.slice(kept)) expected.push(...appender.appendEntry(e));
  const stored = await repo.readHashes(expected);
  const bad = expected.findIndex((h, i) => !hashEquals(h.hash, stored[i]));
  if (bad >= 0) {
    const h = expected[bad];
    throw inconsistent(`the stored hash at level ${h.level}, index ${h.index} does not match the logged entries`);
  }
  return { size, root: appender.root(), bundleStart, entries };
}

export function inconsistent(why: string): ProvenaError {
  return new ProvenaError(
    'log_store_inconsistent',
    'internal',
    `the transparency log refuses to sign: ${why}. The database was altered or damaged; restore it from a backup`,
  );
}
