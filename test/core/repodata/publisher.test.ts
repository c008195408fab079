/**
 * The repodata publisher over a real SQLite file and a real blob directory: full files byte-identical
 * to the in-memory builder, an upload touching only its own shard and the index, removal, the
 * debounced path for big subdirs, and two publishers (two replicas) on one database racing.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode } from '@msgpack/msgpack';
import { FsBlobStore } from '../../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../../src/adapters/store/sqlite/open-sqlite.ts';
import type { StoredPackage } from '../../../src/core/channel/model.ts';
import type { PublishedChannelFile } from '../../../src/core/channel/ports.ts';
import { RepodataPublisher } from '../../../src/core/channel/repodata-publisher.ts';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { subdirFiles } from '../../../src/core/repodata/channel-files.ts';
import { zstdDecompress } from '../../../src/core/repodata/zstd.ts';
import { tempSqliteStore } from '../../support/sqlite-store.ts';
import { readRepodata, withoutLocationFields } from './shared-repodata.ts';

const raw = readRepodata('conda-forge-subchannel-py39_noarch_repodata.json');
const realPackages = withoutLocationFields(raw.packages);
const realConda = withoutLocationFields(raw['packages.conda']!);

function stored(channel: string, subdir: string, filename: string, record: PackageRecord): StoredPackage {
  return {
    channel,
    subdir,
    filename,
    sha256: String(record.sha256 ?? createHash('sha256').update(filename).digest('hex')),
    md5: String(record.md5 ?? ''),
    size: Number(record.size ?? 0),
    record,
    about: null,
    uploadedAt: '2024-01-01T00:00:00Z',
    uploadedBy: 'admin',
    attestationsSha256: null,
  };
}

function synthetic(name: string, version: string, subdir = 'noarch', depends: string[] = []): [string, PackageRecord] {
  const filename = `${name}-${version}-0.conda`;
  const h = createHash('sha256').update(filename).digest('hex');
  return [filename, { build: '0', build_number: 0, depends, md5: h.slice(0, 32), name, sha256: h, size: 100, subdir, version } as PackageRecord];
}

interface Fixture {
  dir: string;
  store: KyselyStore;
  blobs: FsBlobStore;
  root: string;
}

async function fixture(channel = 'ch'): Promise<Fixture> {
  const { store, dir } = await tempSqliteStore();
  await store.channels.create({ name: channel, private: false, requireAttestations: false, createdAt: '2024-01-01T00:00:00Z' });
  const root = path.join(dir, 'blobs');
  return { dir, store, blobs: new FsBlobStore(root), root };
}

async function insert(store: KyselyStore, channel: string, subdir: string, records: Iterable<[string, PackageRecord]>): Promise<void> {
  await store.transaction(async (tx) => {
    for (const [filename, record] of records) assert.equal(await tx.packages.insert(stored(channel, subdir, filename, record), { replace: false }), 'inserted');
  });
}

const blobPath = (f: Fixture, channel: string, subdir: string, file: string) => path.join(f.root, 'channels', channel, subdir, file);
const read = (f: Fixture, channel: string, subdir: string, file: string) => fs.readFileSync(blobPath(f, channel, subdir, file));
const shardIndex = (f: Fixture, channel: string, subdir: string) =>
  decode(zstdDecompress(read(f, channel, subdir, 'repodata_shards.msgpack.zst'), 1 << 26)) as { shards: Record<string, Uint8Array> };
const shardFiles = (f: Fixture, channel: string, subdir: string) => {
  const dir = blobPath(f, channel, subdir, 'shards');
  return new Map(fs.readdirSync(dir).map((n) => [n, fs.statSync(path.join(dir, n)).mtimeMs]));
};
const repodataJson = (f: Fixture, channel: string, subdir: string) =>
  JSON.parse(read(f, channel, subdir, 'repodata.json').toString('utf8')) as { packages: Record<string, unknown>; 'packages.conda': Record<string, unknown>; removed: string[] };

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RepodataPublisher on SQLite and files', () => {
  let f: Fixture;
  const published: { subdir: string; files: readonly PublishedChannelFile[] }[] = [];
  let publisher: RepodataPublisher;
  before(async () => {
    f = await fixture();
    publisher = new RepodataPublisher(f.store, f.blobs, [{ subdirPublished: async (_c, subdir, files) => void published.push({ subdir, files }) }], undefined, {
      spoolDir: path.join(f.dir, 'tmp'),
    });
    await insert(f.store, 'ch', 'noarch', [...Object.entries(realPackages), ...Object.entries(realConda)]);
    await publisher.refresh('ch', 'noarch');
  });
  after(async () => {
    publisher.close();
    await f.store.close();
    fs.rmSync(f.dir, { recursive: true, force: true });
  });

  it('writes full files byte-identical to the in-memory builder, and the same shards', () => {
    const expected = new Map(
      subdirFiles({ subdir: 'noarch', packages: realPackages, packagesConda: realConda, createdAt: new Date() }).map((x) => [x.path, x.bytes]),
    );
    for (const name of ['repodata.json', 'current_repodata.json']) {
      assert.ok(read(f, 'ch', 'noarch', name).equals(expected.get(`noarch/${name}`)!), name);
      assert.ok(zstdDecompress(read(f, 'ch', 'noarch', `${name}.zst`), 1 << 28).equals(expected.get(`noarch/${name}`)!), `${name}.zst`);
    }
    const index = shardIndex(f, 'ch', 'noarch');
    const expectedIndex = decode(zstdDecompress(expected.get('noarch/repodata_shards.msgpack.zst')!, 1 << 26)) as { shards: Record<string, Uint8Array> };
    assert.deepEqual(index.shards, expectedIndex.shards);
    for (const hash of Object.values(index.shards)) {
      const file = `shards/${Buffer.from(hash).toString('hex')}.msgpack.zst`;
      assert.ok(read(f, 'ch', 'noarch', file).equals(expected.get(`noarch/${file}`)!), file);
    }
  });

  it('tells listeners of the four files and the shard index, with their hashes', () => {
    const last = published.at(-1)!;
    assert.deepEqual(last.files.map((x) => x.path).sort(), ['current_repodata.json', 'current_repodata.json.zst', 'repodata.json', 'repodata.json.zst', 'repodata_shards.msgpack.zst']);
    for (const file of last.files) {
      const bytes = read(f, 'ch', 'noarch', file.path);
      assert.equal(file.sha256, createHash('sha256').update(bytes).digest('hex'), file.path);
      assert.equal(file.size, bytes.length);
      assert.equal(file.key, `channels/ch/noarch/${file.path}`);
    }
  });

  it('rewrites only the uploaded name\'s shard and the index on an upload', async () => {
    const before = shardFiles(f, 'ch', 'noarch');
    const indexBefore = shardIndex(f, 'ch', 'noarch').shards;
    const existingName = Object.values(realConda)[0]!.name;
    const [filename, record] = synthetic(existingName, '999.0');
    await insert(f.store, 'ch', 'noarch', [[filename, record]]);
    await publisher.refresh('ch', 'noarch');
    const after = shardFiles(f, 'ch', 'noarch');
    const indexAfter = shardIndex(f, 'ch', 'noarch').shards;
    // every other shard file is the same file, untouched; one new shard appeared
    for (const [name, mtime] of before) assert.equal(after.get(name), mtime, name);
    assert.equal(after.size, before.size + 1);
    for (const [name, hash] of Object.entries(indexAfter)) {
      if (name === existingName) assert.notDeepEqual(hash, indexBefore[name]);
      else assert.deepEqual(hash, indexBefore[name], name);
    }
    const shard = decode(zstdDecompress(read(f, 'ch', 'noarch', `shards/${Buffer.from(indexAfter[existingName]!).toString('hex')}.msgpack.zst`), 1 << 26)) as {
      'packages.conda': Record<string, unknown>;
    };
    assert.ok(Object.hasOwn(shard['packages.conda'], filename));
    // below the threshold, the full files are up to date when refresh resolves
    assert.ok(Object.hasOwn(repodataJson(f, 'ch', 'noarch')['packages.conda'], filename));
  });

  it('takes a removed file out of its shard and the full files, and lists it as removed', async () => {
    const [filename] = Object.entries(realConda)[1]!;
    const name = realConda[filename]!.name;
    await f.store.transaction((tx) => tx.packages.remove('ch', 'noarch', filename));
    await publisher.refresh('ch', 'noarch');
    const doc = repodataJson(f, 'ch', 'noarch');
    assert.ok(!Object.hasOwn(doc['packages.conda'], filename));
    assert.ok(doc.removed.includes(filename));
    const hash = shardIndex(f, 'ch', 'noarch').shards[name]!;
    const shard = decode(zstdDecompress(read(f, 'ch', 'noarch', `shards/${Buffer.from(hash).toString('hex')}.msgpack.zst`), 1 << 26)) as {
      'packages.conda': Record<string, unknown>;
      removed: string[];
    };
    assert.ok(!Object.hasOwn(shard['packages.conda'], filename));
    assert.deepEqual(shard.removed, [filename]);
  });

  it('does nothing when everything is up to date', async () => {
    const before = fs.statSync(blobPath(f, 'ch', 'noarch', 'repodata_shards.msgpack.zst')).mtimeMs;
    const count = published.length;
    await publisher.refresh('ch', 'noarch');
    assert.equal(fs.statSync(blobPath(f, 'ch', 'noarch', 'repodata_shards.msgpack.zst')).mtimeMs, before);
    assert.equal(published.length, count);
  });
});

describe('a subdir above repodata_sync_records', () => {
  it('acknowledges after the shard index, brings repodata.json up to date debounced, and never shows a partial file', async () => {
    const f = await fixture();
    const published: string[][] = [];
    const publisher = new RepodataPublisher(f.store, f.blobs, [{ subdirPublished: async (_c, _s, files) => void published.push(files.map((x) => x.path)) }], undefined, {
      spoolDir: path.join(f.dir, 'tmp'),
      syncRecords: 5,
      debounceMs: 300,
    });
    try {
      await insert(f.store, 'ch', 'linux-64', Array.from({ length: 40 }, (_, i) => synthetic(`pkg${i % 10}`, `1.${i}`, 'linux-64')));
      await publisher.refresh('ch', 'linux-64');
      // readers parse the files all along: every version they see is complete
      let reading = true;
      let reads = 0;
      const reader = (async () => {
        while (reading) {
          if (fs.existsSync(blobPath(f, 'ch', 'linux-64', 'repodata.json.zst'))) {
            repodataJson(f, 'ch', 'linux-64');
            zstdDecompress(read(f, 'ch', 'linux-64', 'repodata.json.zst'), 1 << 26);
            reads++;
          }
          await new Promise((r) => setImmediate(r));
        }
      })();
      await until('the first full build', () => fs.existsSync(blobPath(f, 'ch', 'linux-64', 'repodata.json.zst')));
      for (let i = 0; i < 10; i++) {
        const [filename, record] = synthetic(`burst${i}`, '1.0', 'linux-64');
        await insert(f.store, 'ch', 'linux-64', [[filename, record]]);
        await publisher.refresh('ch', 'linux-64');
        // the shard index names the new package at once
        assert.ok(Object.hasOwn(shardIndex(f, 'ch', 'linux-64').shards, `burst${i}`));
      }
      await until('repodata.json to list the burst', () => Object.hasOwn(repodataJson(f, 'ch', 'linux-64')['packages.conda'], 'burst9-1.0-0.conda'));
      reading = false;
      await reader;
      assert.ok(reads > 0);
      const state = (await f.store.repodata.get('ch', 'linux-64'))!;
      await until('the full files to reach the generation', async () => (await f.store.repodata.get('ch', 'linux-64'))!.fullBuilt === state.generation);
      // index-only versions were announced too, with the full files of the moment
      assert.ok(published.some((p) => p.length === 5));
      assert.ok(published.length >= 10);
    } finally {
      publisher.close();
      await f.store.close();
      fs.rmSync(f.dir, { recursive: true, force: true });
    }
  });
});

describe('two replicas on one database and one blob store', () => {
  /** Two publishers, each on its own connection to one SQLite file, sharing one blob directory. */
  async function withTwoReplicas(fn: (r: { f: Fixture; second: KyselyStore; a: RepodataPublisher; b: RepodataPublisher }) => Promise<void>): Promise<void> {
    const f = await fixture();
    const second = new KyselyStore(openSqlite(path.join(f.dir, 'provena.sqlite')));
    const a = new RepodataPublisher(f.store, f.blobs, [], undefined, { spoolDir: path.join(f.dir, 'tmp-a'), owner: 'a' });
    const b = new RepodataPublisher(second, new FsBlobStore(f.root), [], undefined, { spoolDir: path.join(f.dir, 'tmp-b'), owner: 'b' });
    try {
      await fn({ f, second, a, b });
    } finally {
      a.close();
      b.close();
      await second.close();
      await f.store.close();
      fs.rmSync(f.dir, { recursive: true, force: true });
    }
  }

  it('race without writing an older version over a newer one, and see each other\'s versions', () =>
    withTwoReplicas(async ({ f, second, a, b }) => {
      // rounds of changes through both stores, then both publishers refreshing at once (the changes
      // themselves are not raced here: better-sqlite3 blocks the one thread while the other connection's
      // transaction waits for it; test/http covers concurrent uploads)
      for (let round = 0; round < 6; round++) {
        for (let i = round * 5; i < round * 5 + 5; i++) {
          const [filename, record] = synthetic(`n${i % 7}`, `1.${i}`);
          await insert(i % 2 ? second : f.store, 'ch', 'noarch', [[filename, record]]);
        }
        await Promise.all([a.refresh('ch', 'noarch'), b.refresh('ch', 'noarch'), a.refresh('ch', 'noarch'), b.refresh('ch', 'noarch')]);
      }
      const state = (await f.store.repodata.get('ch', 'noarch'))!;
      assert.equal(state.indexBuilt, state.generation);
      assert.equal(state.fullBuilt, state.generation);
      // what is in place is what the database holds now
      const doc = repodataJson(f, 'ch', 'noarch');
      assert.equal(Object.keys(doc['packages.conda']).length, 30);
      const index = shardIndex(f, 'ch', 'noarch');
      assert.deepEqual(Object.keys(index.shards).sort(), ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
      for (const [name, hash] of Object.entries(index.shards)) {
        const shard = decode(zstdDecompress(read(f, 'ch', 'noarch', `shards/${Buffer.from(hash).toString('hex')}.msgpack.zst`), 1 << 26)) as {
          'packages.conda': Record<string, unknown>;
        };
        const expected = Array.from({ length: 30 }, (_, i) => i).filter((i) => i % 7 === Number(name.slice(1))).length;
        assert.equal(Object.keys(shard['packages.conda']).length, expected, name);
      }
      // a replica answers with the ETag of the version in place, even when the other one wrote it
      const [filename, record] = synthetic('late', '1.0');
      await insert(second, 'ch', 'noarch', [[filename, record]]);
      const before = await a.currentFile('ch', 'noarch', 'repodata.json');
      await b.refresh('ch', 'noarch');
      const after = await a.currentFile('ch', 'noarch', 'repodata.json');
      const bytes = read(f, 'ch', 'noarch', 'repodata.json');
      assert.notEqual(after!.etag, before!.etag);
      assert.equal(after!.etag, `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`);
      assert.equal(a.freshFile('channels/ch/noarch/repodata.json')!.etag, after!.etag);
    }));

  it("a replica patching its kept index picks up the names another replica built meanwhile", () =>
    withTwoReplicas(async ({ f, second, a, b }) => {
      // the index in place must name exactly the shards the database records, each holding its name's files
      const check = async (files: Record<string, number>) => {
        const index = shardIndex(f, 'ch', 'noarch');
        const recorded = await f.store.repodata.shardHashes('ch', 'noarch');
        assert.deepEqual(Object.keys(index.shards).sort(), Object.keys(files).sort());
        for (const [name, hash] of Object.entries(index.shards)) {
          const hex = Buffer.from(hash).toString('hex');
          assert.equal(hex, recorded.get(name), name);
          const shard = decode(zstdDecompress(read(f, 'ch', 'noarch', `shards/${hex}.msgpack.zst`), 1 << 26)) as { 'packages.conda': Record<string, unknown> };
          assert.equal(Object.keys(shard['packages.conda']).length, files[name], name);
        }
      };
      await insert(f.store, 'ch', 'noarch', [synthetic('p', '1.0'), synthetic('q', '1.0')]);
      await a.refresh('ch', 'noarch'); // a keeps {p, q}
      await check({ p: 1, q: 1 });
      // b changes p and adds r; a, whose kept map predates them, changes q only
      await insert(second, 'ch', 'noarch', [synthetic('p', '2.0'), synthetic('r', '1.0')]);
      await b.refresh('ch', 'noarch');
      await check({ p: 2, q: 1, r: 1 });
      await insert(f.store, 'ch', 'noarch', [synthetic('q', '2.0')]);
      await a.refresh('ch', 'noarch');
      await check({ p: 2, q: 2, r: 1 });
      // and on a's own path again (its map is the index in place)
      await insert(f.store, 'ch', 'noarch', [synthetic('s', '1.0'), synthetic('p', '3.0')]);
      await a.refresh('ch', 'noarch');
      await check({ p: 3, q: 2, r: 1, s: 1 });
    }));

  it('a builder that lost its lease cannot record its version, and has the newest written again', async () => {
    const f = await fixture();
    try {
      await insert(f.store, 'ch', 'noarch', [synthetic('x', '1.0')]);
      const repo = f.store.repodata;
      const now = Date.now();
      assert.ok(await repo.claim('ch', 'noarch', 'full', 'slow', now, now + 10));
      const seen = (await repo.get('ch', 'noarch'))!.generation;
      // the slow builder's lease runs out; another takes over and records a newer generation
      await insert(f.store, 'ch', 'noarch', [synthetic('x', '2.0')]);
      assert.equal(await repo.claim('ch', 'noarch', 'full', 'fast', now + 5, now + 60_000), false, 'a live lease is refused');
      assert.ok(await repo.claim('ch', 'noarch', 'full', 'fast', now + 20, now + 60_000));
      const newest = (await repo.get('ch', 'noarch'))!.generation;
      assert.ok(await repo.markBuilt('ch', 'noarch', 'full', 'fast', newest, {}));
      assert.equal(await repo.markBuilt('ch', 'noarch', 'full', 'slow', seen, {}), false, 'not the lease holder');
      await repo.release('ch', 'noarch', 'full', 'fast');
      assert.ok(await repo.claim('ch', 'noarch', 'full', 'slow', now + 30, now + 60_000));
      assert.equal(await repo.markBuilt('ch', 'noarch', 'full', 'slow', seen, {}), false, 'never backwards');
      assert.equal((await repo.get('ch', 'noarch'))!.fullBuilt, newest);
    } finally {
      await f.store.close();
      fs.rmSync(f.dir, { recursive: true, force: true });
    }
  });
});

