import type { Kysely } from 'kysely';
import type { StoredPackage } from '../../core/channel/model.ts';
import type { InsertOutcome, PackageRepo, RecordFragment, SubdirRecord } from '../../core/channel/ports.ts';
import { recordFragment } from '../../core/repodata/record-fragment.ts';
import type { SegmentFormat } from '../../core/repodata/segments.ts';
import { byteOrder, KyselyRepodataStateRepo } from './repodata-state-repo.ts';
import type { PackageRecord } from '../../core/conda/types.ts';
import type { Database } from './schema.ts';

type PackageRow = Database['packages'];

/** Rows per multi-row INSERT: 12 columns each, well under SQLite's and PostgreSQL's bind limits. */
const INSERT_ROWS = 200;

export class KyselyPackageRepo implements PackageRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async get(channel: string, subdir: string, filename: string): Promise<StoredPackage | null> {
    const row = await this.db
      .selectFrom('packages')
      .selectAll()
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('filename', '=', filename)
      .executeTakeFirst();
    return row ? toStoredPackage(row) : null;
  }

  async insert(pkg: StoredPackage, opts: { replace: boolean }): Promise<InsertOutcome> {
    const row = toRow(pkg);
    let outcome: InsertOutcome;
    if (opts.replace) {
      // Insert, else update. Each statement sees the committed row (PostgreSQL waits for a concurrent
      // insert of the key), so of concurrent forced uploads of a new filename exactly one says
      // 'inserted'; a read first would let all of them say so and miscount the subdir's records.
      for (;;) {
        const inserted = await this.db
          .insertInto('packages')
          .values(row)
          .onConflict((oc) => oc.columns(['channel', 'subdir', 'filename']).doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1) {
          outcome = 'inserted';
          break;
        }
        const { channel, subdir, filename, ...changes } = row;
        const updated = await this.db
          .updateTable('packages')
          .set(changes)
          .where('channel', '=', channel)
          .where('subdir', '=', subdir)
          .where('filename', '=', filename)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 1) {
          outcome = 'replaced';
          break;
        }
        // removed between the two statements by another transaction: insert again
      }
    } else {
      // the primary key decides races: of N concurrent inserts of one filename exactly one lands
      const result = await this.db
        .insertInto('packages')
        .values(row)
        .onConflict((oc) => oc.columns(['channel', 'subdir', 'filename']).doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0n) !== 1) return 'exists';
      outcome = 'inserted';
    }
    // the name's shard and the subdir's files are now stale, in this very transaction
    await new KyselyRepodataStateRepo(this.db).markChanged(pkg.channel, pkg.subdir, [pkg.record.name], outcome === 'inserted' ? 1 : 0);
    await this.db
      .deleteFrom('removed_files')
      .where('channel', '=', pkg.channel)
      .where('subdir', '=', pkg.subdir)
      .where('filename', '=', pkg.filename)
      .execute();
    return outcome;
  }

  async insertMany(pkgs: readonly StoredPackage[]): Promise<Set<StoredPackage>> {
    const inserted = new Set<StoredPackage>();
    const bySubdir = new Map<string, StoredPackage[]>();
    for (const pkg of pkgs) {
      const key = JSON.stringify([pkg.channel, pkg.subdir]);
      bySubdir.set(key, [...(bySubdir.get(key) ?? []), pkg]);
    }
    for (const group of bySubdir.values()) {
      const { channel, subdir } = group[0]!;
      const byFilename = new Map(group.map((p) => [p.filename, p]));
      const landed: StoredPackage[] = [];
      for (let at = 0; at < group.length; at += INSERT_ROWS) {
        // one multi-row statement per chunk; the primary key decides races as for one insert, and
        // RETURNING names the rows that landed (SQLite ≥ 3.35 and PostgreSQL alike)
        const rows = await this.db
          .insertInto('packages')
          .values(group.slice(at, at + INSERT_ROWS).map(toRow))
          .onConflict((oc) => oc.columns(['channel', 'subdir', 'filename']).doNothing())
          .returning('filename')
          .execute();
        for (const r of rows) landed.push(byFilename.get(r.filename)!);
      }
      if (landed.length === 0) continue;
      for (const pkg of landed) inserted.add(pkg);
      await new KyselyRepodataStateRepo(this.db).markChanged(channel, subdir, [...new Set(landed.map((p) => p.record.name))], landed.length);
      for (let at = 0; at < landed.length; at += INSERT_ROWS) {
        await this.db
          .deleteFrom('removed_files')
          .where('channel', '=', channel)
          .where('subdir', '=', subdir)
          .where('filename', 'in', landed.slice(at, at + INSERT_ROWS).map((p) => p.filename))
          .execute();
      }
    }
    return inserted;
  }

  async remove(channel: string, subdir: string, filename: string): Promise<StoredPackage | null> {
    const existing = await this.get(channel, subdir, filename);
    if (!existing) return null;
    await this.db
      .deleteFrom('packages')
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('filename', '=', filename)
      .execute();
    await this.db
      .insertInto('removed_files')
      .values({ channel, subdir, filename, removed_at: new Date().toISOString(), name: existing.record.name })
      .onConflict((oc) => oc.columns(['channel', 'subdir', 'filename']).doNothing())
      .execute();
    await new KyselyRepodataStateRepo(this.db).markChanged(channel, subdir, [existing.record.name], -1);
    return existing;
  }

  async list(channel: string, subdir: string): Promise<StoredPackage[]> {
    const rows = await this.db
      .selectFrom('packages')
      .selectAll()
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .orderBy(byteOrder(this.db, 'filename'))
      .execute();
    return rows.map(toStoredPackage);
  }

  async listByName(channel: string, subdir: string, name: string): Promise<{ records: (SubdirRecord & RecordFragment)[]; removed: string[] }> {
    const rows = await this.db
      .selectFrom('packages')
      .select(['filename', 'record', 'fragment'])
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('name', '=', name)
      .execute();
    const gone = await this.db
      .selectFrom('removed_files')
      .select('filename')
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('name', '=', name)
      .execute();
    return {
      records: rows.map((r) => {
        const record = JSON.parse(r.record) as PackageRecord;
        // rows written before 0009_record_fragments have no stored text: serialised here
        return { filename: r.filename, record, fragment: r.fragment ?? recordFragment(record) };
      }),
      removed: gone.map((r) => r.filename),
    };
  }

  async *scan(
    channel: string,
    subdir: string,
    opts: { order: 'filename' | 'name'; format?: 'conda' | 'tar.bz2'; pageSize?: number },
  ): AsyncIterable<SubdirRecord> {
    const pageSize = opts.pageSize ?? 2000;
    const filename = byteOrder(this.db, 'filename');
    const name = byteOrder(this.db, 'name');
    let after: { name: string; filename: string } | undefined;
    for (;;) {
      let q = this.db
        .selectFrom('packages')
        .select(['filename', 'name', 'record'])
        .where('channel', '=', channel)
        .where('subdir', '=', subdir);
      if (opts.format !== undefined) q = q.where('filename', 'like', opts.format === 'conda' ? '%.conda' : '%.tar.bz2');
      // keyset pages: each page starts after the last row of the one before, whatever changes meanwhile
      if (after !== undefined) {
        const last = after;
        q = opts.order === 'filename'
          ? q.where(filename, '>', last.filename)
          : q.where((eb) => eb(eb.refTuple(name, filename), '>', eb.tuple(last.name, last.filename)));
      }
      q = opts.order === 'filename' ? q.orderBy(filename) : q.orderBy(name).orderBy(filename);
      const rows = await q.limit(pageSize).execute();
      for (const r of rows) yield { filename: r.filename, record: JSON.parse(r.record) as PackageRecord };
      if (rows.length < pageSize) return;
      const last = rows[rows.length - 1]!;
      after = { name: last.name, filename: last.filename };
    }
  }

  async fragmentsOfNames(channel: string, subdir: string, names: readonly string[], format?: SegmentFormat): Promise<(RecordFragment & { name: string })[]> {
    if (names.length === 0) return [];
    let q = this.db
      .selectFrom('packages')
      .select((eb) => ['name', 'filename', 'fragment', eb.case().when('fragment', 'is', null).then(eb.ref('record')).end().as('legacy')])
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('name', 'in', names);
    if (format !== undefined) q = q.where('filename', 'like', format === 'conda' ? '%.conda' : '%.tar.bz2');
    // in the order of packages_subdir_name: ordered by filename, the planner walked every row of the subdir
    const rows = await q.orderBy('name').orderBy('filename').execute();
    return rows.map((r) => ({ name: r.name, filename: r.filename, fragment: r.fragment ?? recordFragment(JSON.parse(r.legacy!) as PackageRecord) }));
  }

  async removed(channel: string, subdir: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('removed_files')
      .select('filename')
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .orderBy(byteOrder(this.db, 'filename'))
      .execute();
    return rows.map((r) => r.filename);
  }

  async subdirs(channel: string): Promise<string[]> {
    const live = this.db.selectFrom('packages').select('subdir').where('channel', '=', channel);
    const gone = this.db.selectFrom('removed_files').select('subdir').where('channel', '=', channel);
    const rows = await live.union(gone).execute();
    return rows.map((r) => r.subdir).sort();
  }

  async isReferenced(sha256: string): Promise<boolean> {
    const row = await this.db.selectFrom('packages').select('sha256').where('sha256', '=', sha256).executeTakeFirst();
    return row !== undefined;
  }

  async count(channel: string): Promise<number> {
    const row = await this.db
      .selectFrom('packages')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('channel', '=', channel)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}

function toRow(pkg: StoredPackage): PackageRow {
  return {
    channel: pkg.channel,
    subdir: pkg.subdir,
    filename: pkg.filename,
    name: pkg.record.name,
    sha256: pkg.sha256,
    md5: pkg.md5,
    size: pkg.size,
    record: JSON.stringify(pkg.record),
    fragment: recordFragment(pkg.record),
    about: pkg.about === null ? null : JSON.stringify(pkg.about),
    uploaded_at: pkg.uploadedAt,
    uploaded_by: pkg.uploadedBy,
    attestations_sha256: pkg.attestationsSha256,
  };
}

function toStoredPackage(row: PackageRow): StoredPackage {
  return {
    channel: row.channel,
    subdir: row.subdir,
    filename: row.filename,
    sha256: row.sha256,
    md5: row.md5,
    size: Number(row.size),
    record: JSON.parse(row.record) as PackageRecord,
    about: row.about === null ? null : (JSON.parse(row.about) as Record<string, unknown>),
    uploadedAt: row.uploaded_at,
    uploadedBy: row.uploaded_by,
    attestationsSha256: row.attestations_sha256,
  };
}
