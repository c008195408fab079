import type { Kysely } from 'kysely';
import type { Hash } from '../../core/tlog/hashing.ts';
import type { EntrySubject, LogHead, LogRepo, PublishedCheckpoint } from '../../core/tlog/log-repo.ts';
import type { StoredHash, StoredHashIndex } from '../../core/tlog/stored-hashes.ts';
import { ProvenaError, notFound } from '../../core/errors.ts';
import type { Database } from './schema.ts';
import { arg, runPrepared } from './prepared-query.ts';

/** Runs of consecutive indexes per query: one range condition each, well under any bind limit. */
const RUNS_PER_QUERY = 64;
/** A compiled argument slot, typed as the column it fills. */
const slot = <T>(i: number) => arg(i) as unknown as T;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The transparency log's tables over Kysely: the same queries for SQLite and PostgreSQL. */
export class KyselyLogRepo implements LogRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async claimHead(): Promise<{ index: number; frontier: Hash[] }> {
    // Write first: the UPDATE takes the writer lock (SQLite) / the row lock (PostgreSQL) before
    // anything is read, so two transactions can never both see the same size. RETURNING gives
    // the new size and the frontier as it was (this statement does not change it).
    const { rows } = await runPrepared(
      this.db,
      'log.claimHead',
      () =>
        this.db
          .updateTable('log_head')
          .set((eb) => ({ size: eb('size', '+', 1) }))
          .where('id', '=', 1)
          .returning(['size', 'frontier']),
      [],
    );
    const row = rows[0];
    if (!row) throw new ProvenaError('log_head_missing', 'internal', 'the log head row is missing; the database was not migrated');
    return { index: Number(row.size) - 1, frontier: fromHexList(row.frontier) };
  }

  async setFrontier(frontier: readonly Hash[]): Promise<void> {
    await runPrepared(this.db, 'log.setFrontier', () => this.db.updateTable('log_head').set({ frontier: slot(0) }).where('id', '=', 1), [
      frontier.map(toHex).join(''),
    ]);
  }

  async advanceHead(expected: LogHead, frontier: readonly Hash[]): Promise<boolean> {
    const { numAffectedRows } = await runPrepared(
      this.db,
      'log.advanceHead',
      () =>
        this.db
          .updateTable('log_head')
          .set((eb) => ({ size: eb('size', '+', 1), frontier: slot<string>(0) }))
          .where('id', '=', 1)
          .where('size', '=', slot<number>(1))
          .where('frontier', '=', slot<string>(2)),
      [frontier.map(toHex).join(''), expected.size, expected.frontier.map(toHex).join('')],
    );
    return Number(numAffectedRows ?? 0n) === 1;
  }

  async insertEntry(index: number, bytes: Uint8Array, subject: EntrySubject): Promise<void> {
    const values = [index, utf8.decode(bytes), subject.channel, subject.subdir, subject.filename, subject.sha256, subject.action];
    await runPrepared(
      this.db,
      'log.insertEntry',
      () =>
        this.db.insertInto('log_entries').values({
          idx: slot(0),
          entry: slot(1),
          channel: slot(2),
          subdir: slot(3),
          filename: slot(4),
          sha256: slot(5),
          action: slot(6),
        }),
      values,
    );
  }

  async insertHashes(hashes: readonly StoredHash[]): Promise<void> {
    if (hashes.length === 0) return;
    const n = hashes.length;
    await runPrepared(
      this.db,
      `log.insertHashes.${n}`,
      () => this.db.insertInto('log_hashes').values(Array.from({ length: n }, (_, i) => ({ level: slot(3 * i), idx: slot(3 * i + 1), hash: slot(3 * i + 2) }))),
      hashes.flatMap((h) => [h.level, h.index, toHex(h.hash)]),
    );
  }

  async size(): Promise<number> {
    const { rows } = await runPrepared(this.db, 'log.size', () => this.db.selectFrom('log_head').select('size').where('id', '=', 1), []);
    return rows[0] ? Number(rows[0].size) : 0;
  }

  async readHashes(indexes: readonly StoredHashIndex[]): Promise<Hash[]> {
    if (indexes.length === 0) return [];
    const found = new Map<string, Hash>();
    const runs = toRuns(indexes);
    for (let i = 0; i < runs.length; i += RUNS_PER_QUERY) {
      const chunk = runs.slice(i, i + RUNS_PER_QUERY);
      const n = chunk.length;
      // one compiled query per number of runs: proofs and the right edge read a few dozen
      const { rows } = await runPrepared(
        this.db,
        `log.hashRuns.${n}`,
        () =>
          this.db
            .selectFrom('log_hashes')
            .select(['level', 'idx', 'hash'])
            .where((eb) =>
              eb.or(
                Array.from({ length: n }, (_, j) =>
                  eb.and([eb('level', '=', slot<number>(3 * j)), eb('idx', '>=', slot<number>(3 * j + 1)), eb('idx', '<=', slot<number>(3 * j + 2))]),
                ),
              ),
            ),
        chunk.flatMap((r) => [r.level, r.from, r.to]),
      );
      for (const row of rows) found.set(`${row.level}/${Number(row.idx)}`, fromHex(row.hash));
    }
    return indexes.map(({ level, index }) => {
      const h = found.get(`${level}/${index}`);
      if (h === undefined) throw notFound('stored_hash_missing', `no stored hash at level ${level}, index ${index}`);
      return h;
    });
  }

  async entries(start: number, end: number): Promise<Uint8Array[]> {
    if (end <= start) return [];
    const { rows } = await runPrepared(
      this.db,
      'log.entries',
      () => this.db.selectFrom('log_entries').select(['idx', 'entry']).where('idx', '>=', slot<number>(0)).where('idx', '<', slot<number>(1)).orderBy('idx'),
      [start, end],
    );
    if (rows.length !== end - start) {
      throw new ProvenaError('log_entry_missing', 'internal', `the log holds ${rows.length} of entries ${start}..${end - 1}`);
    }
    return rows.map((r) => encoder.encode(r.entry));
  }

  async latestEntryFor(s: EntrySubject): Promise<number | null> {
    let q = this.db
      .selectFrom('log_entries')
      .select('idx')
      .where('channel', '=', s.channel)
      .where('action', '=', s.action)
      .where((eb) => (s.subdir === null ? eb('subdir', 'is', null) : eb('subdir', '=', s.subdir)))
      .where((eb) => (s.filename === null ? eb('filename', 'is', null) : eb('filename', '=', s.filename)));
    if (s.sha256 !== null) q = q.where('sha256', '=', s.sha256);
    const row = await q.orderBy('idx', 'desc').limit(1).executeTakeFirst();
    return row ? Number(row.idx) : null;
  }

  async addCheckpoint(c: PublishedCheckpoint): Promise<void> {
    await this.db
      .insertInto('log_checkpoints')
      .values({ size: c.size, root: toHex(c.root), note: c.note, created_at: c.createdAt })
      // Ed25519 is deterministic: a second signer of the same size signs the same note, so keep one.
      .onConflict((oc) => oc.column('size').doNothing())
      .execute();
  }

  async latestCheckpoint(): Promise<PublishedCheckpoint | null> {
    const row = await this.db.selectFrom('log_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
    return row ? { size: Number(row.size), root: fromHex(row.root), note: row.note, createdAt: row.created_at } : null;
  }
}

interface Run {
  level: number;
  from: number;
  to: number;
}

/** Sorted runs of consecutive indexes per level: tiles and batch checks ask for long runs. */
function toRuns(indexes: readonly StoredHashIndex[]): Run[] {
  const sorted = [...indexes].sort((a, b) => a.level - b.level || a.index - b.index);
  const runs: Run[] = [];
  for (const { level, index } of sorted) {
    const last = runs[runs.length - 1];
    if (last && last.level === level && index <= last.to + 1) last.to = Math.max(last.to, index);
    else runs.push({ level, from: index, to: index });
  }
  return runs;
}

function toHex(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');
}

function fromHex(s: string): Hash {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

function fromHexList(s: string): Hash[] {
  const out: Hash[] = [];
  for (let at = 0; at < s.length; at += 64) out.push(fromHex(s.slice(at, at + 64)));
  return out;
}
