/**
 * Full rebuilds from stored record text (0009_record_fragments), compressed on a worker thread, and
 * the content-addressed copies signed repodata uses: byte-identical to the in-memory builder whether
 * rows carry their text or were written before the migration (NULL), with hashed copies only when a
 * listener keeps them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { FsBlobStore } from '../../../src/adapters/blobs/fs/fs-blob-store.ts';
import type { KyselyStore } from '../../../src/adapters/store/kysely-store.ts';
import type { PublishedChannelFile } from '../../../src/core/channel/ports.ts';
import { RepodataPublisher } from '../../../src/core/channel/repodata-publisher.ts';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { subdirFiles } from '../../../src/core/repodata/channel-files.ts';
import { zstdDecompress } from '../../../src/core/repodata/zstd.ts';
import { zstdWorkerSink } from '../../../src/core/repodata/zstd-worker.ts';
import { tempSqliteStore } from '../../support/sqlite-store.ts';
import { readRepodata, withoutLocationFields } from './shared-repodata.ts';

const raw = readRepodata('conda-forge-subchannel-py39_noarch_repodata.json');
const realPackages = withoutLocationFields(raw.packages);
const realConda = withoutLocationFields(raw['packages.conda']!);
const FULL = ['repodata.json', 'current_repodata.json'] as const;

async function filled(): Promise<{ store: KyselyStore; dir: string; blobs: FsBlobStore; root: string }> {
  const { store, dir } = await tempSqliteStore();
  await store.channels.create({ name: 'ch', private: false, requireAttestations: false, createdAt: '2024-01-01T00:00:00Z' });
  await store.transaction(async (tx) => {
    for (const [filename, record] of [...Object.entries(realPackages), ...Object.entries(realConda)]) {
      const r = record as PackageRecord;
      await tx.packages.insert(
        {
          channel: 'ch', subdir: 'noarch', filename, record: r, about: null,
          sha256: String(r.sha256), md5: String(r.md5), size: Number(r.size ?? 0),
          uploadedAt: '2024-01-01T00:00:00Z', uploadedBy: 'admin', attestationsSha256: null,
        },
        { replace: false },
      );
    }
  });
  const root = path.join(dir, 'blobs');
  return { store, dir, blobs: new FsBlobStore(root), root };
}

const expected = () =>
  new Map(subdirFiles({ subdir: 'noarch', packages: realPackages, packagesConda: realConda, createdAt: new Date() }).map((x) => [x.path.slice('noarch/'.length), x.bytes]));

async function rebuild(f: Awaited<ReturnType<typeof filled>>, listener: { keepsHashedCopies?: boolean; got: PublishedChannelFile[][] }): Promise<void> {
  const publisher = new RepodataPublisher(
    f.store,
    f.blobs,
    [{ keepsHashedCopies: listener.keepsHashedCopies, subdirPublished: async (_c, _s, files) => void listener.got.push([...files]) }],
    undefined,
    // above syncRecords: the debounced path, compressed on a worker thread
    { spoolDir: path.join(f.dir, 'tmp'), syncRecords: 10, debounceMs: 0 },
  );
  try {
    await publisher.refresh('ch', 'noarch');
    for (;;) {
      const state = (await f.store.repodata.get('ch', 'noarch'))!;
      if (state.fullBuilt >= state.generation) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // the notification of the full files follows their recording
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    publisher.close();
  }
}

const plain = (root: string, file: string) => fs.readFileSync(path.join(root, 'channels/ch/noarch', file));

describe('full rebuild from stored record text', () => {
  let f: Awaited<ReturnType<typeof filled>>;
  const got: PublishedChannelFile[][] = [];
  before(async () => {
    f = await filled();
    await rebuild(f, { got });
  });
  after(async () => {
    await f.store.close();
    fs.rmSync(f.dir, { recursive: true, force: true });
  });

  it('stores each record\'s text when it is written', () => {
    const db = new SqliteDatabase(path.join(f.dir, 'provena.sqlite'), { readonly: true });
    try {
      const row = db.prepare("SELECT COUNT(*) AS n FROM packages WHERE fragment IS NULL").get() as { n: number };
      assert.equal(row.n, 0);
    } finally {
      db.close();
    }
  });

  it('writes repodata.json(.zst) and current_repodata.json(.zst) byte-identical to the in-memory builder', () => {
    const want = expected();
    for (const name of FULL) {
      assert.ok(plain(f.root, name).equals(want.get(name)!), name);
      assert.ok(zstdDecompress(plain(f.root, `${name}.zst`), 1 << 28).equals(want.get(name)!), `${name}.zst`);
    }
  });

  it('makes no content-addressed copies when no listener keeps them, and passes the plain keys', () => {
    const names = fs.readdirSync(path.join(f.root, 'channels/ch/noarch'));
    assert.deepEqual(names.filter((n) => /^[0-9a-f]{64}\./.test(n)), []);
    const last = got.at(-1)!;
    for (const file of last) assert.equal(file.key, `channels/ch/noarch/${file.path}`);
  });

  it('gives the same bytes for rows written before 0009_record_fragments (no stored text)', async () => {
    const db = new SqliteDatabase(path.join(f.dir, 'provena.sqlite'));
    try {
      db.prepare('UPDATE packages SET fragment = NULL').run();
      db.prepare('UPDATE repodata_state SET generation = generation + 1').run();
    } finally {
      db.close();
    }
    for (const name of FULL) fs.rmSync(path.join(f.root, 'channels/ch/noarch', name));
    await rebuild(f, { got: [] });
    const want = expected();
    for (const name of FULL) assert.ok(plain(f.root, name).equals(want.get(name)!), name);
  });
});

describe('current_repodata.json from the parts stored with the shards', () => {
  it('stores each name\'s part, ignores a part older than the name\'s last change, and gives the same bytes', async () => {
    const f = await filled();
    try {
      await rebuild(f, { got: [] });
      const db = new SqliteDatabase(path.join(f.dir, 'provena.sqlite'));
      try {
        const row = db.prepare('SELECT COUNT(*) AS n FROM repodata_shards WHERE current IS NULL').get() as { n: number };
        assert.equal(row.n, 0);
        // parts that would drop everything, but older than a change of their name: not to be used
        db.prepare("UPDATE repodata_shards SET current = '[]', changed = built + 1").run();
        // and the shard index said built at that change: only the full files are rebuilt
        db.prepare('UPDATE repodata_state SET generation = generation + 1, index_built = generation + 1').run();
      } finally {
        db.close();
      }
      fs.rmSync(path.join(f.root, 'channels/ch/noarch/current_repodata.json'));
      await rebuild(f, { got: [] });
      assert.ok(plain(f.root, 'current_repodata.json').equals(expected().get('current_repodata.json')!));
    } finally {
      await f.store.close();
      fs.rmSync(f.dir, { recursive: true, force: true });
    }
  });
});

describe('content-addressed full files for signed repodata', () => {
  it('writes each full file under SUBDIR/SHA256.FILE first, links the plain name to it and passes that key', async () => {
    const f = await filled();
    const got: PublishedChannelFile[][] = [];
    try {
      await rebuild(f, { keepsHashedCopies: true, got });
      const full = got.findLast((files) => files.some((x) => x.path === 'repodata.json'))!;
      for (const name of [...FULL, 'repodata.json.zst', 'current_repodata.json.zst']) {
        const file = full.find((x) => x.path === name)!;
        assert.equal(file.key, `channels/ch/noarch/${file.sha256}.${name}`);
        const hashed = fs.readFileSync(path.join(f.root, file.key));
        assert.equal(createHash('sha256').update(hashed).digest('hex'), file.sha256);
        assert.ok(hashed.equals(plain(f.root, name)), name);
      }
      // the shard index is not written hashed by the publisher: its listener copies it (small)
      assert.equal(full.find((x) => x.path === 'repodata_shards.msgpack.zst')!.key, 'channels/ch/noarch/repodata_shards.msgpack.zst');
    } finally {
      await f.store.close();
      fs.rmSync(f.dir, { recursive: true, force: true });
    }
  });
});

describe('zstd on a worker thread', () => {
  it('writes a frame the decompressor reads back, with its sha256 and size', async () => {
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'zstd-worker-'));
    try {
      const file = path.join(dir, 'x.zst');
      const sink = zstdWorkerSink(file, 3);
      const parts = Array.from({ length: 12 }, (_, i) => Buffer.from(`chunk ${i} `.repeat(20_000)));
      for (const p of parts) await sink.write(p);
      const facts = await sink.end();
      const bytes = fs.readFileSync(file);
      assert.equal(facts.size, bytes.length);
      assert.equal(facts.sha256, createHash('sha256').update(bytes).digest('hex'));
      assert.ok(zstdDecompress(bytes, 1 << 26).equals(Buffer.concat(parts)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails (and does not hang) when it cannot write its file', async () => {
    const sink = zstdWorkerSink('/nonexistent-dir/for/sure/x.zst', 3);
    await assert.rejects(async () => {
      for (let i = 0; i < 8; i++) await sink.write(Buffer.alloc(1 << 16, i));
      await sink.end();
    }, /zstd worker|ENOENT/);
    await sink.destroy();
  });
});
