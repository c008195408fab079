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
import { type LogEntry, encodeEntry } from './entry.ts';
import type { EntrySubject, LogHead, LogTransactions } from './log-repo.ts';
import type { StoredHash } from './stored-hashes.ts';
import { TreeAppender } from './tree-appender.ts';

export class LogSequencer {
  #hint: LogHead | null = null;

  /** Appends `entry` in `store`'s transaction; returns its index, fixed when that transaction commits. */
  async append(store: LogTransactions, entry: LogEntry): Promise<number> {
    // Validate before taking an index: a refused entry must fail the change, not leave a gap.
    const bytes = encodeEntry(entry);
    // A transaction inside a transaction joins it, so this is atomic even for a caller that forgot one.
    return store.transaction(async (tx) => {
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
      await tx.log.insertHashes(created);
      this.#hint = { size: index + 1, frontier: appender.frontier() };
      return index;
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
    channel: entry.channel,
    subdir: entry.subdir,
    filename: entry.filename,
    sha256: entry.sha256,
    action: entry.action,
  };
}
