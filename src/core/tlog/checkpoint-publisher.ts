/**
 * Signs checkpoints in batches. A batch reads the committed size from the database, checks and
 * rebuilds the new part of the tree (batch-check.ts), writes tiles, records the checkpoint in the
 * history table, then serves it. It signs only committed entries and resumes from the history table
 * after a crash, so every checkpoint it ever published is a prefix of every later one.
 *
 * Batching is group commit: when a receipt is waited for and no batch is running, one starts at
 * once; everything committed meanwhile shares the next. Entries nobody waits for are signed within
 * `intervalMs`. One signature and one set of tile writes per batch, not per upload.
 */
import { type Hash, emptyRoot, hashEquals } from './hashing.ts';
import { checkExtension, inconsistent } from './batch-check.ts';
import { parseCheckpoint, signCheckpoint } from './checkpoint.ts';
import type { LogRepo, PublishedCheckpoint } from './log-repo.ts';
import { type NoteSigner, type NoteVerifier, openNote, parseNote } from './note.ts';
import { treeRoot } from './stored-hashes.ts';
import { type LogBlobs, CHECKPOINT_KEY, writeTiles } from './tile-writer.ts';
import { ProvenaError, invalid } from '../errors.ts';

export interface CheckpointPublisherOptions {
  /** the committed view of the log (the store outside any transaction) */
  repo: LogRepo;
  blobs: LogBlobs;
  signer: NoteSigner;
  /** more signatures on every checkpoint signed here: the next key, during a key rotation (key-rotation.ts) */
  cosigners?: readonly NoteSigner[];
  /** the signer's public half: the history must have been signed by this key */
  verifier: NoteVerifier;
  origin: string;
  clock: { now(): Date };
  /** the longest an entry nobody waits for stays unsigned */
  intervalMs: number;
  /** entries per checkpoint at most, so a backlog is published in bounded memory */
  maxBatch: number;
  onError(e: unknown): void;
}

interface Waiter {
  index: number;
  resolve(c: PublishedCheckpoint): void;
  reject(e: unknown): void;
}

export class CheckpointPublisher {
  #latest: PublishedCheckpoint | null = null;
  #waiters: Waiter[] = [];
  #running: Promise<void> | null = null;
  #again = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  constructor(private readonly o: CheckpointPublisherOptions) {}

