// A small honest log and a dishonest twin (same key, one old entry rewritten), served to the monitor
// logic the way a server would: signed checkpoints, consistency proofs, tiles and entry bundles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type LogEntry, encodeEntry } from '../../../src/core/tlog/entry.ts';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { MemoryHashStore } from '../../../src/core/tlog/memory-hash-store.ts';
import { type Checkpoint, signCheckpoint } from '../../../src/core/tlog/checkpoint.ts';
import { generateSignerKey, verifierKeyOf } from '../../../src/core/tlog/note-keys.ts';
import { ed25519Signer, ed25519Verifier } from '../../../src/core/tlog/note.ts';
import { consistencyProof } from '../../../src/core/tlog/consistency.ts';
import { readTileData } from '../../../src/core/tlog/tiles.ts';
import { TileHashReader } from '../../../src/core/tlog/tile-hash-reader.ts';
import { type LogUpdate, checkLogUpdate } from '../../../src/core/tlog/monitor.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const ORIGIN = 'provena.example/log';
const key = generateSignerKey(ORIGIN);
const verifiers = [ed25519Verifier(verifierKeyOf(key))];
const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;

function entry(i: number, sha = i.toString(16).padStart(64, '0')): Uint8Array {
  const e: LogEntry = {
    channel: 'main',
    subdir: 'noarch',
    filename: `pkg-${i}.0-0.conda`,
    sha256: sha,
    size: 1000 + i,
    action: 'publish',
    publisher: { kind: 'key', id: 'k1' },
    attestation_sha256: null,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  };
  return encodeEntry(e);
}

/** A log server: entries, stored hashes, and a checkpoint per size. */
function serve(entries: Uint8Array[], signer = key) {
  const store = new MemoryHashStore();
  const appender = TreeAppender.empty();
  const checkpoints: Checkpoint[] = [{ origin: ORIGIN, size: 0, root: appender.root(), extensions: [] }];
  for (const e of entries) {
    store.put(appender.appendEntry(e));
    checkpoints.push({ origin: ORIGIN, size: appender.size, root: appender.root(), extensions: [] });
  }
  return {
    entries,
    checkpoint: (n: number) => checkpoints[n],
    signed: (n: number) => signCheckpoint(checkpoints[n], [ed25519Signer(signer)]),
    proof: (m: number, n: number) => consistencyProof(m, n, store),
    tiles: (n: number) => new TileHashReader(n, { readTiles: (ts) => Promise.all(ts.map((t) => readTileData(t, store))) }),
  };
}

const honestEntries = Array.from({ length: 600 }, (_, i) => entry(i));
const honest = serve(honestEntries);
// Same key, same size, but entry 3 now names other bytes: history rewritten and re-signed.
const forked = serve(honestEntries.map((e, i) => (i === 3 ? entry(3, 'f'.repeat(64)) : e)));

const base = (over: Partial<LogUpdate>): LogUpdate => ({ origin: ORIGIN, verifiers, previous: null, signedCheckpoint: honest.signed(600), ...over });

test('first run: entries from 0 that hash to the signed root are accepted and parsed', async () => {
  const report = await checkLogUpdate(base({ previous: null, entries: { start: 0, bytes: honestEntries } }));
  assert.equal(report.checkpoint.size, 600);
  assert.equal(report.entries.length, 600);
  assert.equal(report.entries[599].entry.filename, 'pkg-599.0-0.conda');
});

test('growth is consistent with a served proof, or with the tiles alone', async () => {
  await checkLogUpdate(base({ previous: honest.checkpoint(300), consistencyProof: await honest.proof(300, 600) }));
  const report = await checkLogUpdate(
    base({ previous: honest.checkpoint(300), hashes: honest.tiles(600), entries: { start: 300, bytes: honestEntries.slice(300) } }),
  );
  assert.equal(report.entries[0].index, 300);
  // Entries that stop short of the tree size are checked one inclusion proof at a time.
  await checkLogUpdate(base({ previous: honest.checkpoint(300), hashes: honest.tiles(600), entries: { start: 10, bytes: honestEntries.slice(10, 20) } }));
  // Unchanged log, and a first checkpoint at size 0.
  await checkLogUpdate(base({ previous: honest.checkpoint(600) }));
  await checkLogUpdate(base({ previous: honest.checkpoint(0) }));
});

