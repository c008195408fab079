/**
 * Issue 2, target 1: serving one package file. Provena vs nginx serving the SAME bytes from a
 * temp dir, same URL shape, same wrk load. Target: Provena ≥ 0.7× nginx.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBigConda, type GeneratedPackage } from '../lib/big-package.ts';
import { bestOfWrk, wrkSummary, type WrkSide } from '../lib/compare.ts';
import type { BenchContext } from '../lib/context.ts';
import { NGINX_WORKERS, startNginx } from '../lib/nginx.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';
import { MB, header, httpRequest } from '../lib/util.ts';

const TARGET = 0.7;

export const downloadSection: Section = {
  id: 'download',
  title: 'Package download',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const c = ctx.config;
    const s = newSection(this.id, this.title, 'nginx');
    if (!ctx.wrk) {
      s.skipped = 'wrk is not installed (apt-get install wrk); nothing to measure with';
      return s;
    }
    const dir = join(ctx.tmpRoot, 'download');
    await mkdir(dir, { recursive: true });
    const pkg = await writeBigConda({ dir, sizeBytes: c.downloadSizeBytes, name: 'provena-bench-dl', seed: 'download' });
    s.setup.push(
      `file: ${pkg.filename}, ${(pkg.size / MB).toFixed(1)} MB, GET /bench/noarch/<file> on both servers`,
      `load: wrk -t${c.wrkThreads} -c${c.wrkConnections} -d${c.wrkDurationSec}s, best of ${c.rounds} alternating rounds after ${c.warmupSec}s warm-up`,
      `nginx: worker_processes ${NGINX_WORKERS} (Provena is one Node process), sendfile on, access_log off`,
    );

    const sides: WrkSide[] = [];
    if (ctx.provenaMissing) {
      s.warnings.push(`Provena not measured: ${ctx.provenaMissing}`);
    } else {
      try {
        const p = await ctx.sharedProvena();
        const up = await p.server.uploadFile(p.channel, pkg, p.uploadKey);
        if (up.status !== 201) throw new Error(`upload answered HTTP ${up.status}: ${up.body.slice(0, 300)}`);
        const url = `${p.server.baseUrl}/${p.channel}/${pkg.subdir}/${pkg.filename}`;
        await checkServesFile(url, pkg);
        sides.push({ label: 'provena', url });
      } catch (e) {
        s.warnings.push(`Provena not measured: ${(e as Error).message}`);
      }
    }
    if (!ctx.nginx) {
      s.warnings.push('nginx baseline skipped: nginx is not installed (apt-get install nginx-light)');
    } else {
      try {
        const root = join(dir, 'nginx-root');
        await mkdir(join(root, 'bench', pkg.subdir), { recursive: true });
        await copyFile(pkg.path, join(root, 'bench', pkg.subdir, pkg.filename));
        const nginx = await startNginx(ctx.nginx, join(dir, 'nginx'), root);
        ctx.onCleanup(() => nginx.stop());
        const url = `${nginx.baseUrl}/bench/${pkg.subdir}/${pkg.filename}`;
        await checkServesFile(url, pkg);
        sides.push({ label: 'nginx', url });
      } catch (e) {
        s.warnings.push(`nginx baseline skipped: ${(e as Error).message}`);
      }
    }
    if (sides.length === 0) {
      s.skipped = 'neither Provena nor nginx could serve the file';
      return s;
    }

    const res = await bestOfWrk(ctx, sides);
    const p = res.get('provena')?.best ?? null;
    const n = res.get('nginx')?.best ?? null;
    for (const o of res.values()) s.warnings.push(...o.problems);
    for (const [label, r] of [['provena', p], ['nginx', n]] as const) {
      // Every response must carry the whole file, else req/s means nothing.
      if (r && r.requests > 0 && r.bytesRead / r.requests < pkg.size) {
        s.warnings.push(`${label}: ${(r.bytesRead / r.requests).toFixed(0)} bytes per response < file size ${pkg.size}`);
      }
    }
    s.rows.push(
      makeRow('requests/s', 'req/s', p?.requestsPerSec ?? null, n?.requestsPerSec ?? null, { kind: 'min-ratio', value: TARGET }),
      makeRow('throughput', 'MB/s', p ? p.bytesPerSec / MB : null, n ? n.bytesPerSec / MB : null, { kind: 'min-ratio', value: TARGET }),
      makeRow('latency p99', 'ms', p?.latencyP99Ms ?? null, n?.latencyP99Ms ?? null, null, false),
    );
    s.details = {
      file: { filename: pkg.filename, size: pkg.size, sha256: pkg.sha256 },
      provena: { best: wrkSummary(p), rounds: res.get('provena')?.rounds.map(wrkSummary) ?? [] },
      nginx: { best: wrkSummary(n), rounds: res.get('nginx')?.rounds.map(wrkSummary) ?? [] },
    };
    return s;
  },
};

/** One full GET before the load: right status, right bytes, an ETag. */
async function checkServesFile(url: string, pkg: GeneratedPackage): Promise<void> {
  const r = await httpRequest(url, { timeoutMs: 30_000 });
  if (r.status !== 200) throw new Error(`GET ${url} answered HTTP ${r.status}`);
  const sha = createHash('sha256').update(r.body).digest('hex');
  if (sha !== pkg.sha256) throw new Error(`GET ${url} returned different bytes (sha256 ${sha}, expected ${pkg.sha256})`);
  if (!header(r, 'etag')) throw new Error(`GET ${url} has no ETag`);
}
