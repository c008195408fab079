import { PostgresAdapter, sql, type Kysely } from 'kysely';
import type { Hash } from '../../core/tlog/hashing.ts';
import type { EntrySubject, LogHead, LogRepo, PublishedCheckpoint, StoredOpening } from '../../core/tlog/log-repo.ts';
import type { StoredHash, StoredHashIndex } from '../../core/tlog/stored-hashes.ts';
import { ProvenaError, notFound } from '../../core/errors.ts';
import type { Database } from './schema.ts';
import { arg, runPrepared } from './prepared-query.ts';

/** Runs of consecutive indexes per query: one range condition each, well under any bind limit. */
const RUNS_PER_QUERY = 64;
/** Advisory lock class of the checkpoint signer (PostgreSQL), keyed per schema like the migration lock. */
const PUBLISHER_LOCK_CLASS = 0x706c6f67; // "plog"
/** Rows per multi-row INSERT of a bulk append (7 columns at most: well under any bind limit). */
const BULK_ROWS = 500;
/** One append writes at most a few dozen hashes: those shapes are compiled once; bulk ones are not. */
const PREPARED_HASHES = 64;
/** A compiled argument slot, typed as the column it fills. */
const slot = <T>(i: number) => arg(i) as unknown as T;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The transparency log's tables over Kysely: the same queries for SQLite and PostgreSQL. */
export class KyselyLogRepo implements LogRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async claimHead(count = 1): Promise<{ index: number; frontier: Hash[] }> {
    // Write first: the UPDATE takes the writer lock (SQLite) / the row lock (PostgreSQL) before
    // anything is read, so two transactions can never both see the same size. RETURNING gives
    // the new size and the frontier as it was (this statement does not change it).
    const { rows } = await runPrepared(
      this.db,
      'log.claimHead',
      () =>
        this.db
          .updateTable('log_head')
          .set((eb) => ({ size: eb('size', '+', slot<number>(0)) }))
          .where('id', '=', 1)
          .returning(['size', 'frontier']),
      [count],
    );
    const row = rows[0];
    if (!row) throw new ProvenaError('log_head_missing', 'internal', 'the log head row is missing; the database was not migrated');
    return { index: Number(row.size) - count, frontier: fromHexList(row.frontier) };
  }

  async setFrontier(frontier: readonly Hash[]): Promise<void> {
    await runPrepared(this.db, 'log.setFrontier', () => this.db.updateTable('log_head').set({ frontier: slot(0) }).where('id', '=', 1), [
      frontier.map(toHex).join(''),
    ]);
  }

  async advanceHead(expected: LogHead, frontier: readonly Hash[], count = 1): Promise<boolean> {
    const { numAffectedRows } = await runPrepared(
      this.db,
      'log.advanceHead',
      () =>
        this.db
          .updateTable('log_head')
          .set((eb) => ({ size: eb('size', '+', slot<number>(3)), frontier: slot<string>(0) }))
          .where('id', '=', 1)
          .where('size', '=', slot<number>(1))
          .where('frontier', '=', slot<string>(2)),
      [frontier.map(toHex).join(''), expected.size, expected.frontier.map(toHex).join(''), count],
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

  async insertEntries(rows: readonly { index: number; bytes: Uint8Array; subject: EntrySubject }[]): Promise<void> {
    for (let at = 0; at < rows.length; at += BULK_ROWS) {
      // many rows per statement, built per call: a bulk append is rare, a compiled shape per size is not worth keeping
      await this.db
        .insertInto('log_entries')
        .values(
          rows.slice(at, at + BULK_ROWS).map(({ index, bytes, subject: s }) => ({
            idx: index,
            entry: utf8.decode(bytes),
            channel: s.channel,
            subdir: s.subdir,
            filename: s.filename,
            sha256: s.sha256,
            action: s.action,
          })),
        )
        .execute();
    }
  }

  async insertHashes(hashes: readonly StoredHash[]): Promise<void> {
    if (hashes.length === 0) return;
    if (hashes.length > PREPARED_HASHES) {
      for (let at = 0; at < hashes.length; at += BULK_ROWS) {
        await this.db
          .insertInto('log_hashes')
          .values(hashes.slice(at, at + BULK_ROWS).map((h) => ({ level: h.level, idx: h.index, hash: toHex(h.hash) })))
          .execute();
      }
      return;
    }
    const n = hashes.length;
    await runPrepared(
      this.db,
      `log.insertHashes.${n}`,
      () => this.db.insertInto('log_hashes').values(Array.from({ length: n }, (_, i) => ({ level: slot(3 * i), idx: slot(3 * i + 1), hash: slot(3 * i + 2) }))),
      hashes.flatMap((h) => [h.level, h.index, toHex(h.hash)]),
    );
  }

  async channelIsPublic(channel: string): Promise<boolean> {
    const { rows } = await runPrepared(this.db, 'log.channelPrivate', () => this.db.selectFrom('channels').select('private').where('name', '=', slot<string>(0)), [
      channel,
    ]);
    return rows.length === 1 && Number(rows[0]!.private) === 0;
  }

  async insertOpening(index: number, o: StoredOpening): Promise<void> {
    await runPrepared(
      this.db,
      'log.insertOpening',
      () => this.db.insertInto('log_openings').values({ idx: slot(0), channel: slot(1), salt: slot(2), entry: slot(3) }),
      [index, o.channel, o.salt, o.entry],
    );
  }

  async openings(start: number, end: number): Promise<Map<number, StoredOpening>> {
    const out = new Map<number, StoredOpening>();
    if (end <= start) return out;
    const { rows } = await runPrepared(
      this.db,
      'log.openings',
      () => this.db.selectFrom('log_openings').select(['idx', 'channel', 'salt', 'entry']).where('idx', '>=', slot<number>(0)).where('idx', '<', slot<number>(1)),
      [start, end],
    );
    for (const r of rows) out.set(Number(r.idx), { channel: r.channel, salt: r.salt, entry: r.entry });
    return out;
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

  /**
   * PostgreSQL only (several processes): a transaction-scoped advisory lock, so it is released by the
   * commit, by any error, and by the server when a replica dies holding it. SQLite has one process.
   */
  get withPublisherLock(): (<T>(fn: () => Promise<T>) => Promise<T>) | undefined {
    if (!(this.db.getExecutor().adapter instanceof PostgresAdapter)) return undefined;
    return (fn) =>
      this.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${PUBLISHER_LOCK_CLASS}, hashtext(coalesce(current_schema(), '')))`.execute(trx);
        return fn();
      });
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
