/**
 * `npm run bench` — Provena's speed figures next to same-run baselines.
 *
 *   npm run bench                     all sections, full settings (~2 min)
 *   npm run bench -- --only=download  some sections (comma-separated ids)
 *   npm run bench -- --quick          short runs, to check the harness itself
 *   BENCH_PROVENA_BIN=path npm run bench   benchmark another build of the server
 *
 * Tables go to stdout, progress to stderr, everything to bench/results/latest.json.
 * Targets are reported, not asserted: exit 0 even when one is missed; exit 1 only when a
 * section failed to measure at all for an unexpected reason. Missing nginx/wrk = skipped, said.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { BenchContext, DEFAULT_CONFIG, QUICK_CONFIG } from './lib/context.ts';
import { nginxVersion } from './lib/nginx.ts';
import { PROJECT_ROOT, PROVENA_BIN } from './lib/provena-process.ts';
import { newSection, renderSection, type SectionResult } from './lib/report.ts';
import type { Section } from './lib/section.ts';
import { conditionalSection } from './sections/conditional.ts';
import { downloadSection } from './sections/download.ts';
import { ingestSection } from './sections/ingest.ts';
import { webSection } from './sections/web.ts';
import { tlogSection } from './sections/tlog.ts';
import { tlogUploadSection } from './sections/tlog-upload.ts';
import { attestSection } from './sections/attest.ts';
import { verifyEnvSection } from './sections/verify-env.ts';
import { repodataScaleSection } from './sections/repodata-scale.ts';
import { tufSection } from './sections/tuf.ts';
import { rateLimitSection } from './sections/rate-limit.ts';
import { replicasSection } from './sections/replicas.ts';
import { importSection } from './sections/import.ts';

/** In print order. Later issues append their sections here. */
const SECTIONS: Section[] = [downloadSection, conditionalSection, ingestSection, tlogSection, tlogUploadSection, attestSection, verifyEnvSection, webSection, rateLimitSection, tufSection, repodataScaleSection, replicasSection, importSection];

/** The whole bench stops by itself after this, whatever happens. */
const HARD_LIMIT_MS = 10 * 60_000;

const RESULTS_DIR = join(PROJECT_ROOT, 'bench', 'results');

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const unknown = only?.filter((id) => !SECTIONS.some((s) => s.id === id)) ?? [];
  if (unknown.length > 0) {
    process.stderr.write(`unknown section(s): ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.id).join(', ')}\n`);
    return 2;
  }
  const sections = SECTIONS.filter((s) => !only || only.includes(s.id));
  const ctx = await BenchContext.create(quick ? QUICK_CONFIG : DEFAULT_CONFIG);

  let stopping = false;
  const abort = async (why: string, code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      ctx.log(`${why}: stopping servers and removing temp files`);
      await ctx.cleanup();
    }
    process.exit(code);
  };
  setTimeout(() => void abort(`hard time limit of ${HARD_LIMIT_MS / 60_000} min reached`, 3), HARD_LIMIT_MS).unref();
  process.once('SIGINT', () => void abort('interrupted', 130));
  process.once('SIGTERM', () => void abort('terminated', 143));

  const env = environment(ctx);
  console.log('Provena benchmark' + (quick ? ' (--quick: harness check only, figures not meaningful)' : ''));
  for (const [k, v] of Object.entries(env)) console.log(`   ${k}: ${v}`);
  console.log('   units: MB = 10^6 bytes; ratio = Provena ÷ baseline (higher is better, except RSS which has an absolute cap)');

  const results: SectionResult[] = [];
  let failed = false;
  const started = Date.now();
  try {
    for (const [i, section] of sections.entries()) {
      ctx.log(`section ${section.id} …`);
      let r: SectionResult;
      try {
        r = await section.run(ctx);
      } catch (e) {
        failed = true;
        r = newSection(section.id, section.title, 'baseline');
        r.skipped = `failed: ${(e as Error).stack ?? String(e)}`;
      }
      results.push(r);
      console.log(renderSection(r, i + 1));
    }
  } finally {
    await ctx.cleanup();
  }

  const file = join(RESULTS_DIR, 'latest.json');
  await mkdir(RESULTS_DIR, { recursive: true });
  const json = {
    finishedAt: new Date().toISOString(),
    durationSec: (Date.now() - started) / 1000,
    quick,
    environment: env,
    config: ctx.config,
    sections: results,
  };
  await writeFile(file, JSON.stringify(json, null, 2) + '\n');
  console.log(`\nresults: ${file} (${json.durationSec.toFixed(0)} s)`);
  return failed ? 1 : 0;
}

function environment(ctx: BenchContext): Record<string, string> {
  const wrkVersion = (): string => {
    try {
      // `wrk -v` prints the version then usage, and exits non-zero
      execFileSync(ctx.wrk!, ['-v'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
      return 'unknown';
    } catch (e) {
      return String((e as { stdout?: string }).stdout ?? '').split('\n')[0].trim() || 'unknown';
    }
  };
  return {
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    'load average at start': loadavg().map((l) => l.toFixed(2)).join(' '),
    node: process.version,
    nginx: ctx.nginx ? nginxVersion(ctx.nginx) : 'NOT INSTALLED: nginx comparisons skipped (apt-get install nginx-light)',
    wrk: ctx.wrk ? wrkVersion() : 'NOT INSTALLED: wrk-based sections skipped (apt-get install wrk)',
    provena: ctx.provenaMissing ? `NOT RUNNABLE: ${ctx.provenaMissing}` : PROVENA_BIN,
  };
}

process.exitCode = await main();
