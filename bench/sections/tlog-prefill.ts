/**
 * Brings a real SQLite file to a log of N entries quickly, for the transparency-log bench: rows are
 * written with raw prepared statements (synchronous=OFF) into the tables migration
 * 0003_transparency_log makes, with hashes from the real TreeAppender and a checkpoint signed with
 * the bench key, so the server's own code then resumes from it as after a restart. Only the bench
 * writes the log this way; the server appends through its sequencer.
 */
import { createHash } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import { signCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { type LogEntry, encodeEntry } from '../../src/core/tlog/entry.ts';
import type { SignerKey } from '../../src/core/tlog/note-keys.ts';
import { ed25519Signer } from '../../src/core/tlog/note.ts';
import { TreeAppender } from '../../src/core/tlog/tree-appender.ts';

const CHUNK = 50_000;
const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');

/** A distinct, valid publish entry per index (what the bench appends, too). */
export function benchEntry(i: number, now = new Date()): LogEntry {
  return {
    channel: 'bench',
    subdir: 'noarch',
    filename: `pkg${i}-1.0-0.conda`,
    sha256: createHash('sha256').update(String(i)).digest('hex'),
    size: 1000 + (i % 1000),
    action: 'publish',
    publisher: { kind: 'key', id: 'bench' },
    attestation_sha256: null,
    time: now.toISOString(),
  };
}

export async function prefillLog(file: string, size: number, key: SignerKey, origin: string): Promise<void> {
  const store = new KyselyStore(openSqlite(file));
  await store.migrate();
  await store.close();
  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insertEntry = db.prepare('INSERT INTO log_entries (idx, entry, channel, subdir, filename, sha256, action) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const insertHash = db.prepare('INSERT INTO log_hashes (level, idx, hash) VALUES (?, ?, ?)');
  const tree = TreeAppender.empty();
  const decoder = new TextDecoder();
  const now = new Date();
  for (let start = 0; start < size; start += CHUNK) {
    db.transaction(() => {
      for (let i = start; i < Math.min(size, start + CHUNK); i++) {
        const e = benchEntry(i, now);
        const bytes = encodeEntry(e);
        insertEntry.run(i, decoder.decode(bytes), e.channel, e.subdir, e.filename, e.sha256, e.action);
        for (const h of tree.appendEntry(bytes)) insertHash.run(h.level, h.index, hex(h.hash));
      }
    })();
  }
  const note = signCheckpoint({ origin, size, root: tree.root(), extensions: [] }, [ed25519Signer(key)]);
  db.prepare('UPDATE log_head SET size = ?, frontier = ? WHERE id = 1').run(size, tree.frontier().map(hex).join(''));
  db.prepare('INSERT INTO log_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)').run(size, hex(tree.root()), note, now.toISOString());
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
