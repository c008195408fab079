// PostgreSQL shared by several processes: separate pools (as replicas have) appending to one log,
// two checkpoint signers on one log and one blob directory, and migrations started at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../../src/adapters/blobs/fs/fs-blob-store.ts';
import { generateSignerKey, verifierKeyOf } from '../../../src/core/tlog/note-keys.ts';
import { ed25519Verifier, openNote, parseNote } from '../../../src/core/tlog/note.ts';
import { parseCheckpoint } from '../../../src/core/tlog/checkpoint.ts';
import { verifyReceipt } from '../../../src/core/tlog/receipt.ts';
import { treeRoot } from '../../../src/core/tlog/stored-hashes.ts';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { hashEquals } from '../../../src/core/tlog/hashing.ts';
import { TransparencyLog } from '../../../src/core/tlog/transparency-log.ts';
import { LogSequencer } from '../../../src/core/tlog/sequencer.ts';
import { PG_URL, adminQuery, tempPgSchema, tempPgStore } from '../../support/pg.ts';
import { provena as runCli } from '../../support/cli.ts';
import { ORIGIN, publishEntry } from '../../tlog-server/log-fixture.ts';

test('two stores with their own pools append 400 entries at once: indexes 0..399 exactly, and the tree verifies', async () => {
  const { store: a, pg, open } = await tempPgStore(6);
  const b = open();
  try {
    const seqA = new LogSequencer();
    const seqB = new LogSequencer();
    const N = 400;
    const got = await Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 === 0 ? a.transaction((tx) => seqA.append(tx, publishEntry())) : b.transaction((tx) => seqB.append(tx, publishEntry())))),
    );
    assert.deepEqual([...got].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i), 'no gap, no duplicate');
    assert.equal(await b.log.size(), N);
    const rebuilt = TreeAppender.empty();
    for (const e of await a.log.entries(0, N)) rebuilt.appendEntry(e);
    assert.ok(hashEquals(await treeRoot(N, b.log), rebuilt.root()), 'the stored hashes are the tree of the entries');
  } finally {
    await a.close();
    await b.close();
    await pg.drop();
  }
});

test('two signers on one database and one blob directory publish one forward-only history', async () => {
  const { store: a, pg, open } = await tempPgStore(4);
  const b = open();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-pg-log-'));
  const key = generateSignerKey(ORIGIN);
  // every write into the shared directory, in the order they land: log/checkpoint sizes, tile paths
  const writes: string[] = [];
  const recording = (blobs: FsBlobStore): FsBlobStore =>
    Object.assign(Object.create(blobs) as FsBlobStore, {
      async putBytes(k: string, bytes: Uint8Array) {
        await blobs.putBytes(k, bytes);
        writes.push(k === 'log/checkpoint' ? `checkpoint ${parseCheckpoint(parseNote(new TextDecoder().decode(bytes)).text).size}` : k);
      },
    });
  const logOf = (store: typeof a) =>
    new TransparencyLog({
      store,
      blobs: recording(new FsBlobStore(path.join(dir, 'blobs'))),
      key,
      origin: ORIGIN,
      clock: { now: () => new Date() },
      intervalMs: 5,
      // small batches: many checkpoints, so the two signers' batches overlap often
      maxBatch: 7,
      onError: () => undefined,
    });
  const logA = logOf(a);
  const logB = logOf(b);
  try {
    await Promise.all([logA.start(), logB.start()]);
    const verifier = ed25519Verifier(verifierKeyOf(key));
    const receipts = await Promise.all(
      Array.from({ length: 150 }, async (_, i) => {
        const [store, log] = i % 2 === 0 ? [a, logA] : [b, logB];
        const index = await store.transaction((tx) => log.append(tx, publishEntry()));
        return { index, receipt: await log.receipt(index) };
      }),
    );
    const final = await logA.flush();
    await logB.flush();
    assert.equal(final.size, 150);
    for (const { index, receipt } of receipts) assert.equal(verifyReceipt(receipt, [verifier], ORIGIN).index, index);
    // the static checkpoint only moves forward, and no partial tile is written after the full tile
    // that replaced it (a late signer of an older size would do both)
    const published = writes.filter((w) => w.startsWith('checkpoint ')).map((w) => Number(w.slice(11)));
    for (let i = 1; i < published.length; i++) {
      assert.ok(published[i]! >= published[i - 1]!, `log/checkpoint went back from ${published[i - 1]} to ${published[i]}: ${published.join(' ')}`);
    }
    const full = new Set<string>();
    for (const w of writes) {
      const partial = /^(log\/tile\/.+)\.p\/\d+$/.exec(w);
      if (partial) assert.ok(!full.has(partial[1]!), `${w} was written after the full tile ${partial[1]}`);
      else full.add(w);
    }
    assert.ok(published.length > 4, 'several checkpoints were published');
    const { rows } = await adminQuery(`SELECT size, note FROM ${pg.schema}.log_checkpoints ORDER BY size DESC LIMIT 1`);
    assert.equal(Number(rows[0].size), 150);
    const served = fs.readFileSync(path.join(dir, 'blobs/log/checkpoint'), 'utf8');
    assert.equal(served, rows[0].note);
    openNote(served, [verifier]);
    assert.equal(logB.latest().size, 150, 'the other replica serves the newest checkpoint too');
  } finally {
    await logA.stop();
    await logB.stop();
    await a.close();
    await b.close();
    await pg.drop();
  }
});

