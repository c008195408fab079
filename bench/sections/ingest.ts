/**
 * Issue 2, target 3: ingesting a 500 MB package. The client streams the file from disk over
 * loopback (legacy raw body). Baseline: the least any ingester must do with those bytes, i.e.
 * hash them (`sha256sum FILE`) and store them (`cp FILE DEST`), run one after the other.
 * Targets: Provena ≥ 0.5× baseline MB/s, and the server's peak RSS during upload ≤ 150 MB.
 *
 * Runs on a fresh Provena of its own, so the RSS figure is the upload's, not leftovers from the
 * wrk load of the read-side sections.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBigConda } from '../lib/big-package.ts';
import type { BenchContext } from '../lib/context.ts';
import { RssSampler, type RssReport } from '../lib/rss-sampler.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';
import { MB, httpRequest } from '../lib/util.ts';

const TARGET_RATIO = 0.5;
const TARGET_RSS_MB = 150;
const CHANNEL = 'bench';

export const ingestSection: Section = {
  id: 'ingest',
  title: 'Upload ingest of a large package',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const c = ctx.config;
    const s = newSection(this.id, this.title, 'sha256sum+cp');
    const dir = join(ctx.tmpRoot, 'ingest');
    await mkdir(join(dir, 'pkgs'), { recursive: true });
    s.setup.push(
      `file: ~${(c.ingestSizeBytes / MB).toFixed(0)} MB .conda (incompressible payload, info member last), a new one per round`,
      `Provena: POST /api/v1/upload/bench, raw body streamed from disk by node:http, upload key; time = first byte sent → response`,
      `baseline: \`sha256sum FILE\` then \`cp FILE DEST\` as child processes, total wall time; same file, warm page cache for both`,
      `RSS: server's VmRSS from /proc every 50 ms during the upload (fresh server); best of ${c.ingestRounds} rounds for speed, worst for RSS`,
    );

    let server: Awaited<ReturnType<BenchContext['startProvena']>> | null = null;
    let token = '';
    if (ctx.provenaMissing) {
      s.warnings.push(`Provena not measured: ${ctx.provenaMissing}`);
    } else {
      try {
        server = await ctx.startProvena(join(dir, 'provena'));
        await server.createChannel(CHANNEL);
        token = await server.createUploadKey(CHANNEL);
      } catch (e) {
        s.warnings.push(`Provena not measured: ${(e as Error).message}`);
        server = null;
      }
    }

    const rounds: Array<Record<string, unknown>> = [];
    let bestProvena: number | null = null;
    let bestBaseline: number | null = null;
    let worstRss: RssReport | null = null;
    for (let round = 1; round <= c.ingestRounds; round++) {
      const pkg = await writeBigConda({
        dir: join(dir, 'pkgs'),
        sizeBytes: c.ingestSizeBytes,
        version: '1.0.0',
        build: `r${round}_0`,
        buildNumber: round,
        seed: `ingest-${round}-${Date.now()}`,
      });
      ctx.log(`ingest round ${round}: ${pkg.filename} ${(pkg.size / MB).toFixed(1)} MB generated`);
      const row: Record<string, unknown> = { round, filename: pkg.filename, size: pkg.size };
      // Alternate who goes first so neither side always gets the hotter cache.
      const order = round % 2 === 1 ? ['baseline', 'provena'] : ['provena', 'baseline'];
      for (const side of order) {
        if (side === 'baseline') {
          const b = await baselineSeconds(pkg.path, join(dir, `copy-${pkg.filename}`));
          const mbps = pkg.size / MB / b.seconds;
          row.baseline = { ...b, mbps };
          bestBaseline = Math.max(bestBaseline ?? 0, mbps);
          ctx.log(`ingest round ${round}: baseline ${mbps.toFixed(0)} MB/s (sha256sum ${b.sha256sum.toFixed(2)} s + cp ${b.cp.toFixed(2)} s)`);
        } else if (server) {
          const sampler = new RssSampler(server.pid, 50);
          sampler.begin();
          let up;
          try {
            up = await server.uploadFile(CHANNEL, pkg, token);
          } catch (e) {
            s.warnings.push(`round ${round}: upload failed: ${(e as Error).message}`);
            continue;
          } finally {
            row.rss = sampler.end();
          }
          const rss = row.rss as RssReport;
          if (!worstRss || rss.peakRssBytes > worstRss.peakRssBytes) worstRss = rss;
          if (up.status !== 201) {
            s.warnings.push(`round ${round}: upload answered HTTP ${up.status}: ${up.body.slice(0, 300)}`);
            row.provena = { status: up.status, seconds: up.seconds };
            continue;
          }
          const mbps = pkg.size / MB / up.seconds;
          row.provena = { status: up.status, seconds: up.seconds, mbps };
          bestProvena = Math.max(bestProvena ?? 0, mbps);
          ctx.log(`ingest round ${round}: provena ${mbps.toFixed(0)} MB/s (${up.seconds.toFixed(2)} s), peak RSS ${(rss.peakRssBytes / MB).toFixed(0)} MB`);
          const listed = await httpRequest(`${server.baseUrl}/${CHANNEL}/noarch/repodata.json`);
          if (!listed.body.toString().includes(pkg.filename)) s.warnings.push(`round ${round}: ${pkg.filename} not in repodata.json after a 201`);
        }
      }
      rounds.push(row);
      await rm(pkg.path, { force: true }); // 500 MB each: do not let rounds pile up on disk
    }
    if (server) {
      await server.stop();
      await rm(join(dir, 'provena'), { recursive: true, force: true });
    }

    const rssMb = worstRss ? worstRss.peakRssBytes / MB : null;
    s.rows.push(
      makeRow('ingest speed', 'MB/s', bestProvena, bestBaseline, { kind: 'min-ratio', value: TARGET_RATIO }),
      makeRow('server peak RSS during upload', 'MB', rssMb, null, { kind: 'max', value: TARGET_RSS_MB }),
    );
    if (worstRss) {
      s.rows.push(
        makeRow('server RSS before upload', 'MB', worstRss.startRssBytes / MB, null, null),
        // tells the upload's own cost apart from the idle footprint
        makeRow('server RSS growth during upload', 'MB', (worstRss.peakRssBytes - worstRss.startRssBytes) / MB, null, null),
        makeRow('server VmHWM (whole life)', 'MB', worstRss.hwmBytes / MB, null, null),
      );
      if (worstRss.processes.length > 1) {
        // e.g. tsx's esbuild helper: reported, but the figure above is the largest process alone
        const list = worstRss.processes.map((p) => `${p.name}[${p.pid}] ${(p.peakRssBytes / MB).toFixed(0)} MB`).join(', ');
        s.warnings.push(`server is several processes (${list}); summed peak ${(worstRss.peakTreeRssBytes / MB).toFixed(0)} MB`);
      }
    }
    s.details = { rounds };
    return s;
  },
};

/** `sha256sum FILE` then `cp FILE DEST`: wall seconds, total and per part. DEST is removed afterwards. */
async function baselineSeconds(file: string, dest: string): Promise<{ seconds: number; sha256sum: number; cp: number }> {
  const t0 = process.hrtime.bigint();
  await run('sha256sum', [file]);
  const t1 = process.hrtime.bigint();
  await run('cp', [file, dest]);
  const t2 = process.hrtime.bigint();
  await rm(dest, { force: true });
  return { seconds: Number(t2 - t0) / 1e9, sha256sum: Number(t1 - t0) / 1e9, cp: Number(t2 - t1) / 1e9 };
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 120_000, killSignal: 'SIGKILL' }, (err) => (err ? reject(err) : resolve()));
  });
}
