// The bulk paths `provena import` takes, on SQLite and PostgreSQL: PackageRepo.insertMany (multi-row
// inserts, an existing filename wins) and LogSequencer.appendMany (N entries, one head move): the
// tree, its stored hashes and every proof equal what N single appends make, a rollback gives the
// indexes back, and concurrent single appends interleave without a gap or a shared index.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KyselyStore } from '../../../src/adapters/store/kysely-store.ts';
import type { StoredPackage } from '../../../src/core/channel/model.ts';
import type { LogEntry } from '../../../src/core/tlog/entry.ts';
import { consistencyProof } from '../../../src/core/tlog/consistency.ts';
import { hashEquals } from '../../../src/core/tlog/hashing.ts';
import { inclusionProof } from '../../../src/core/tlog/inclusion.ts';
import { LogSequencer } from '../../../src/core/tlog/sequencer.ts';
import { treeRoot } from '../../../src/core/tlog/stored-hashes.ts';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { STORE_KINDS } from '../../support/pg.ts';

const AT = '2026-01-01T00:00:00.000Z';

function pkg(name: string, version: string, subdir = 'noarch'): StoredPackage {
  const filename = `${name}-${version}-0.conda`;
  return {
    channel: 'main',
    subdir,
    filename,
    sha256: Buffer.from(filename).toString('hex').padEnd(64, '0').slice(0, 64),
    md5: 'cd'.repeat(16),
    size: 1234,
    record: { name, version, build: '0', build_number: 0, depends: [], subdir } as unknown as StoredPackage['record'],
    about: null,
    uploadedAt: AT,
    uploadedBy: 'import',
    attestationsSha256: null,
  };
}

/** Deterministic entries (fixed times): two logs given the same ones hold the same bytes. */
function entry(i: number, channel = 'main'): LogEntry {
  return {
    channel,
    subdir: 'noarch',
    filename: `pkg${i}-1.0-0.conda`,
    sha256: (i.toString(16).padStart(8, '0') + 'ab').repeat(8).slice(0, 64),
    size: 1000 + i,
    action: 'publish',
    publisher: { kind: 'admin' },
    attestation_sha256: null,
    time: AT,
  };
}

async function withStore(kind: (typeof STORE_KINDS)[number], fn: (store: KyselyStore) => Promise<void>): Promise<void> {
  const { store, cleanup } = await kind.open();
  try {
    await store.channels.create({ name: 'main', private: false, requireAttestations: false, createdAt: AT });
    await fn(store);
  } finally {
    await cleanup();
  }
}

