/**
 * repodata.json from each name's stored segments (0011_repodata_segments): written with each name's
 * shard, read in filename order, merged record by record where two names' filename ranges overlap,
 * written again from the records when missing or older than the name's last change; the bytes always
 * those of the in-memory builder, on SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { FsBlobStore } from '../../../src/adapters/blobs/fs/fs-blob-store.ts';
import type { KyselyStore } from '../../../src/adapters/store/kysely-store.ts';
import { RepodataPublisher } from '../../../src/core/channel/repodata-publisher.ts';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { subdirFiles } from '../../../src/core/repodata/channel-files.ts';
import { segmentsOf } from '../../../src/core/repodata/segments.ts';
import { STORE_KINDS } from '../../support/pg.ts';
import { readRepodata, withoutLocationFields } from './shared-repodata.ts';

const raw = readRepodata('conda-forge-subchannel-py39_noarch_repodata.json');
const realPackages = withoutLocationFields(raw.packages);
const realConda = withoutLocationFields(raw['packages.conda']!);

/**
 * Names whose filename ranges interleave: `foo`'s version `zz` sorts after every `foo-bar-...` file,
 * and `foo-bar`'s after `foo-1...`: three segments that overlap, with a plain name after them.
 */
function overlapping(): Record<string, PackageRecord> {
  const rec = (name: string, version: string, build: string): [string, PackageRecord] => [
    `${name}-${version}-${build}.tar.bz2`,
    { name, version, build, build_number: 0, depends: [], subdir: 'noarch', md5: '0'.repeat(32), sha256: '1'.repeat(64), size: 10 } as PackageRecord,
  ];
  return Object.fromEntries([rec('foo', '1.0', '0'), rec('foo', 'zz', '0'), rec('foo-bar', '2.0', '0'), rec('foo-bar', '3.0', '0'), rec('foo-bar-baz', '1.0', '0'), rec('fop', '1.0', '0')]);
}

async function fill(store: KyselyStore, records: Record<string, PackageRecord>): Promise<void> {
  await store.channels.create({ name: 'ch', private: false, requireAttestations: false, createdAt: '2024-01-01T00:00:00Z' });
  await store.transaction(async (tx) => {
    for (const [filename, r] of Object.entries(records)) {
      await tx.packages.insert(
        { channel: 'ch', subdir: 'noarch', filename, record: r, about: null, sha256: String(r.sha256), md5: String(r.md5), size: Number(r.size ?? 0), uploadedAt: '2024-01-01T00:00:00Z', uploadedBy: 'admin', attestationsSha256: null },
        { replace: false },
      );
    }
  });
}

