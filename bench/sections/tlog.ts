/**
 * Issue 5: the transparency log's sequencer and proofs, in-process against a real SQLite file
 * (WAL, synchronous=FULL, as the server runs it), with the checkpoint signer running (batches every
 * 100 ms, tiles written to a real blob directory). The log is first filled to 10k and to 1M entries
 * (tlog-prefill.ts), then measured through the server's own code:
 *   - appends/s in transactions of 100 (the sequencer's rate), and one transaction per append (the
 *     rate a stream of single uploads could reach: each commit is an fsync);
 *   - inclusion-proof time from the stored hashes, at 10k and at 1M.
 * Targets: ≥ 20,000 appends/s; proof time at 1M ≤ 2× the time at 10k.
 */
import { mkdir } from 'node:fs/promises';
import SqliteDatabase from 'better-sqlite3';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import { inclusionProof } from '../../src/core/tlog/inclusion.ts';
import { generateSignerKey } from '../../src/core/tlog/note-keys.ts';
import { TransparencyLog } from '../../src/core/tlog/transparency-log.ts';
import type { BenchContext } from '../lib/context.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';
import { benchEntry, prefillLog } from './tlog-prefill.ts';

const TARGET_APPENDS = 20_000;
const TARGET_PROOF_RATIO = 2;
const ORIGIN = 'bench.provena.test/log';
const PROOF_ROUNDS = 5;

interface SizeFigures {
  size: number;
  batchedPerSec: number;
  singlePerSec: number;
  checkpoints: number;
  proofMicros: number;
}

export const tlogSection: Section = {
  id: 'tlog',
  title: 'Transparency log: appends and inclusion proofs',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const quick = ctx.config.rounds === 1 && ctx.config.wrkDurationSec <= 2;
    const big = quick ? 100_000 : 1_000_000;
    const s = newSection(this.id, this.title, 'target');
    const batched = quick ? 5_000 : 20_000;
    const single = quick ? 300 : 1_000;
    const proofs = 2_000;
    s.setup.push(
      `log filled to 10k and ${big / 1000}k entries, then, through the server's code: ${batched} appends in transactions of 100, ${single} in one transaction each`,
      'SQLite WAL, synchronous=FULL; checkpoint signer running (100 ms batches, tiles to disk); the time includes signing every entry appended',
      `inclusion proofs: ${proofs} random leaves per size, sequential, from the stored hashes (no verification); mean per proof, best of ${PROOF_ROUNDS} rounds interleaved between the sizes`,
      `"target" column: ${TARGET_APPENDS.toLocaleString('en-US')} appends/s (issue 5)`,
    );
    const logs: OpenLog[] = [];
    try {
      for (const size of [10_000, big]) {
        ctx.log(`tlog: filling a log to ${size} entries`);
        logs.push(await openFilled(join(ctx.tmpRoot, `tlog-${size}`), size));
        await measureAppends(logs[logs.length - 1], batched, single, ctx);
      }
      // Interleaved rounds, best of each: the two sizes are compared under the same machine load.
      for (let round = 0; round < PROOF_ROUNDS; round++) {
        for (const l of logs) l.proofMicros = Math.min(l.proofMicros, await timeProofs(l, proofs / PROOF_ROUNDS));
      }
    } finally {
      for (const l of logs) await l.close();
    }
    const figures: SizeFigures[] = logs.map(({ size, batchedPerSec, singlePerSec, checkpoints, proofMicros }) => ({ size, batchedPerSec, singlePerSec, checkpoints, proofMicros }));
    for (const f of figures) ctx.log(`tlog @${f.size}: inclusion proof ${f.proofMicros.toFixed(0)} µs`);
    const [small, large] = figures;
    const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
    for (const f of figures) {
      s.rows.push(makeRow(`appends/s at ${label(f.size)} entries, 100 per transaction`, 'appends/s', f.batchedPerSec, TARGET_APPENDS, { kind: 'min-ratio', value: 1 }));
    }
    for (const f of figures) {
      s.rows.push(makeRow(`appends/s at ${label(f.size)} entries, one transaction each`, 'appends/s', f.singlePerSec, null, null));
    }
    for (const f of figures) s.rows.push(makeRow(`inclusion proof at ${label(f.size)} entries`, 'µs', f.proofMicros, null, null, false));
    s.rows.push(makeRow(`inclusion proof time ${label(large.size)} ÷ ${label(small.size)}`, '×', large.proofMicros / small.proofMicros, null, { kind: 'max', value: TARGET_PROOF_RATIO }));
    s.details = { figures };
    return s;
  },
};

interface OpenLog extends SizeFigures {
  file: string;
  store: KyselyStore;
  log: TransparencyLog;
  next: number;
  close(): Promise<void>;
}

async function openFilled(dir: string, size: number): Promise<OpenLog> {
  await mkdir(dir, { recursive: true });
  const key = generateSignerKey(ORIGIN);
  const file = join(dir, 'provena.sqlite');
  await prefillLog(file, size, key, ORIGIN);
  const store = new KyselyStore(openSqlite(file));
  const log = new TransparencyLog({ store, blobs: new FsBlobStore(join(dir, 'blobs')), key, origin: ORIGIN, clock: { now: () => new Date() } });
  await log.start();
  const close = async () => {
    await log.stop();
    await store.close();
  };
  return { size, file, store, log, next: size, close, batchedPerSec: 0, singlePerSec: 0, checkpoints: 0, proofMicros: Infinity };
}

async function measureAppends(l: OpenLog, batched: number, single: number, ctx: BenchContext): Promise<void> {
  const { store, log } = l;
  const before = log.latest().size;
  let t0 = performance.now();
  for (let done = 0; done < batched; done += 100) {
    await store.transaction(async (tx) => {
      for (let i = 0; i < 100; i++) await log.append(tx, benchEntry(l.next++));
    });
  }
  await log.flush();
  l.batchedPerSec = batched / ((performance.now() - t0) / 1000);
  l.checkpoints = checkpointsSince(l.file, before);
  t0 = performance.now();
  for (let i = 0; i < single; i++) await store.transaction((tx) => log.append(tx, benchEntry(l.next++)));
  await log.flush();
  l.singlePerSec = single / ((performance.now() - t0) / 1000);
  ctx.log(`tlog @${l.size}: ${l.batchedPerSec.toFixed(0)} appends/s batched (${l.checkpoints} checkpoints), ${l.singlePerSec.toFixed(0)} one per transaction`);
}

/** Mean time of `n` inclusion proofs for random leaves of the signed tree (after a short warm-up). */
async function timeProofs(l: OpenLog, n: number): Promise<number> {
  const size = l.log.latest().size;
  const leaves = Array.from({ length: n }, () => Math.floor(Math.random() * size));
  for (const i of leaves.slice(0, 50)) await inclusionProof(i, size, l.store.log);
  const t0 = performance.now();
  for (const i of leaves) await inclusionProof(i, size, l.store.log);
  return ((performance.now() - t0) * 1000) / n;
}

/** How many checkpoints the signer made for the batched appends (read beside the server's connection). */
function checkpointsSince(file: string, size: number): number {
  const db = new SqliteDatabase(file, { readonly: true });
  try {
    return Number((db.prepare('SELECT count(*) AS n FROM log_checkpoints WHERE size > ?').get(size) as { n: number }).n);
  } finally {
    db.close();
  }
}