for (const kind of STORE_KINDS) {
  describe(`bulk inserts on ${kind.name}`, () => {
    test('insertMany adds the new filenames, leaves existing ones, and marks the subdir changed', async () => {
      await withStore(kind, async (store) => {
        const old = pkg('old', '1.0');
        assert.equal(await store.packages.insert(old, { replace: false }), 'inserted');
        const gone = pkg('gone', '1.0');
        await store.packages.insert(gone, { replace: false });
        await store.packages.remove('main', 'noarch', gone.filename);
        const before = (await store.repodata.get('main', 'noarch'))!;
        assert.ok(await store.repodata.setShard('main', 'noarch', 'old', 'aa'.repeat(32), before.generation), "old's shard is built");

        // 450 new (more than one multi-row statement), the live one again with other bytes, the removed one, another subdir
        const fresh = Array.from({ length: 450 }, (_, i) => pkg(`p${i % 30}`, `1.${i}`));
        const clash = { ...old, sha256: 'ef'.repeat(32) };
        const back = pkg('gone', '1.0');
        const linux = pkg('native', '2.0', 'linux-64');
        const added = await store.transaction((tx) => tx.packages.insertMany([...fresh, clash, back, linux]));

        assert.equal(added.size, 452);
        assert.ok(!added.has(clash), 'an existing live filename wins');
        assert.ok(added.has(back) && added.has(linux) && fresh.every((p) => added.has(p)));
        assert.equal((await store.packages.get('main', 'noarch', old.filename))!.sha256, old.sha256);
        assert.equal((await store.packages.get('main', 'noarch', fresh[449]!.filename))!.sha256, fresh[449]!.sha256);
        assert.equal(await store.packages.count('main'), 453);
        assert.deepEqual(await store.packages.removed('main', 'noarch'), [], 're-adding a removed filename takes it out of removed');

        const after = (await store.repodata.get('main', 'noarch'))!;
        assert.ok(after.generation > before.generation);
        assert.equal(after.records, before.records + 451);
        assert.equal((await store.repodata.get('main', 'linux-64'))!.records, 1);
        const changed = await store.repodata.changedNames('main', 'noarch', before.generation);
        for (const name of ['p0', 'p29', 'gone']) assert.ok(changed.includes(name), `${name}'s shard is stale`);
        assert.ok(!changed.includes('old'), 'the name of the refused file is not marked');
      });
    });

    test('insertMany of nothing new changes nothing', async () => {
      await withStore(kind, async (store) => {
        const p = pkg('a', '1');
        await store.packages.insert(p, { replace: false });
        const before = (await store.repodata.get('main', 'noarch'))!;
        assert.equal((await store.packages.insertMany([p])).size, 0);
        assert.equal((await store.repodata.get('main', 'noarch'))!.generation, before.generation);
      });
    });

    test('appendMany makes the tree, stored hashes and proofs of N single appends', async () => {
      const N = 1300; // more than one multi-row statement of entries and of hashes
      const entries = Array.from({ length: N + 5 }, (_, i) => entry(i));
      await withStore(kind, async (single) => {
        await withStore(kind, async (bulk) => {
          const one = new LogSequencer();
          for (const e of entries) await one.append(single, e);

          const seq = new LogSequencer();
          for (const e of entries.slice(0, 3)) await seq.append(bulk, e); // a hint from single appends
          const first = await bulk.transaction((tx) => seq.appendMany(tx, entries.slice(3, 3 + N)));
          assert.deepEqual(first, Array.from({ length: N }, (_, i) => 3 + i));
          await seq.append(bulk, entries[N + 3]!); // the hint the bulk append left
          // a second sequencer (another replica): no hint, it claims the head
          assert.deepEqual(await new LogSequencer().appendMany(bulk, [entries[N + 4]!]), [N + 4]);

          const size = N + 5;
          assert.equal(await bulk.log.size(), size);
          assert.deepEqual(await bulk.log.entries(0, size), await single.log.entries(0, size));
          const rebuilt = TreeAppender.empty();
          for (const e of await bulk.log.entries(0, size)) rebuilt.appendEntry(e);
          for (const s of [1, 2, 3, 4, 256, 257, 1000, N + 3, N + 4, size]) {
            assert.ok(hashEquals(await treeRoot(s, bulk.log), await treeRoot(s, single.log)), `root of size ${s}`);
          }
          assert.ok(hashEquals(await treeRoot(size, bulk.log), rebuilt.root()));
          for (const i of [0, 2, 3, 4, 255, 256, 777, N + 2, N + 3, N + 4]) {
            const [a, b] = [await inclusionProof(i, size, bulk.log), await inclusionProof(i, size, single.log)];
            assert.equal(a.length, b.length);
            a.forEach((h, j) => assert.ok(hashEquals(h, b[j]!), `inclusion proof of ${i}, hash ${j}`));
          }
          for (const [m, n] of [[3, size], [1, N + 3], [700, 1301], [N + 3, size]] as const) {
            const [a, b] = [await consistencyProof(m, n, bulk.log), await consistencyProof(m, n, single.log)];
            assert.equal(a.length, b.length);
            a.forEach((h, j) => assert.ok(hashEquals(h, b[j]!), `consistency proof ${m}→${n}, hash ${j}`));
          }
        });
      });
    });

    test('a rolled-back bulk append gives its indexes back; a bad entry takes none', async () => {
      await withStore(kind, async (store) => {
        const seq = new LogSequencer();
        await seq.append(store, entry(0));
        await assert.rejects(
          store.transaction(async (tx) => {
            assert.deepEqual(await seq.appendMany(tx, [entry(1), entry(2)]), [1, 2]);
            throw new Error('the import batch failed after its entries');
          }),
          /the import batch failed/,
        );
        assert.equal(await store.log.size(), 1);
        await assert.rejects(seq.appendMany(store, [entry(3), { ...entry(4), sha256: 'not-hex' }]));
        assert.equal(await store.log.size(), 1);
        assert.deepEqual(await seq.appendMany(store, [entry(5), entry(6)]), [1, 2]);
        assert.equal(await seq.append(store, entry(7)), 3);
        const rebuilt = TreeAppender.empty();
        for (const e of await store.log.entries(0, 4)) rebuilt.appendEntry(e);
        assert.ok(hashEquals(await treeRoot(4, store.log), rebuilt.root()));
      });
    });

    test('bulk and single appends from other sequencers interleave without a gap or a shared index', async () => {
      await withStore(kind, async (store) => {
        const bulk = new LogSequencer();
        const others = Array.from({ length: 4 }, () => new LogSequencer());
        const got = await Promise.all([
          ...Array.from({ length: 5 }, (_, b) => store.transaction((tx) => bulk.appendMany(tx, Array.from({ length: 20 }, (_, i) => entry(1000 + b * 20 + i))))),
          ...Array.from({ length: 40 }, (_, i) => others[i % 4]!.append(store, entry(i)).then((n) => [n])),
        ]);
        for (const run of got.slice(0, 5)) run.forEach((n, i) => assert.equal(n, run[0]! + i, 'a bulk append takes consecutive indexes'));
        const all = got.flat().sort((a, b) => a - b);
        assert.deepEqual(all, Array.from({ length: 140 }, (_, i) => i));
        const rebuilt = TreeAppender.empty();
        for (const e of await store.log.entries(0, 140)) rebuilt.appendEntry(e);
        assert.ok(hashEquals(await treeRoot(140, store.log), rebuilt.root()));
      });
    });

    test('a private channel\'s entries are blinded in a bulk append, each with its opening', async () => {
      await withStore(kind, async (store) => {
        await store.channels.create({ name: 'secret', private: true, requireAttestations: false, createdAt: AT });
        const idx = await new LogSequencer().appendMany(store, [entry(0), entry(1, 'secret'), entry(2)]);
        const openings = await store.log.openings(0, 3);
        assert.deepEqual([...openings.keys()], [idx[1]]);
        assert.equal(JSON.parse(openings.get(idx[1]!)!.entry).filename, 'pkg1-1.0-0.conda');
        const [clear, blinded] = (await store.log.entries(0, 2)).map((b) => new TextDecoder().decode(b));
        assert.ok(clear!.includes('pkg0-1.0-0.conda'));
        assert.ok(!blinded!.includes('pkg1-1.0-0.conda'), 'the private filename is not in the log in the clear');
      });
    });
  });
}