  /**
   * Resumes from the last signed checkpoint (or signs the empty tree), then signs what was committed
   * but not yet signed before the crash or stop, so the server takes requests with all of it published.
   */
  async start(): Promise<void> {
    const { repo, blobs } = this.o;
    await this.#exclusive(async () => {
      let latest = await repo.latestCheckpoint();
      if (latest) {
        await this.#checkStored(latest);
      } else {
        latest = this.#sign(0, emptyRoot());
        await repo.addCheckpoint(latest);
      }
      // A crash may have struck between recording the checkpoint and serving it.
      await blobs.putBytes(CHECKPOINT_KEY, new TextEncoder().encode(latest.note));
      this.#latest = latest;
    });
    this.#timer = setInterval(() => this.#kick(), this.o.intervalMs);
    this.#timer.unref?.();
    try {
      await this.flush();
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** The newest published checkpoint. */
  latest(): PublishedCheckpoint {
    if (!this.#latest) throw new ProvenaError('log_not_started', 'unavailable', 'the transparency log is starting; retry shortly');
    return this.#latest;
  }

  /** Resolves with the first published checkpoint that covers `index` (a committed entry). */
  waitFor(index: number): Promise<PublishedCheckpoint> {
    if (this.#latest && index < this.#latest.size) return Promise.resolve(this.#latest);
    if (this.#stopped) return Promise.reject(stoppedError());
    return new Promise((resolve, reject) => {
      this.#waiters.push({ index, resolve, reject });
      this.#kick();
    });
  }

  /** Publishes everything committed now, static copy included (on start, and for tests and benchmarks). */
  async flush(): Promise<PublishedCheckpoint> {
    const committed = await this.o.repo.size();
    if (committed > 0) await this.waitFor(committed - 1);
    while (this.#running) await this.#running;
    return this.latest();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    while (this.#running) await this.#running;
    for (const w of this.#waiters.splice(0)) w.reject(stoppedError());
  }

  #kick(): void {
    if (!this.#latest || this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => (this.#running = null));
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      try {
        await this.#publishCommitted();
      } catch (e) {
        this.o.onError(e);
        // Fail the waiting uploads now rather than let them hang; the timer keeps retrying.
        for (const w of this.#waiters.splice(0)) w.reject(e);
      }
    } while (this.#again && !this.#stopped);
  }

  async #publishCommitted(): Promise<void> {
    const committed = await this.o.repo.size();
    if (this.latest().size >= committed) return;
    await this.#exclusive(async () => {
      // another replica may have signed past this one's latest meanwhile: continue from its checkpoint
      if (this.o.repo.withPublisherLock) await this.#adoptStored();
      while (this.latest().size < committed) {
        await this.#publish(Math.min(committed, this.latest().size + this.o.maxBatch));
      }
    });
  }

  /** One signer at a time across processes sharing the database (LogRepo.withPublisherLock). */
  #exclusive(fn: () => Promise<void>): Promise<void> {
    const { repo } = this.o;
    return repo.withPublisherLock ? repo.withPublisherLock(fn) : fn();
  }

  /** Takes over a newer checkpoint another replica recorded, after the same checks as on start. */
  async #adoptStored(): Promise<void> {
    const stored = await this.o.repo.latestCheckpoint();
    if (!stored || stored.size <= this.latest().size) return;
    await this.#checkStored(stored);
    this.#latest = stored;
    this.#release(stored);
  }

  async #checkStored(c: PublishedCheckpoint): Promise<void> {
    this.#checkResumable(c);
    const root = await treeRoot(c.size, this.o.repo);
    if (!hashEquals(root, c.root)) throw inconsistent(`the stored tree of size ${c.size} no longer has the root the log signed`);
  }

  #release(c: PublishedCheckpoint): void {
    const still: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.index < c.size) w.resolve(c);
      else still.push(w);
    }
    this.#waiters = still;
  }

  async #publish(size: number): Promise<void> {
    const { repo, blobs } = this.o;
    const previous = this.latest();
    const ext = await checkExtension(repo, previous, size);
    await writeTiles(blobs, repo, previous.size, ext);
    const next = this.#sign(ext.size, ext.root);
    // Recorded before anyone sees it: a restart resumes from here and never signs another tree.
    await repo.addCheckpoint(next);
    this.#latest = next;
    this.#release(next);
    // The static copy for CDNs and buckets, after its tiles; the server itself answers from memory.
    await blobs.putBytes(CHECKPOINT_KEY, new TextEncoder().encode(next.note));
  }

  #sign(size: number, root: Hash): PublishedCheckpoint {
    const note = signCheckpoint({ origin: this.o.origin, size, root, extensions: [] }, [this.o.signer, ...(this.o.cosigners ?? [])]);
    return { size, root, note, createdAt: this.o.clock.now().toISOString() };
  }

  /** The history must be this log's: same origin, and a note that says what its row says. */
  #checkResumable(latest: PublishedCheckpoint): void {
    const c = parseCheckpoint(parseNote(latest.note).text);
    if (c.origin !== this.o.origin) {
      throw invalid(
        'log_origin_changed',
        `the log's checkpoints are for origin ${JSON.stringify(c.origin)} but the server is configured for ${JSON.stringify(this.o.origin)}; a log cannot change its origin (set log_origin back, or start a new data directory)`,
      );
    }
    try {
      openNote(latest.note, [this.o.verifier]);
    } catch {
      throw invalid(
        'log_key_changed',
        `the log's last checkpoint was not signed by the configured log key ${this.o.signer.name}; monitors trust the old key, so the server will not continue the log with another (restore DATA/log-key or the log_key setting)`,
      );
    }
    if (c.size !== latest.size || !hashEquals(c.root, latest.root)) {
      throw inconsistent(`the last checkpoint's note (size ${c.size}) does not match its history row (size ${latest.size})`);
    }
  }
}

function stoppedError(): ProvenaError {
  return new ProvenaError('log_stopped', 'unavailable', 'the transparency log is shutting down; retry against the restarted server');
}