test('fork: a re-signed tree with an old entry rewritten is not an extension of what we trusted', async () => {
  const previous = honest.checkpoint(300);
  const signedCheckpoint = forked.signed(600);
  await assert.rejects(checkLogUpdate(base({ previous, signedCheckpoint, consistencyProof: await forked.proof(300, 600) })), code('log_fork'));
  await assert.rejects(checkLogUpdate(base({ previous, signedCheckpoint, hashes: forked.tiles(600) })), code('log_fork'));
  // Even when the server replays the honest proof.
  await assert.rejects(checkLogUpdate(base({ previous, signedCheckpoint, consistencyProof: await honest.proof(300, 600) })), code('log_fork'));
  // Same size, other root; and a log that shrank.
  await assert.rejects(checkLogUpdate(base({ previous: honest.checkpoint(600), signedCheckpoint })), code('log_fork'));
  await assert.rejects(checkLogUpdate(base({ previous: honest.checkpoint(600), signedCheckpoint: honest.signed(599) })), code('log_fork'));
});

test('rewritten entry: bundles that do not match the signed tree are caught and located', async () => {
  const served = [...honestEntries];
  served[412] = entry(412, 'e'.repeat(64));
  const fromTrusted = base({ previous: honest.checkpoint(300), hashes: honest.tiles(600), entries: { start: 300, bytes: served.slice(300) } });
  await assert.rejects(checkLogUpdate(fromTrusted), (e) => code('log_entry_rewritten')(e) && /entry 412/.test((e as Error).message));
  await assert.rejects(checkLogUpdate(base({ entries: { start: 0, bytes: served } })), code('log_entry_rewritten'));
  await assert.rejects(
    checkLogUpdate(base({ previous: honest.checkpoint(300), hashes: honest.tiles(600), entries: { start: 400, bytes: served.slice(400, 420) } })),
    (e) => code('log_entry_rewritten')(e) && /entry 412/.test((e as Error).message),
  );
});

test('bad signature: another key, or a checkpoint edited after signing', async () => {
  const impostor = serve(honestEntries, generateSignerKey(ORIGIN));
  await assert.rejects(checkLogUpdate(base({ signedCheckpoint: impostor.signed(600) })), code('log_signature_invalid'));
  const edited = honest.signed(600).replace('\n600\n', '\n601\n');
  await assert.rejects(checkLogUpdate(base({ signedCheckpoint: edited })), code('log_signature_invalid'));
  await assert.rejects(checkLogUpdate(base({ signedCheckpoint: 'not a note' })), code('log_signature_invalid'));
  const otherLog = signCheckpoint({ ...honest.checkpoint(600), origin: 'other.example/log' }, [ed25519Signer(key)]);
  await assert.rejects(checkLogUpdate(base({ signedCheckpoint: otherLog })), code('log_origin_mismatch'));
});

test('tiles that do not add up to the signed root are reported as such', async () => {
  await assert.rejects(checkLogUpdate(base({ previous: honest.checkpoint(300), hashes: forked.tiles(600) })), code('log_tiles_invalid'));
});

test('a logged entry that is not a canonical log entry is flagged', async () => {
  const garbage = [...honestEntries.slice(0, 5), new TextEncoder().encode('{"action": "publish"}')];
  const log = serve(garbage);
  await assert.rejects(checkLogUpdate(base({ signedCheckpoint: log.signed(6), entries: { start: 0, bytes: garbage } })), code('log_entry_invalid'));
});

test('missing evidence is a usage error, not a verdict', async () => {
  await assert.rejects(checkLogUpdate(base({ previous: honest.checkpoint(300) })), code('log_proof_missing'));
  await assert.rejects(checkLogUpdate(base({ entries: { start: 300, bytes: honestEntries.slice(300) } })), code('log_proof_missing'));
});
