/**
 * The server's transparency log: what channel operations, HTTP routes and the CLI use. Appends go
 * through the caller's transaction (sequencer.ts); signing, tiles and waiting for a checkpoint are
 * the publisher's (checkpoint-publisher.ts); proofs are computed from the stored hashes.
 */
import { encodeBase64 } from './base64.ts';
import { CheckpointPublisher } from './checkpoint-publisher.ts';
import { consistencyProof } from './consistency.ts';
import { type LogEntry, type LoggedEntry, parseEntry } from './entry.ts';
import { encodeEntryBundle } from './entry-bundle.ts';
import { hashEquals, leafHash } from './hashing.ts';
import { inconsistent } from './batch-check.ts';
import type { LogTransactions, PublishedCheckpoint } from './log-repo.ts';
import { type SignerKey, formatVerifierKey, verifierKeyOf } from './note-keys.ts';
import { ed25519Signer, ed25519Verifier } from './note.ts';
import { type Receipt, buildReceipt, readOpening } from './receipt.ts';
import { LogSequencer } from './sequencer.ts';
import { type TileResource, TILE_WIDTH } from './tile-path.ts';
import { hashesAtTileLevel, readTileData, tileHashes } from './tiles.ts';
import type { LogBlobs } from './tile-writer.ts';
import { invalid, notFound } from '../errors.ts';

export interface TransparencyLogOptions {
  store: LogTransactions;
  blobs: LogBlobs;
  key: SignerKey;
  /** the next key, during a key rotation: every checkpoint is signed by both (key-rotation.ts) */
  cosignWith?: SignerKey;
  /** the checkpoint origin, e.g. `conda.example.org/log` */
  origin: string;
  clock: { now(): Date };
  /** the longest an entry nobody waits for stays unsigned (default 100 ms) */
  intervalMs?: number;
  /** entries per checkpoint at most (default 16,384) */
  maxBatch?: number;
  onError?(e: unknown): void;
}

export class TransparencyLog {
  readonly origin: string;
  /** the C2SP verifier key text served at /log/key */
  readonly verifierKey: string;
  readonly #store: LogTransactions;
  readonly #publisher: CheckpointPublisher;
  readonly #sequencer = new LogSequencer();

