// The sequencer and the checkpoint signer over a real SQLite file: consecutive indexes under
// concurrency, nothing left by a rollback, one checkpoint per batch, tiles in the blob store, and a
// signer that refuses to continue a log whose database was altered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { isProvenaError } from '../../src/core/errors.ts';
import { generateSignerKey, verifierKeyOf } from '../../src/core/tlog/note-keys.ts';
import { ed25519Verifier } from '../../src/core/tlog/note.ts';
import { verifyReceipt } from '../../src/core/tlog/receipt.ts';
import { treeRoot } from '../../src/core/tlog/stored-hashes.ts';
import { TreeAppender } from '../../src/core/tlog/tree-appender.ts';
import { LogSequencer } from '../../src/core/tlog/sequencer.ts';
import { hashEquals } from '../../src/core/tlog/hashing.ts';
import { ORIGIN, appendMany, openLogFixture, publishEntry } from './log-fixture.ts';

const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;
const rawDb = (dir: string) => new SqliteDatabase(path.join(dir, 'provena.sqlite'));

test('concurrent transactions get consecutive indexes, and the stored tree is the tree of the entries', async () => {
  const f = await openLogFixture();
  try {
    const indexes = await Promise.all(Array.from({ length: 40 }, () => f.store.transaction((tx) => f.log.append(tx, publishEntry()))));
    assert.deepEqual([...indexes].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
    const rebuilt = TreeAppender.empty();
    for (const e of await f.store.log.entries(0, 40)) rebuilt.appendEntry(e);
    assert.ok(hashEquals(await treeRoot(40, f.store.log), rebuilt.root()));
  } finally {
    await f.close();
  }
});

test('a rolled-back change leaves no entry and gives its index back; a bad entry takes none', async () => {
  const f = await openLogFixture();
  try {
    await appendMany(f, 3);
    await assert.rejects(
      f.store.transaction(async (tx) => {
        assert.equal(await f.log.append(tx, publishEntry()), 3);
        throw new Error('the change failed after its entry was appended');
      }),
      /the change failed/,
    );
    assert.equal(await f.store.log.size(), 3);
    await assert.rejects(f.store.transaction((tx) => f.log.append(tx, { ...publishEntry(), sha256: 'not-hex' })), code('entry_invalid'));
    assert.equal(await f.store.transaction((tx) => f.log.append(tx, publishEntry())), 3);
    assert.equal((await f.store.log.entries(0, 4)).length, 4);
  } finally {
    await f.close();
  }
});

test('receipts waited for together share one checkpoint, and verify offline', async () => {
  const f = await openLogFixture();
  try {
    await f.log.start();
    assert.equal(f.log.latest().size, 0, 'the empty tree is signed on first start');
    const indexes = await appendMany(f, 20);
    const receipts = await Promise.all(indexes.map((i) => f.log.receipt(i)));
    const db = rawDb(f.dir);
    const sizes = db.prepare('SELECT size FROM log_checkpoints ORDER BY size').all() as { size: number }[];
    db.close();
    assert.deepEqual(sizes.map((r) => Number(r.size)), [0, 20], 'one signature for the whole batch');
    const verifier = ed25519Verifier(verifierKeyOf(f.key));
    for (const [i, r] of receipts.entries()) {
      const v = verifyReceipt(r, [verifier], ORIGIN);
      assert.equal(v.index, i);
      assert.equal(v.checkpoint.size, 20);
    }
  } finally {
    await f.close();
  }
});

test('tiles and entry bundles are written before the checkpoint; replaced partial tiles are deleted', async () => {
  const f = await openLogFixture();
  try {
    await f.log.start();
    await appendMany(f, 200);
    await f.log.flush();
    const blob = (key: string) => path.join(f.dir, 'blobs', key);
    assert.equal(fs.statSync(blob('log/tile/0/000.p/200')).size, 200 * 32);
    assert.ok(fs.existsSync(blob('log/tile/entries/000.p/200')));
    await appendMany(f, 100);
    const cp = await f.log.flush();
    assert.equal(cp.size, 300);
    assert.equal(fs.statSync(blob('log/tile/0/000')).size, 8192);
    assert.ok(fs.existsSync(blob('log/tile/entries/000')));
    assert.equal(fs.statSync(blob('log/tile/0/001.p/44')).size, 44 * 32);
    assert.equal(fs.statSync(blob('log/tile/1/000.p/1')).size, 32);
    assert.deepEqual(fs.readdirSync(blob('log/tile/0/000.p')), [], 'the partial tile the full one replaced is gone');
    assert.equal(fs.readFileSync(blob('log/checkpoint'), 'utf8'), cp.note);
    // a deleted partial tile can still be answered from the database
    const rebuilt = await f.log.tileFromStore({ kind: 'tile', tile: { level: 0, index: 0, width: 200 } });
    assert.deepEqual(rebuilt, new Uint8Array(fs.readFileSync(blob('log/tile/0/000'))).subarray(0, 200 * 32));
    assert.equal(await f.log.tileFromStore({ kind: 'tile', tile: { level: 0, index: 1, width: 45 } }), null, 'not in the signed tree');
  } finally {
    await f.close();
  }
});

test('a restart resumes from the last checkpoint and signs the backlog before serving, in bounded batches', async () => {
  let f = await openLogFixture({ maxBatch: 64 });
  try {
    await f.log.start();
    await appendMany(f, 10);
    const before = await f.log.flush();
    await appendMany(f, 150); // committed, never signed: the "crash" came first
    assert.equal(before.size, 10);
    f = await f.reopen();
    await f.log.start();
    assert.equal(f.log.latest().size, 160, 'the committed backlog is signed before start returns');
    const db = rawDb(f.dir);
    const sizes = (db.prepare('SELECT size FROM log_checkpoints ORDER BY size').all() as { size: number }[]).map((r) => Number(r.size));
    db.close();
    assert.deepEqual(sizes, [0, 10, 74, 138, 160]);
  } finally {
    await f.close();
  }
});

test('the signer refuses to sign over a rewritten entry, and does not publish', async () => {
  const f = await openLogFixture();
  try {
    await f.log.start();
    await appendMany(f, 5);
    await f.log.flush();
    await appendMany(f, 2);
    const db = rawDb(f.dir);
    db.prepare('UPDATE log_entries SET entry = ? WHERE idx = 3').run(JSON.stringify(publishEntry('forged')));
    db.close();
    await assert.rejects(f.log.flush(), code('log_store_inconsistent'));
    assert.equal(f.log.latest().size, 5, 'nothing was signed');
    assert.ok(f.errors.some(code('log_store_inconsistent')), 'the failure was reported');
    await assert.rejects(f.log.receipt(3), code('log_store_inconsistent'), 'no receipt for an entry that does not match its hash');
  } finally {
    await f.close();
  }
});

test('the signer refuses to sign a tree whose new hashes do not match the entries', async () => {
  const f = await openLogFixture();
  try {
    await f.log.start();
    await appendMany(f, 4);
    await f.log.flush();
    await appendMany(f, 4);
    const db = rawDb(f.dir);
    db.prepare('UPDATE log_hashes SET hash = ? WHERE level = 1 AND idx = 2').run('00'.repeat(32));
    db.close();
    await assert.rejects(f.log.flush(), code('log_store_inconsistent'));
    assert.equal(f.log.latest().size, 4);
  } finally {
    await f.close();
  }
});

test('a restart refuses a database whose signed tree was altered, another key, or another origin', async () => {
  let f = await openLogFixture();
  const key = f.key;
  await f.log.start();
  await appendMany(f, 6);
  await f.log.flush();

  f = await f.reopen({ key: generateSignerKey(ORIGIN) });
  await assert.rejects(f.log.start(), code('log_key_changed'));
  f = await f.reopen({ key, origin: 'elsewhere.test/log' });
  await assert.rejects(f.log.start(), code('log_origin_changed'));

  const db = rawDb(f.dir);
  db.prepare('UPDATE log_hashes SET hash = ? WHERE level = 2 AND idx = 0').run('11'.repeat(32));
  db.close();
  f = await f.reopen({ key, origin: ORIGIN });
  await assert.rejects(f.log.start(), code('log_store_inconsistent'));
  await f.close();
});

test('two sequencers on one database (as two replicas) interleave without gaps, duplicates or a wrong hash', async () => {
  const f = await openLogFixture();
  try {
    const a = new LogSequencer();
    const b = new LogSequencer();
    const got: number[] = [];
    // each append by one makes the other's hint stale: every other append goes through the fallback
    for (let i = 0; i < 30; i++) got.push(await f.store.transaction((tx) => (i % 3 === 0 ? b : a).append(tx, publishEntry())));
    assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i));
    await f.log.start();
    assert.equal((await f.log.flush()).size, 30, 'the signer\'s rebuild from the entries agrees with every stored hash');
  } finally {
    await f.close();
  }
});

test('a tampered log head makes the next appends wrong, and the signer refuses them', async () => {
  const f = await openLogFixture();
  try {
    await f.log.start();
    await appendMany(f, 3);
    await f.log.flush();
    const db = rawDb(f.dir);
    db.prepare('UPDATE log_head SET frontier = ?').run('ab'.repeat(64));
    db.close();
    // a fresh sequencer has no hint: it trusts the head row, so what it stores is wrong
    await f.store.transaction((tx) => new LogSequencer().append(tx, publishEntry()));
    await assert.rejects(f.log.flush(), code('log_store_inconsistent'));
    assert.equal(f.log.latest().size, 3);
  } finally {
    await f.close();
  }
});
