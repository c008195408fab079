import { PostgresAdapter, sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { FileFacts, RepodataArtifact, RepodataState, RepodataStateRepo } from '../../core/channel/ports.ts';
import type { RepodataSegment, SegmentFormat, StoredSegment } from '../../core/repodata/segments.ts';
import type { Database } from './schema.ts';

/** Code point order on both databases: SQLite compares text bytewise; PostgreSQL needs the "C" collation. */
export function byteOrder(db: Kysely<Database>, column: string): RawBuilder<string> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`;
}

/**
 * Rows in pages of `pageSize` by a unique key (keyset pagination): `page(after)` asks for the next
 * page after the key of the last row seen, so memory is a page whatever the table's size.
 */
export async function* keysetPages<R>(pageSize: number, page: (after: string | undefined) => Promise<R[]>, keyOf: (row: R) => string): AsyncGenerator<R> {
  let after: string | undefined;
  for (;;) {
    const rows = await page(after);
    yield* rows;
    if (rows.length < pageSize) return;
    after = keyOf(rows[rows.length - 1]!);
  }
}

const leaseColumns = (artifact: RepodataArtifact) =>
  artifact === 'index' ? ({ owner: 'index_owner', until: 'index_until', built: 'index_built' } as const) : ({ owner: 'full_owner', until: 'full_until', built: 'full_built' } as const);

export class KyselyRepodataStateRepo implements RepodataStateRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async markChanged(channel: string, subdir: string, names: readonly string[], recordDelta: number): Promise<number> {
    // the UPDATE takes the row's write lock first: concurrent changes of one subdir get consecutive generations
    const row = await this.db
      .insertInto('repodata_state')
      .values({ channel, subdir, generation: 1, records: Math.max(0, recordDelta), index_built: 0, full_built: 0 })
      .onConflict((oc) =>
        oc.columns(['channel', 'subdir']).doUpdateSet({
          generation: sql`repodata_state.generation + 1`,
          records: sql`repodata_state.records + ${recordDelta}`,
        }),
      )
      .returning('generation')
      .executeTakeFirstOrThrow();
    const generation = Number(row.generation);
    for (const name of new Set(names)) {
      await this.db
        .insertInto('repodata_shards')
        .values({ channel, subdir, name, changed: generation, built: null, sha256: null })
        .onConflict((oc) => oc.columns(['channel', 'subdir', 'name']).doUpdateSet({ changed: generation }))
        .execute();
    }
    return generation;
  }

  async get(channel: string, subdir: string): Promise<RepodataState | null> {
    const row = await this.db.selectFrom('repodata_state').selectAll().where('channel', '=', channel).where('subdir', '=', subdir).executeTakeFirst();
    if (!row) return null;
    return {
      generation: Number(row.generation),
      records: Number(row.records),
      indexBuilt: Number(row.index_built),
      fullBuilt: Number(row.full_built),
      indexFile: row.index_file === null ? null : (JSON.parse(row.index_file) as FileFacts),
      fullFiles: row.full_files === null ? null : (JSON.parse(row.full_files) as Record<string, FileFacts>),
    };
  }

  async changedNames(channel: string, subdir: string, since: number): Promise<string[]> {
    // two questions, each answered by its own index (repodata_shards_changed, repodata_shards_built);
    // asked as one `changed > ? OR built IS NULL`, the databases scanned every name of the subdir
    const names = (q: (eb: ExpressionBuilder<Database, 'repodata_shards'>) => Expression<SqlBool>) =>
      this.db.selectFrom('repodata_shards').select('name').where('channel', '=', channel).where('subdir', '=', subdir).where(q).execute();
    const changed = await names((eb) => eb('changed', '>', since));
    const unbuilt = await names((eb) => eb('built', 'is', null));
    return [...new Set([...changed, ...unbuilt].map((r) => r.name))];
  }

  async setShard(channel: string, subdir: string, name: string, sha256: string, generation: number, current: string | null = null): Promise<boolean> {
    const result = await this.db
      .updateTable('repodata_shards')
      .set({ sha256, built: generation, current })
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('name', '=', name)
      .where((eb) => eb.or([eb('built', 'is', null), eb('built', '<=', generation)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async shardHashes(channel: string, subdir: string, changedSince?: number): Promise<Map<string, string>> {
    let q = this.db
      .selectFrom('repodata_shards')
      .select(['name', 'sha256'])
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('sha256', 'is not', null);
    if (changedSince !== undefined) q = q.where('changed', '>', changedSince); // repodata_shards_changed
    const rows = await q.execute();
    return new Map(rows.map((r) => [r.name, r.sha256!]));
  }

  async shardCount(channel: string, subdir: string): Promise<number> {
    const row = await this.db
      .selectFrom('repodata_shards')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where('sha256', 'is not', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async *currentParts(channel: string, subdir: string, pageSize = 5000): AsyncIterable<{ name: string; current: string | null }> {
    const name = byteOrder(this.db, 'name');
    const pages = keysetPages(
      pageSize,
      (after) => {
        let q = this.db
          .selectFrom('repodata_shards')
          .select(['name', 'current', 'changed', 'built'])
          .where('channel', '=', channel)
          .where('subdir', '=', subdir);
        if (after !== undefined) q = q.where(name, '>', after);
        return q.orderBy(name).limit(pageSize).execute();
      },
      (r) => r.name,
    );
    for await (const r of pages) {
      // a part older than the name's last change is no part
      const fresh = r.built !== null && Number(r.built) >= Number(r.changed);
      yield { name: r.name, current: fresh ? r.current : null };
    }
  }

  async setSegments(channel: string, subdir: string, name: string, generation: number, segments: readonly RepodataSegment[]): Promise<boolean> {
    const write = async (trx: Kysely<Database>) => {
      // the name's row is locked by this update (PostgreSQL): one writer of its segments at a time
      const claimed = await trx
        .updateTable('repodata_shards')
        .set({ segments_built: generation })
        .where('channel', '=', channel)
        .where('subdir', '=', subdir)
        .where('name', '=', name)
        .where((eb) => eb.or([eb('segments_built', 'is', null), eb('segments_built', '<=', generation)]))
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) return false;
      await trx.deleteFrom('repodata_segments').where('channel', '=', channel).where('subdir', '=', subdir).where('name', '=', name).execute();
      if (segments.length > 0) {
        await trx
          .insertInto('repodata_segments')
          .values(segments.map((s) => ({ channel, subdir, name, format: s.format, first: s.first, last: s.last, records: s.records, bytes: s.bytes })))
          .execute();
      }
      return true;
    };
    return this.db.isTransaction ? write(this.db) : this.db.transaction().execute(write);
  }

  async staleSegmentNames(channel: string, subdir: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('repodata_shards')
      .select('name')
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where((eb) => eb.or([eb('segments_built', 'is', null), eb('segments_built', '<', eb.ref('changed'))]))
      .execute();
    return rows.map((r) => r.name);
  }

  async *segments(channel: string, subdir: string, format: SegmentFormat, pageSize = 128): AsyncIterable<StoredSegment> {
    const first = byteOrder(this.db, 'first');
    const pages = keysetPages(
      pageSize,
      (after) => {
        let q = this.db
          .selectFrom('repodata_segments')
          .select(['name', 'first', 'last', 'bytes'])
          .where('channel', '=', channel)
          .where('subdir', '=', subdir)
          .where('format', '=', format);
        if (after !== undefined) q = q.where(first, '>', after);
        return q.orderBy(first).limit(pageSize).execute();
      },
      (r) => r.first,
    );
    for await (const r of pages) yield { name: r.name, first: r.first, last: r.last, bytes: Buffer.isBuffer(r.bytes) ? r.bytes : Buffer.from(r.bytes) };
  }

  async claim(channel: string, subdir: string, artifact: RepodataArtifact, owner: string, nowMs: number, untilMs: number): Promise<boolean> {
    const c = leaseColumns(artifact);
    const result = await this.db
      .updateTable('repodata_state')
      .set({ [c.owner]: owner, [c.until]: untilMs })
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where((eb) => eb.or([eb(c.owner, 'is', null), eb(c.owner, '=', owner), eb(c.until, '<', nowMs)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async release(channel: string, subdir: string, artifact: RepodataArtifact, owner: string): Promise<void> {
    const c = leaseColumns(artifact);
    await this.db
      .updateTable('repodata_state')
      .set({ [c.owner]: null, [c.until]: null })
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where(c.owner, '=', owner)
      .execute();
  }

  async markBuilt(
    channel: string,
    subdir: string,
    artifact: RepodataArtifact,
    owner: string,
    generation: number,
    files: FileFacts | Record<string, FileFacts>,
  ): Promise<boolean> {
    const c = leaseColumns(artifact);
    const result = await this.db
      .updateTable('repodata_state')
      .set({ [c.built]: generation, [artifact === 'index' ? 'index_file' : 'full_files']: JSON.stringify(files) })
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .where(c.owner, '=', owner)
      .where(c.built, '<=', generation)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async bump(channel: string, subdir: string): Promise<number> {
    const row = await this.db
      .updateTable('repodata_state')
      .set({ generation: sql`generation + 1` })
      .where('channel', '=', channel)
      .where('subdir', '=', subdir)
      .returning('generation')
      .executeTakeFirst();
    return Number(row?.generation ?? 0);
  }

  async behind(): Promise<{ channel: string; subdir: string }[]> {
    return this.db
      .selectFrom('repodata_state')
      .select(['channel', 'subdir'])
      .where((eb) => eb.or([eb('index_built', '<', eb.ref('generation')), eb('full_built', '<', eb.ref('generation'))]))
      .orderBy('channel')
      .orderBy('subdir')
      .execute();
  }
}
