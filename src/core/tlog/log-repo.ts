/**
 * What the transparency log needs from the metadata store. The sequence lives in the database, next
 * to the changes it records, so that an entry is committed (or rolled back) with its change and
 * there is never a publish without its entry or an entry without its publish.
 */
import type { Hash } from './hashing.ts';
import type { HashReader, StoredHash } from './stored-hashes.ts';

/** What an entry is about, stored beside its bytes so a file's entries are found without parsing the log. */
export interface EntrySubject {
  channel: string;
  subdir: string | null;
  filename: string | null;
  sha256: string | null;
  action: string;
}

/** The opening of a blinded entry, as stored (blinding.ts): never served to whoever cannot read `channel`. */
export interface StoredOpening {
  channel: string;
  /** the 32-byte salt, lowercase hex */
  salt: string;
  /** the full entry, canonical JSON */
  entry: string;
}

/** A checkpoint the log signed and published, as kept in the history table. */
export interface PublishedCheckpoint {
  size: number;
  root: Hash;
  /** the signed note, exactly as served at `/log/checkpoint` */
  note: string;
  createdAt: string;
}

/** The log head: the tree size and the hashes of its right edge (TreeAppender.frontier). */
export interface LogHead {
  size: number;
  frontier: Hash[];
}

export interface LogRepo extends HashReader {
  /**
   * The sequencer: takes the next index (the next `count`, default one, for a bulk append) inside the
   * caller's transaction and returns the first with the right edge before it. The head's write lock is held until commit (SQLite's single writer; a row
   * lock on PostgreSQL), so concurrent transactions get consecutive indexes and a rollback gives
   * its index back. The caller stores the new right edge with `setFrontier`.
   */
  claimHead(count?: number): Promise<{ index: number; frontier: Hash[] }>;
  setFrontier(frontier: readonly Hash[]): Promise<void>;
  /**
   * Compare-and-swap: moves the head from `expected` to `count` entries more (default one) with `frontier`, only if the
   * head is exactly `expected` now. False (nothing changed) when it is not.
   */
  advanceHead(expected: LogHead, frontier: readonly Hash[], count?: number): Promise<boolean>;
  insertEntry(index: number, bytes: Uint8Array, subject: EntrySubject): Promise<void>;
  /** Many entries at once (multi-row inserts): a bulk append's. */
  insertEntries(rows: readonly { index: number; bytes: Uint8Array; subject: EntrySubject }[]): Promise<void>;
  insertHashes(hashes: readonly StoredHash[]): Promise<void>;
  /**
   * Whether entries about `channel` may be logged in the clear, read in the append's transaction:
   * true only for a channel that exists and is public. Anything else is blinded (fail closed).
   */
  channelIsPublic(channel: string): Promise<boolean>;
  /** Stores a blinded entry's opening, in the append's transaction. */
  insertOpening(index: number, opening: StoredOpening): Promise<void>;
  /** The openings of blinded entries in [start, end), by index. */
  openings(start: number, end: number): Promise<Map<number, StoredOpening>>;
  /** The tree size; outside a transaction, only what is committed. */
  size(): Promise<number>;
  /** Entries [start, end), in order; throws `log_entry_missing` for a gap. */
  entries(start: number, end: number): Promise<Uint8Array[]>;
  /** The newest entry about this file with this action (and digest, when given). */
  latestEntryFor(subject: EntrySubject): Promise<number | null>;
  /** Records a signed checkpoint; a second one of the same size (another replica's) is ignored. */
  addCheckpoint(checkpoint: PublishedCheckpoint): Promise<void>;
  latestCheckpoint(): Promise<PublishedCheckpoint | null>;
  /**
   * Runs `fn` while no other process signs or publishes this log's checkpoints: replicas sharing a
   * database take turns, so the tiles and `log/checkpoint` in their shared storage only ever move
   * forward. Absent where only one process can write the database (SQLite).
   */
  withPublisherLock?<T>(fn: () => Promise<T>): Promise<T>;
}

/** A store that holds a log and can run a transaction over it (the MetadataStore does both). */
export interface LogTransactions {
  readonly log: LogRepo;
  transaction<T>(fn: (tx: LogTransactions) => Promise<T>): Promise<T>;
}
