/**
 * Issue 5: what the transparency log costs an upload. The same server (createApp, real SQLite file
 * and blob directory, in-process requests through Fastify's inject, so no socket noise) takes the
 * same small packages twice: as it runs, where each upload appends its entry in its transaction and
 * its response waits for a signed checkpoint and carries the receipt; and with the log's append and
 * receipt stubbed out (a bench-only patch; the server has no switch to run without its log).
 * Reported, no target: the ratio is the throughput kept with the log.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import { generateSignerKey } from '../../src/core/tlog/note-keys.ts';
import { writeBigConda } from '../lib/big-package.ts';
import type { BenchContext } from '../lib/context.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';

const ADMIN = 'bench-admin-token-0123456789abcdef';
const CONCURRENCY = 8;

interface Pkg {
  filename: string;
  bytes: Buffer;
}

export const tlogUploadSection: Section = {
  id: 'tlog-upload',
  title: 'Transparency log: upload throughput with and without it',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const quick = ctx.config.rounds === 1 && ctx.config.wrkDurationSec <= 2;
    const perRun = quick ? 30 : 100;
    const s = newSection(this.id, this.title, 'without log');
    s.setup.push(
      `${perRun} small .conda packages (~20 kB) one at a time, then ${perRun} more with ${CONCURRENCY} in flight, per variant; best of 2 rounds`,
      'both variants run at once so they share the machine\'s load: single uploads alternate between them, the pools run side by side',
      'in-process POST /api/v1/upload/bench (Fastify inject, admin token), SQLite synchronous=FULL, blobs fsynced, repodata refreshed per upload',
      'with log: entry appended in the upload transaction, response waits for a signed checkpoint and carries the receipt',
    );
    const dir = join(ctx.tmpRoot, 'tlog-upload');
    const pkgs = await makePackages(join(dir, 'pkgs'), 2 * perRun);
    const best = { with: { seq: 0, conc: 0 }, without: { seq: 0, conc: 0 } };
    for (let round = 1; round <= 2; round++) {
      const r = await runRound(join(dir, `round-${round}`), pkgs, perRun);
      ctx.log(`tlog-upload round ${round}: with log ${r.with.seq.toFixed(1)}/${r.with.conc.toFixed(1)}, without ${r.without.seq.toFixed(1)}/${r.without.conc.toFixed(1)} uploads/s (one at a time / ${CONCURRENCY} in flight)`);
      for (const v of ['with', 'without'] as const) {
        best[v].seq = Math.max(best[v].seq, r[v].seq);
        best[v].conc = Math.max(best[v].conc, r[v].conc);
      }
    }
    s.rows.push(
      makeRow('uploads/s, one at a time', 'uploads/s', best.with.seq, best.without.seq, null),
      makeRow(`uploads/s, ${CONCURRENCY} in flight`, 'uploads/s', best.with.conc, best.without.conc, null),
    );
    s.details = { best };
    return s;
  },
};

async function makePackages(dir: string, n: number): Promise<Pkg[]> {
  await mkdir(dir, { recursive: true });
  const out: Pkg[] = [];
  for (let i = 0; i < n; i++) {
    const p = await writeBigConda({ dir, sizeBytes: 20_000, name: `tlogbench${i}`, seed: `tlog-${i}` });
    out.push({ filename: p.filename, bytes: await readFile(p.path) });
  }
  return out;
}

interface Server {
  app: App;
  upload(p: Pkg): Promise<void>;
  close(): Promise<void>;
}

/**
 * Both variants at once, so they see the same machine load: one-at-a-time uploads alternate between
 * them (each timed alone), then the two ${CONCURRENCY}-in-flight pools run side by side.
 */
async function runRound(dir: string, pkgs: Pkg[], perRun: number) {
  const servers = { with: await openServer(join(dir, 'with'), true), without: await openServer(join(dir, 'without'), false) };
  try {
    const busy = { with: 0, without: 0 };
    for (const [i, p] of pkgs.slice(0, perRun).entries()) {
      for (const v of i % 2 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
        const t0 = performance.now();
        await servers[v].upload(p);
        busy[v] += performance.now() - t0;
      }
    }
    const pool = async (server: Server) => {
      const queue = pkgs.slice(perRun, 2 * perRun);
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let p = queue.shift(); p; p = queue.shift()) await server.upload(p);
        }),
      );
      return perRun / ((performance.now() - t0) / 1000);
    };
    const [withConc, withoutConc] = await Promise.all([pool(servers.with), pool(servers.without)]);
    return {
      with: { seq: perRun / (busy.with / 1000), conc: withConc },
      without: { seq: perRun / (busy.without / 1000), conc: withoutConc },
    };
  } finally {
    await servers.with.close();
    await servers.without.close();
  }
}

async function openServer(dir: string, withLog: boolean): Promise<Server> {
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const store = new KyselyStore(openSqlite(join(dir, 'provena.sqlite')));
  await store.migrate();
  const app: App = createApp({
    store,
    blobs: new FsBlobStore(join(dir, 'blobs')),
    spoolDir: join(dir, 'tmp'),
    adminToken: ADMIN,
    publicUrl: 'http://127.0.0.1:1',
    maxPackageBytes: 1e9,
    log: { key: generateSignerKey('bench.provena.test/log'), origin: 'bench.provena.test/log' },
    trustRoots: [],
  });
  const log = app.services.log;
  await log.start();
  if (!withLog) {
    // bench-only: the same server with the log's costs taken out
    Object.assign(log, { append: async () => -1, prepareReceipt: () => undefined, receipt: async () => null });
  }
  const created = await app.http.inject({ method: 'POST', url: '/api/v1/channels', headers: { authorization: `Bearer ${ADMIN}` }, payload: { name: 'bench' } });
  if (created.statusCode !== 201) throw new Error(`channel create: ${created.statusCode} ${created.body}`);
  return {
    app,
    async upload(p: Pkg) {
      const res = await app.http.inject({
        method: 'POST',
        url: '/api/v1/upload/bench',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/octet-stream', 'x-file-name': p.filename },
        payload: p.bytes,
      });
      if (res.statusCode !== 201) throw new Error(`upload ${p.filename}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      if (withLog && JSON.parse(res.body).receipt === null) throw new Error(`upload ${p.filename}: no receipt`);
    },
    async close() {
      await app.http.close();
      await log.stop();
      await store.close();
    },
  };
}