describe('on PostgreSQL', () => {
  it('writes the same bytes (code point order despite the database collation), and two replicas race with uploads in flight', async () => {
    const { tempPgStore } = await import('../../support/pg.ts');
    const { store, pg, open } = await tempPgStore();
    const second = open();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-pg-repodata-'));
    const root = path.join(dir, 'blobs');
    const f: Fixture = { dir, store, blobs: new FsBlobStore(root), root };
    const a = new RepodataPublisher(store, f.blobs, [], undefined, { spoolDir: path.join(dir, 'tmp-a'), owner: 'a' });
    const b = new RepodataPublisher(second, new FsBlobStore(root), [], undefined, { spoolDir: path.join(dir, 'tmp-b'), owner: 'b' });
    try {
      await store.channels.create({ name: 'ch', private: false, requireAttestations: false, createdAt: '2024-01-01T00:00:00Z' });
      await insert(store, 'ch', 'noarch', [...Object.entries(realPackages), ...Object.entries(realConda)]);
      await a.refresh('ch', 'noarch');
      const expected = new Map(
        subdirFiles({ subdir: 'noarch', packages: realPackages, packagesConda: realConda, createdAt: new Date() }).map((x) => [x.path, x.bytes]),
      );
      for (const name of ['repodata.json', 'current_repodata.json']) assert.ok(read(f, 'ch', 'noarch', name).equals(expected.get(`noarch/${name}`)!), name);
      // uploads through both replicas' stores while both publish
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const s = i % 2 ? second : store;
          await insert(s, 'ch', 'noarch', [synthetic(`race${i % 5}`, `1.${i}`)]);
          await (i % 2 ? b : a).refresh('ch', 'noarch');
        }),
      );
      const state = (await store.repodata.get('ch', 'noarch'))!;
      assert.equal(state.fullBuilt, state.generation);
      assert.equal(state.indexBuilt, state.generation);
      const doc = repodataJson(f, 'ch', 'noarch');
      for (let i = 0; i < 20; i++) assert.ok(Object.hasOwn(doc['packages.conda'], `race${i % 5}-1.${i}-0.conda`), `race ${i}`);
      const index = shardIndex(f, 'ch', 'noarch');
      for (let n = 0; n < 5; n++) {
        const shard = decode(zstdDecompress(read(f, 'ch', 'noarch', `shards/${Buffer.from(index.shards[`race${n}`]!).toString('hex')}.msgpack.zst`), 1 << 26)) as {
          'packages.conda': Record<string, unknown>;
        };
        assert.equal(Object.keys(shard['packages.conda']).length, 4, `race${n}`);
      }
    } finally {
      a.close();
      b.close();
      await second.close();
      await store.close();
      await pg.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
