// The crash rule for the log: SIGKILL the server at random moments during bursts of uploads, restart
// it on the same data directory, and require that the tree it serves is consistent with every
// checkpoint anyone saw before (polled from /log/checkpoint or carried in a receipt), and that the
// log holds exactly one publish entry per live package: no publish without its entry, no entry
// without its publish. The seed is printed; CRASH_SEED=N replays a run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBase64 } from '../../src/core/tlog/base64.ts';
import type { Checkpoint } from '../../src/core/tlog/checkpoint.ts';
import { verifyConsistency } from '../../src/core/tlog/consistency.ts';
import { hashEquals } from '../../src/core/tlog/hashing.ts';
import { verifyReceipt } from '../../src/core/tlog/receipt.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { sha256Hex, uploadMultipart, uploadRaw } from '../support/upload.ts';
import { type ServedLog, servedLog, signedCheckpoint, smallPackage, waitForLogSize } from './log-support.ts';

const ROUNDS = 4;
const PER_ROUND = 14;

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('transparency log crash safety', () => {
  it('stays consistent with every checkpoint it ever published across SIGKILLs', async () => {
    const seed = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    const rnd = random(seed);
    const context = `(CRASH_SEED=${seed})`;
    let server: RunningServer = await startServer();
    const dataDir = server.dataDir;
    const log = await servedLog(server);
    const seen = new Map<string, Checkpoint>();
    await api(server, 'POST', '/api/v1/channels', { name: 'crash' });
    const packages = await Promise.all(
      Array.from({ length: ROUNDS * PER_ROUND }, async (_, i) => ({ filename: `crash${i}-1.0-0.conda`, bytes: await smallPackage(`crash${i}`) })),
    );

    try {
      for (let round = 0; round < ROUNDS; round++) {
        const batch = packages.slice(round * PER_ROUND, (round + 1) * PER_ROUND);
        let polling = true;
        const poller = (async () => {
          while (polling) {
            try {
              const { note, checkpoint } = await signedCheckpoint(server, log);
              seen.set(note, checkpoint);
            } catch {
              // the server is being killed: nothing to see
            }
            await sleep(2);
          }
        })();
        let acknowledged = 0;
        const receipts: { filename: string; sha256: string; receipt: unknown }[] = [];
        const inflight = batch.map(async (p, i) => {
          await sleep(Math.floor(rnd() * 40) + i);
          const upload = i % 2 ? uploadRaw : uploadMultipart;
          const res = await upload(server, 'crash', p.filename, p.bytes, { token: ADMIN_TOKEN }).catch(() => ({ status: 0, json: undefined }));
          if (res.status !== 201) return;
          acknowledged++;
          receipts.push({ filename: p.filename, sha256: sha256Hex(p.bytes), receipt: res.json.receipt });
        });
        // kill after a random number of acknowledgements plus a random delay: mid-burst, mid-batch
        const killAfter = 1 + Math.floor(rnd() * (PER_ROUND - 3));
        while (acknowledged < killAfter) await sleep(1);
        await sleep(Math.floor(rnd() * 25));
        await server.stop('SIGKILL');
        await Promise.all(inflight);
        polling = false;
        await poller;
        const killed = server;
        for (const r of receipts) {
          assert.ok(r.receipt, `the acknowledged upload of ${r.filename} has a receipt ${context}\n${killed.output()}`);
          const v = verifyReceipt(r.receipt, [log.verifier], log.origin);
          assert.equal(v.entry.sha256, r.sha256, `receipt of ${r.filename} ${context}`);
          seen.set((r.receipt as { checkpoint: string }).checkpoint, v.checkpoint);
        }

        server = await startServer({ dataDir }).catch((e) => {
          throw new Error(`restart ${round + 1} failed ${context}: ${(e as Error).message}`);
        });
        await checkConsistentWithAllSeen(server, log, seen, `after kill ${round + 1} ${context}`);
        await checkOneEntryPerPublish(server, log, `after kill ${round + 1} ${context}`);
      }
    } finally {
      await server.stop();
    }
    assert.ok(seen.size >= ROUNDS, `checkpoints were observed (${seen.size}) ${context}`);
  });
});

async function checkConsistentWithAllSeen(server: RunningServer, log: ServedLog, seen: Map<string, Checkpoint>, context: string) {
  const { checkpoint: now } = await signedCheckpoint(server, log);
  for (const old of seen.values()) {
    assert.ok(old.size <= now.size, `the log shrank from ${old.size} to ${now.size} ${context}`);
    if (old.size === now.size) {
      assert.ok(hashEquals(old.root, now.root), `two roots for size ${now.size} ${context}`);
      continue;
    }
    if (old.size === 0) continue;
    const res = await api(server, 'GET', `/api/v1/log/proof/consistency?old=${old.size}&new=${now.size}`, undefined, null);
    assert.equal(res.status, 200, context);
    verifyConsistency(old.size, now.size, old.root, now.root, res.json.proof.map((p: string) => decodeBase64(p)!));
  }
}

async function checkOneEntryPerPublish(server: RunningServer, log: ServedLog, context: string) {
  const listed = (await api(server, 'GET', '/api/v1/channels/crash/packages')).json.packages as { filename: string; sha256: string }[];
  // the channel's creation, then one publish per live package; committed entries are signed after the
  // restart. Repodata versions (repodata_publish) are logged too, as each rebuild lands: they are skipped.
  const want = 1 + listed.length;
  const deadline = Date.now() + 15_000;
  const logged = new Set<string>();
  let changes = 0;
  for (let read = 0; ; ) {
    const signed = await waitForLogSize(server, log, Math.max(want, read));
    for (; read < signed.size; read++) {
      const res = await api(server, 'GET', `/api/v1/log/entries/${read}`, undefined, null);
      const { entry } = verifyReceipt(res.json, [log.verifier], log.origin);
      if (entry.action === 'repodata_publish') continue;
      assert.equal(entry.action, changes === 0 ? 'channel_update' : 'publish', `entry ${read} ${context}`);
      if (changes > 0) logged.add(`${entry.filename} ${entry.sha256}`);
      changes++;
    }
    if (changes >= want || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(changes, want, `entries without their publish ${context}`);
  assert.deepEqual([...logged].sort(), listed.map((p) => `${p.filename} ${p.sha256}`).sort(), `every live package has its entry ${context}`);
}