  constructor(o: TransparencyLogOptions) {
    this.origin = o.origin;
    this.verifierKey = formatVerifierKey(verifierKeyOf(o.key));
    this.#store = o.store;
    this.#publisher = new CheckpointPublisher({
      repo: o.store.log,
      blobs: o.blobs,
      signer: ed25519Signer(o.key),
      cosigners: o.cosignWith ? [ed25519Signer(o.cosignWith)] : [],
      verifier: ed25519Verifier(verifierKeyOf(o.key)),
      origin: o.origin,
      clock: o.clock,
      intervalMs: o.intervalMs ?? 100,
      maxBatch: o.maxBatch ?? 16_384,
      onError: o.onError ?? (() => undefined),
    });
  }

  /** Appends inside `tx`, the transaction of the change the entry records; returns its index. */
  append(tx: LogTransactions, entry: LogEntry): Promise<number> {
    return this.#sequencer.append(tx, entry);
  }

  /** Appends many entries inside `tx` at consecutive indexes (a bulk import); returns them in order. */
  appendMany(tx: LogTransactions, entries: readonly LogEntry[]): Promise<number[]> {
    return this.#sequencer.appendMany(tx, entries);
  }

  start(): Promise<void> {
    return this.#publisher.start();
  }

  stop(): Promise<void> {
    return this.#publisher.stop();
  }

  latest(): PublishedCheckpoint {
    return this.#publisher.latest();
  }

  /** The first checkpoint that covers `index`; at most one batch away for a committed entry. */
  waitForCheckpoint(index: number): Promise<PublishedCheckpoint> {
    return this.#publisher.waitFor(index);
  }

  flush(): Promise<PublishedCheckpoint> {
    return this.#publisher.flush();
  }

  prepareReceipt(index: number): void {
    // failures reach whoever asks for the receipt; nothing to report here
    this.waitForCheckpoint(index).catch(() => undefined);
  }

  /**
   * The receipt of a committed entry, under the first checkpoint that covers it, with the opening of a
   * blinded entry: only for callers that checked read access to its channel (the uploader's response,
   * FILE.receipt.json).
   */
  async receipt(index: number): Promise<Receipt> {
    return buildReceipt(this.#store.log, index, await this.waitForCheckpoint(index), true);
  }

  /**
   * An entry with its inclusion proof to the latest checkpoint (GET /api/v1/log/entries/N). A blinded
   * entry's opening is added only when `mayRead(channel)` says the caller reads that channel; others
   * get the blinded entry, as anyone can read it in the tiles.
   */
  async entry(index: number, mayRead: (channel: string) => Promise<boolean>): Promise<Receipt & { entry_json: LoggedEntry }> {
    const latest = this.latest();
    if (!Number.isSafeInteger(index) || index < 0) throw invalid('log_index_invalid', `log index ${index} is not a non-negative integer`);
    if (index >= latest.size) throw notFound('log_entry_not_found', `entry ${index} is not in the signed tree of size ${latest.size}`);
    const receipt = await buildReceipt(this.#store.log, index, latest);
    const opened = await readOpening(this.#store.log, index);
    if (opened !== null && (await mayRead(opened.channel))) receipt.opening = opened.opening;
    return { ...receipt, entry_json: parseEntry(Buffer.from(receipt.entry, 'base64')) };
  }

  /** Openings of the blinded entries in [start, end) (the web page shows them to readers of the channel). */
  async openings(start: number, end: number): Promise<Map<number, { channel: string; entry: LogEntry }>> {
    const out = new Map<number, { channel: string; entry: LogEntry }>();
    for (const [i, o] of await this.#store.log.openings(start, end)) out.set(i, { channel: o.channel, entry: JSON.parse(o.entry) as LogEntry });
    return out;
  }

  /** The index of the newest entry about this file (for FILE.receipt.json). */
  latestEntryFor(channel: string, subdir: string, filename: string, action: LogEntry['action'], sha256: string): Promise<number | null> {
    return this.#store.log.latestEntryFor({ channel, subdir, filename, action, sha256 });
  }

  /** Proof that the tree of `oldSize` is a prefix of the tree of `newSize` (both ≤ the latest checkpoint). */
  async consistency(oldSize: number, newSize: number): Promise<{ old_size: number; new_size: number; proof: string[] }> {
    const latest = this.latest();
    for (const [name, n] of [['old', oldSize], ['new', newSize]] as const) {
      if (!Number.isSafeInteger(n) || n < 1) throw invalid('proof_request_invalid', `${name}=${n} must be a positive tree size`);
    }
    if (oldSize > newSize) throw invalid('proof_request_invalid', `old=${oldSize} is larger than new=${newSize}`);
    if (newSize > latest.size) throw notFound('log_size_not_signed', `the log has signed trees up to size ${latest.size}, not ${newSize}`);
    const proof = oldSize === newSize ? [] : await consistencyProof(oldSize, newSize, this.#store.log);
    return { old_size: oldSize, new_size: newSize, proof: proof.map(encodeBase64) };
  }

  /**
   * A tile or entry bundle rebuilt from the database, for one the blob store lacks (a partial tile
   * replaced by its full tile, or a write lost in a crash). Null when the signed tree has no such tile.
   */
  async tileFromStore(resource: TileResource): Promise<Uint8Array | null> {
    const size = this.latest().size;
    const tile = resource.kind === 'tile' ? resource.tile : { level: 0, ...resource.bundle };
    if (tile.index * TILE_WIDTH + tile.width > hashesAtTileLevel(size, tile.level)) return null;
    const data = await readTileData(tile, this.#store.log);
    if (resource.kind === 'tile') return data;
    const start = tile.index * TILE_WIDTH;
    const entries = await this.#store.log.entries(start, start + tile.width);
    const leaves = tileHashes(tile, data);
    entries.forEach((e, i) => {
      if (!hashEquals(leafHash(e), leaves[i])) throw inconsistent(`entry ${start + i} does not hash to its stored leaf`);
    });
    return encodeEntryBundle(entries);
  }
}