test('three `provena migrate` processes on one fresh schema all succeed and leave one complete schema', async () => {
  const s = await tempPgSchema({ create: false });
  try {
    const args = ['migrate', '--database', PG_URL, '--database-schema', s.schema];
    const runs = await Promise.all([runCli(args), runCli(args), runCli(args)]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const applied = runs.filter((r) => /applied \d+ migration/.test(r.stdout));
    assert.equal(applied.length, 1, `one process applies, the others find it done:\n${runs.map((r) => r.stdout).join('')}`);
    assert.equal(runs.filter((r) => /is up to date/.test(r.stdout)).length, 2);
    const { rows } = await adminQuery(`SELECT name FROM ${s.schema}.kysely_migration ORDER BY name`);
    assert.ok(rows.length >= 4 && rows.some((r) => r.name === '0003_transparency_log'), 'every migration recorded once');
    assert.equal(new Set(rows.map((r) => r.name)).size, rows.length);
    const head = await adminQuery(`SELECT size FROM ${s.schema}.log_head`);
    assert.deepEqual(head.rows.map((r) => Number(r.size)), [0], 'one log head row');
  } finally {
    await s.drop();
  }
});

test('`provena migrate` against an unreachable or badly named database fails with one line', async () => {
  const down = await runCli(['migrate', '--database', 'postgres://postgres:secret@127.0.0.1:1/test']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot open the PostgreSQL database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test/);
  assert.doesNotMatch(down.stderr, /secret/, 'the password is not printed');
  const bad = await runCli(['migrate', '--database', 'mysql://x/y']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /setting database: must be a postgres:\/\//);
  const schema = await runCli(['migrate', '--database', PG_URL, '--database-schema', 'Bad-Name']);
  assert.equal(schema.code, 2);
  assert.match(schema.stderr, /setting database_schema/);
});

test('a transaction PostgreSQL aborts to break a deadlock runs again, and both changes land', async () => {
  const { store, pg } = await tempPgStore(4);
  try {
    for (const name of ['a', 'b']) await store.channels.create({ name, private: false, requireAttestations: false, createdAt: '2026-01-01T00:00:00.000Z' });
    let arrived = 0;
    let release!: () => void;
    const bothHoldOne = new Promise<void>((r) => (release = r));
    let runs = 0;
    // each locks one channel row, waits until the other holds its row, then wants the other's: a cycle
    const crossing = (first: string, second: string) =>
      store.transaction(async (tx) => {
        runs++;
        await tx.channels.update(first, { private: true });
        if (++arrived === 2) release();
        await bothHoldOne;
        await tx.channels.update(second, { requireAttestations: true });
      });
    await Promise.all([crossing('a', 'b'), crossing('b', 'a')]);
    assert.equal(runs, 3, 'one of the two was aborted by the deadlock detector and ran again');
    for (const name of ['a', 'b']) {
      const c = await store.channels.get(name);
      assert.deepEqual([c?.private, c?.requireAttestations], [true, true]);
    }
  } finally {
    await store.close();
    await pg.drop();
  }
});

test('migrations succeed while another application creates and drops schemas in the same database', async () => {
  // Kysely's migrator introspects every table of the database; a schema dropped meanwhile used to
  // fail about one migration in four with `schema "<theirs>" does not exist`
  let stop = false;
  const churn = (async () => {
    while (!stop) {
      const other = await tempPgSchema();
      for (let i = 0; i < 3; i++) await adminQuery(`CREATE TABLE ${other.schema}.t${i} (a int)`);
      await other.drop();
    }
  })();
  try {
    for (let i = 0; i < 15; i++) {
      const { store, pg } = await tempPgStore(2);
      try {
        assert.ok((await store.packages.subdirs('none')).length === 0, 'the migrated schema answers');
      } finally {
        await store.close();
        await pg.drop();
      }
    }
  } finally {
    stop = true;
    await churn;
  }
});
