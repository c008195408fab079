/**
 * Appending an entry: the one write path into the log. It runs inside the caller's transaction (or
 * opens one) and writes the entry, the subtree hashes it completes and the new right edge of the
 * tree, so the index is fixed, or given back, with the change the entry records.
 *
 * The right edge lives in the log's head row. The sequencer keeps the edge of its own last append
 * as a hint and moves the head with a compare-and-swap on that row: when the hint is exactly what
 * the database holds (nobody else appended, nothing was rolled back) the append costs no read;
 * otherwise the swap changes nothing and the sequencer reads the head under its lock. The database
 * decides every time, so no rollback or other process can put the hint out of step.
 */
import { blindEntry } from './blinding.ts';
import { canonicalJson } from './canonical-json.ts';
import { type LogEntry, encodeEntry } from './entry.ts';
import type { EntrySubject, LogHead, LogTransactions, StoredOpening } from './log-repo.ts';
import type { StoredHash } from './stored-hashes.ts';
import { TreeAppender } from './tree-appender.ts';

export class LogSequencer {
  #hint: LogHead | null = null;

  /** Appends `entry` in `store`'s transaction; returns its index, fixed when that transaction commits. */
  async append(store: LogTransactions, entry: LogEntry): Promise<number> {
    // Validate before taking an index: a refused entry must fail the change, not leave a gap.
    const clear = encodeEntry(entry);
    // A transaction inside a transaction joins it, so this is atomic even for a caller that forgot one.
    return store.transaction(async (tx) => {
      // A private channel's entry is logged blinded, its opening stored beside it (blinding.ts). The
      // channel's state is read in this transaction, so the entry follows the state the change left.
      let bytes = clear;
      let opening: StoredOpening | null = null;
      if (entry.channel !== null && entry.action !== 'key_rotation' && !(await tx.log.channelIsPublic(entry.channel))) {
        const { blinded, salt } = blindEntry(entry);
        bytes = encodeEntry(blinded);
        opening = { channel: entry.channel, salt: Buffer.from(salt).toString('hex'), entry: canonicalJson(entry) };
      }
      let index: number;
      let created: StoredHash[];
      let appender: TreeAppender;
      const hint = this.#hint;
      this.#hint = null;
      if (hint !== null) {
        appender = TreeAppender.fromFrontier(hint.size, hint.frontier);
        created = appender.appendEntry(bytes);
        if (await tx.log.advanceHead(hint, appender.frontier())) {
          index = hint.size;
        } else {
          ({ index, created, appender } = await this.#fromHead(tx, bytes));
        }
      } else {
        ({ index, created, appender } = await this.#fromHead(tx, bytes));
      }
      await tx.log.insertEntry(index, bytes, subjectOf(entry));
      if (opening !== null) await tx.log.insertOpening(index, opening);
      await tx.log.insertHashes(created);
      this.#hint = { size: index + 1, frontier: appender.frontier() };
      return index;
    });
  }

  /**
   * Appends `entries` in `store`'s transaction, as consecutive indexes (returned in order): the tree
   * grows in memory, the head moves once (the same compare-and-swap or claim as one append, by N),
   * and entries and hashes go in multi-row inserts. The result is the tree N single appends make.
   */
  async appendMany(store: LogTransactions, entries: readonly LogEntry[]): Promise<number[]> {
    if (entries.length === 0) return [];
    const clear = entries.map(encodeEntry); // every entry validated before any index is taken
    return store.transaction(async (tx) => {
      const isPublic = new Map<string, boolean>();
      const logged: { bytes: Uint8Array; opening: StoredOpening | null }[] = [];
      for (const [i, entry] of entries.entries()) {
        let pub = true;
        if (entry.channel !== null && entry.action !== 'key_rotation') {
          pub = isPublic.get(entry.channel) ?? (await tx.log.channelIsPublic(entry.channel));
          isPublic.set(entry.channel, pub);
        }
        if (pub) {
          logged.push({ bytes: clear[i]!, opening: null });
        } else {
          const { blinded, salt } = blindEntry(entry);
          logged.push({ bytes: encodeEntry(blinded), opening: { channel: entry.channel!, salt: Buffer.from(salt).toString('hex'), entry: canonicalJson(entry) } });
        }
      }
      const grow = (size: number, frontier: readonly Uint8Array[]) => {
        const appender = TreeAppender.fromFrontier(size, frontier);
        const created: StoredHash[] = [];
        for (const { bytes } of logged) for (const h of appender.appendEntry(bytes)) created.push(h);
        return { appender, created };
      };
      const n = entries.length;
      let first: number;
      let grown: ReturnType<typeof grow>;
      const hint = this.#hint;
      this.#hint = null;
      if (hint !== null && (await tx.log.advanceHead(hint, (grown = grow(hint.size, hint.frontier)).appender.frontier(), n))) {
        first = hint.size;
      } else {
        const head = await tx.log.claimHead(n);
        grown = grow(head.index, head.frontier);
        await tx.log.setFrontier(grown.appender.frontier());
        first = head.index;
      }
      await tx.log.insertEntries(logged.map(({ bytes }, i) => ({ index: first + i, bytes, subject: subjectOf(entries[i]!) })));
      for (const [i, { opening }] of logged.entries()) if (opening !== null) await tx.log.insertOpening(first + i, opening);
      await tx.log.insertHashes(grown.created);
      this.#hint = { size: first + n, frontier: grown.appender.frontier() };
      return logged.map((_, i) => first + i);
    });
  }

  async #fromHead(tx: LogTransactions, bytes: Uint8Array) {
    const head = await tx.log.claimHead();
    const appender = TreeAppender.fromFrontier(head.index, head.frontier);
    const created = appender.appendEntry(bytes);
    await tx.log.setFrontier(appender.frontier());
    return { index: head.index, created, appender };
  }
}

export function subjectOf(entry: LogEntry): EntrySubject {
  return {
    // key_rotation is about the log, not a channel: no channel name can be empty
    channel: entry.channel ?? '',
    subdir: entry.subdir,
    filename: entry.filename,
    sha256: entry.sha256,
    action: entry.action,
  };
}
