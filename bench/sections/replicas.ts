/**
 * Issue 8: upload throughput with one replica vs two. Real `provena serve` processes on the machine's
 * PostgreSQL (a fresh schema per variant, dropped after) and one blob directory shared by the replicas
 * of a variant; the same small packages and the same number of uploaders in both variants, spread
 * round-robin over the variant's replicas. Baseline = one replica; ratio = two ÷ one. Reported, no
 * target: on a 2-core machine two replicas mostly share the same cores, PostgreSQL and disk.
 *
 * A shared directory rather than s3rver: s3rver is a single Node process test double that would itself
 * be the bottleneck of both variants, so the ratio would measure it, not the replicas.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { formatSignerKey, generateSignerKey } from '../../src/core/tlog/note-keys.ts';
import { writeBigConda, type GeneratedPackage } from '../lib/big-package.ts';
import type { BenchContext } from '../lib/context.ts';
import { startProvena, type ProvenaServer } from '../lib/provena-process.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';

const PG_URL = process.env.BENCH_PG_URL ?? process.env.PROVENA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const UPLOADERS = 16;
/** one variant's burst stops being waited for after this (bounded in time) */
const BURST_LIMIT_MS = 120_000;

export const replicasSection: Section = {
  id: 'replicas',
  title: 'Replicas: upload throughput with 1 vs 2 replicas on one PostgreSQL',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const quick = ctx.config.rounds === 1;
    const perRun = quick ? 40 : 150;
    const rounds = quick ? 1 : 2;
    const s = newSection(this.id, this.title, '1 replica');
    const reason = await postgresUnavailable();
    if (reason) {
      s.skipped = `PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, '//')} is not reachable (${reason}); set BENCH_PG_URL`;
      return s;
    }
    s.setup.push(
      `${perRun} small .conda packages (~20 kB), ${UPLOADERS} uploaders, spread round-robin over the variant's replicas; best of ${rounds} round(s), variants alternate`,
      'each variant: `provena serve` processes on a fresh PostgreSQL schema + one shared blob directory (fsynced), same log key and TUF key dir',
      'shared blob directory, not s3rver: s3rver is one Node process and would be the bottleneck of both variants',
      `a ${cpuNote()} machine: the replicas share its cores with PostgreSQL and the load generator, so little gain is expected`,
    );
    const pkgs = await makePackages(join(ctx.tmpRoot, 'replicas', 'pkgs'), perRun);
    const best = { one: 0, two: 0 };
    const runs: { round: number; replicas: number; uploadsPerSec: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const n of round % 2 ? [1, 2] : [2, 1]) {
        const rate = await runVariant(ctx, join(ctx.tmpRoot, 'replicas', `r${round}-${n}`), n, pkgs);
        ctx.log(`replicas round ${round}: ${n} replica(s) ${rate.toFixed(1)} uploads/s`);
        runs.push({ round, replicas: n, uploadsPerSec: rate });
        if (n === 1) best.one = Math.max(best.one, rate);
        else best.two = Math.max(best.two, rate);
      }
    }
    s.rows.push(makeRow(`uploads/s, ${UPLOADERS} uploaders, 2 replicas vs 1`, 'uploads/s', best.two, best.one, null));
    s.details = { runs, best };
    return s;
  },
};

async function runVariant(ctx: BenchContext, dir: string, replicas: number, pkgs: GeneratedPackage[]): Promise<number> {
  const schema = `bench_${randomBytes(5).toString('hex')}`;
  await query(`CREATE SCHEMA ${schema}`);
  const servers: ProvenaServer[] = [];
  try {
    const env = {
      PROVENA_DATABASE: PG_URL,
      PROVENA_DATABASE_SCHEMA: schema,
      PROVENA_DATABASE_POOL_SIZE: '6',
      PROVENA_BLOBS_DIR: join(dir, 'blobs'),
      PROVENA_TUF_KEY_DIR: join(dir, 'tuf-keys'),
      PROVENA_LOG_KEY: formatSignerKey(generateSignerKey('bench.provena.test/log')),
      PROVENA_LOG_BATCH_MS: '50',
    };
    // one at a time: the first migrates the schema, the others find it done
    for (let i = 0; i < replicas; i++) servers.push(await startProvena(join(dir, `replica-${i}`), env));
    await servers[0]!.createChannel('bench');
    const key = await servers[0]!.createUploadKey('bench');
    const queue = pkgs.map((p, i) => ({ p, server: servers[i % replicas]! }));
    const deadline = Date.now() + BURST_LIMIT_MS;
    const t0 = performance.now();
    let done = 0;
    await Promise.all(
      Array.from({ length: UPLOADERS }, async () => {
        for (let job = queue.shift(); job && Date.now() < deadline; job = queue.shift()) {
          const r = await job.server.uploadFile('bench', job.p, key);
          if (r.status !== 201) throw new Error(`upload ${job.p.filename} to ${job.server.baseUrl}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
          done++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    if (done < pkgs.length) ctx.log(`replicas: ${replicas} replica(s) stopped at the time limit after ${done} of ${pkgs.length} uploads`);
    return done / seconds;
  } finally {
    for (const server of servers) await server.stop();
    await query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  }
}

async function makePackages(dir: string, n: number): Promise<GeneratedPackage[]> {
  await mkdir(dir, { recursive: true });
  const out: GeneratedPackage[] = [];
  for (let i = 0; i < n; i++) out.push(await writeBigConda({ dir, sizeBytes: 20_000, name: `replicabench${i % 20}`, version: `1.${i}`, seed: `replicas-${i}` }));
  return out;
}

async function query(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function postgresUnavailable(): Promise<string | null> {
  try {
    await query('SELECT 1');
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function cpuNote(): string {
  return `${cpus().length}-core`;
}