/** One debounced build (the large-subdir path) to the generation in the database now. */
async function rebuild(store: KyselyStore, root: string, spoolDir: string): Promise<void> {
  let failure: unknown;
  const publisher = new RepodataPublisher(store, new FsBlobStore(root), [], undefined, { spoolDir, syncRecords: 1, debounceMs: 0, onError: (e) => (failure = e) });
  try {
    await publisher.refresh('ch', 'noarch');
    for (;;) {
      if (failure !== undefined) throw failure;
      const state = (await store.repodata.get('ch', 'noarch'))!;
      if (state.fullBuilt >= state.generation) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    publisher.close();
  }
}

const expected = (packages: Record<string, PackageRecord>, packagesConda: Record<string, PackageRecord>) =>
  subdirFiles({ subdir: 'noarch', packages, packagesConda, createdAt: new Date() }).find((f) => f.path === 'noarch/repodata.json')!.bytes;

async function countSegments(store: KyselyStore): Promise<{ rows: number; records: number }> {
  let rows = 0;
  let records = 0;
  for (const format of ['tar.bz2', 'conda'] as const) {
    for await (const s of store.repodata.segments('ch', 'noarch', format)) {
      rows++;
      records += (s.bytes.toString().match(/"[^"]+\.(?:tar\.bz2|conda)":\{/g) ?? []).length;
    }
  }
  return { rows, records };
}

for (const kind of STORE_KINDS) {
  describe(`repodata segments (${kind.name})`, () => {
    const withStore = async (records: [Record<string, PackageRecord>, Record<string, PackageRecord>], fn: (store: KyselyStore, root: string, spool: string) => Promise<void>) => {
      const { store, cleanup } = await kind.open();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-segments-'));
      try {
        await fill(store, { ...records[0], ...records[1] });
        await fn(store, path.join(dir, 'blobs'), path.join(dir, 'tmp'));
      } finally {
        await cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
    const served = (root: string) => fs.readFileSync(path.join(root, 'channels/ch/noarch/repodata.json'));

    it('are written with each name\'s shard, one per section a name has files in, and make the same repodata.json', async () => {
      await withStore([realPackages, realConda], async (store, root, spool) => {
        await rebuild(store, root, spool);
        assert.ok(served(root).equals(expected(realPackages, realConda)));
        const names = new Set([...Object.values(realPackages), ...Object.values(realConda)].map((r) => r.name));
        const counted = await countSegments(store);
        assert.equal(counted.records, Object.keys(realPackages).length + Object.keys(realConda).length);
        assert.ok(counted.rows >= names.size, `${counted.rows} segments for ${names.size} names`);
        assert.deepEqual(await store.repodata.staleSegmentNames('ch', 'noarch'), []);
      });
    });

    it('merge names whose filename ranges overlap record by record, in filename order', async () => {
      const records = overlapping();
      await withStore([records, {}], async (store, root, spool) => {
        await rebuild(store, root, spool);
        const want = expected(records, {});
        assert.ok(served(root).equals(want), `${served(root)}\n!=\n${want}`);
        const keys = Object.keys((JSON.parse(served(root).toString()) as { packages: object }).packages);
        assert.deepEqual(keys, ['foo-1.0-0.tar.bz2', 'foo-bar-2.0-0.tar.bz2', 'foo-bar-3.0-0.tar.bz2', 'foo-bar-baz-1.0-0.tar.bz2', 'foo-zz-0.tar.bz2', 'fop-1.0-0.tar.bz2']);
      });
    });

    it('are written from the records when missing (rows from before 0011) or older than the name\'s last change', async () => {
      await withStore([realPackages, realConda], async (store, root, spool) => {
        await rebuild(store, root, spool);
        const [someName] = [...new Set(Object.values(realPackages).map((r) => r.name))];
        // wrong bytes, then a change of the name: a segment older than that change must not be used
        const stateBefore = (await store.repodata.get('ch', 'noarch'))!;
        assert.ok(await store.repodata.setSegments('ch', 'noarch', someName!, stateBefore.generation, segmentsOf([{ filename: `${someName}-0-0.tar.bz2`, fragment: '{"bogus":true}' }])));
        await store.repodata.markChanged('ch', 'noarch', [someName!], 0);
        // and every other name as if written before the migration: no segments at all
        const db = (store as unknown as { db: import('kysely').Kysely<import('../../../src/adapters/store/schema.ts').Database> }).db;
        await db.updateTable('repodata_shards').set({ segments_built: null }).where('name', '!=', someName!).execute();
        await db.deleteFrom('repodata_segments').where('name', '!=', someName!).execute();
        // only the full files are built again: the shard index is taken as current
        await db.updateTable('repodata_state').set((eb) => ({ index_built: eb.ref('generation') })).execute();
        assert.ok((await store.repodata.staleSegmentNames('ch', 'noarch')).length > 1);
        assert.ok((await store.repodata.get('ch', 'noarch'))!.generation > stateBefore.generation);
        fs.rmSync(path.join(root, 'channels/ch/noarch/repodata.json'));
        await rebuild(store, root, spool);
        assert.ok(served(root).equals(expected(realPackages, realConda)));
        assert.deepEqual(await store.repodata.staleSegmentNames('ch', 'noarch'), []);
      });
    });

    it('refuse to replace segments of a newer generation with older ones', async () => {
      await withStore([overlapping(), {}], async (store, root, spool) => {
        await rebuild(store, root, spool);
        const built = (await store.repodata.get('ch', 'noarch'))!.generation;
        const before = [];
        for await (const s of store.repodata.segments('ch', 'noarch', 'tar.bz2')) if (s.name === 'fop') before.push(s.bytes.toString());
        assert.equal(await store.repodata.setSegments('ch', 'noarch', 'fop', built - 1, segmentsOf([{ filename: 'fop-0-0.tar.bz2', fragment: '{}' }])), false);
        const after = [];
        for await (const s of store.repodata.segments('ch', 'noarch', 'tar.bz2')) if (s.name === 'fop') after.push(s.bytes.toString());
        assert.deepEqual(after, before);
        assert.equal(await store.repodata.setSegments('ch', 'noarch', 'fop', built, []), true, 'the same generation may write again');
      });
    });
  });
}
