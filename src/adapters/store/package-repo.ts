import type { Kysely } from 'kysely';
import type { StoredPackage } from '../../core/channel/model.ts';
import type { InsertOutcome, PackageRepo } from '../../core/channel/ports.ts';
import type { PackageRecord } from '../../core/conda/types.ts';
import type { Database } from './schema.ts';

type PackageRow = Database['packages'];

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
      const existed = await this.get(pkg.channel, pkg.subdir, pkg.filename);
      await this.db
        .insertInto('packages')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['channel', 'subdir', 'filename']).doUpdateSet({
            name: row.name,
            sha256: row.sha256,
            md5: row.md5,
            size: row.size,
            record: row.record,
            about: row.about,
            uploaded_at: row.uploaded_at,
            uploaded_by: row.uploaded_by,
            attestations_sha256: row.attestations_sha256,
          }),
        )
        .execute();
      outcome = existed ? 'replaced' : 'inserted';
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
    await this.db
      .deleteFrom('removed_files')
      .where('channel', '=', pkg.channel)
      .where('subdir', '=', pkg.subdir)
      .where('filename', '=', pkg.filename)
      .execute();
    return outcome;
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
      .values({ channel, subdir, filename, removed_at: new Date().toISOString() })
      .onConflict((oc) => oc.columns(['channel', 'subdir', 'filename']).doNothing())
      .execute();
    return existing;
  }

  async list(channel: string, subdir: string): Promise<StoredPackage[]> {
    const rows = await this.db
      .selectFrom('packages')
      .selectAll()
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .orderBy('filename')
      .execute();
    return rows.map(toStoredPackage);
  }

  async removed(channel: string, subdir: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('removed_files')
      .select('filename')
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .orderBy('filename')
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
