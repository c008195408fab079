/**
 * Issue 2, target 2: conda clients re-check repodata.json with If-None-Match all the time, so
 * the 304 path must be cheap. Provena vs nginx serving a byte-identical copy of Provena's
 * repodata.json; each side is sent its own ETag. Target: Provena ≥ 0.5× nginx.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBigConda, type GeneratedPackage } from '../lib/big-package.ts';
import { bestOfWrk, wrkSummary, type WrkSide } from '../lib/compare.ts';
import type { BenchContext, SharedProvena } from '../lib/context.ts';
import { NGINX_WORKERS, startNginx } from '../lib/nginx.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';
import { header, httpRequest } from '../lib/util.ts';

const TARGET = 0.5;
/** small packages put in the channel first, so repodata.json is not trivially empty */
const PACKAGES = 40;
/** a 304 carries headers only; more than this per response means bodies are being sent */
const MAX_304_BYTES = 1024;

export const conditionalSection: Section = {
  id: 'conditional',
  title: 'Conditional GET of repodata.json (If-None-Match → 304)',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const c = ctx.config;
    const s = newSection(this.id, this.title, 'nginx');
    if (!ctx.wrk) {
      s.skipped = 'wrk is not installed (apt-get install wrk); nothing to measure with';
      return s;
    }
    const dir = join(ctx.tmpRoot, 'conditional');
    await mkdir(join(dir, 'pkgs'), { recursive: true });
    const pkgs: GeneratedPackage[] = [];
    for (let i = 0; i < PACKAGES; i++) {
      pkgs.push(await writeBigConda({ dir: join(dir, 'pkgs'), sizeBytes: 16_384, name: 'provena-bench-small', version: `1.0.${i}`, seed: `small-${i}` }));
    }

    const sides: WrkSide[] = [];
    let repodata: Buffer | null = null;
    if (ctx.provenaMissing) {
      s.warnings.push(`Provena not measured: ${ctx.provenaMissing}`);
    } else {
      try {
        const p = await ctx.sharedProvena();
        await uploadAll(p, pkgs);
        const url = `${p.server.baseUrl}/${p.channel}/noarch/repodata.json`;
        const r = await httpRequest(url);
        if (r.status !== 200) throw new Error(`GET ${url} answered HTTP ${r.status}`);
        const etag = header(r, 'etag');
        if (!etag) throw new Error(`GET ${url} has no ETag`);
        await check304(url, etag);
        repodata = r.body;
        sides.push({ label: 'provena', url, headers: { 'If-None-Match': etag } });
      } catch (e) {
        s.warnings.push(`Provena not measured: ${(e as Error).message}`);
      }
    }
    if (!repodata) {
      // No Provena to copy from: give nginx a stand-in of the same shape so its side still runs.
      repodata = standInRepodata(pkgs);
      s.warnings.push('nginx serves a stand-in repodata.json built by the bench, not a copy of Provena\'s');
    }
    s.setup.push(
      `repodata.json: ${repodata.length} bytes (${PACKAGES} small packages + the download-section file if uploaded)`,
      `load: wrk -t${c.wrkThreads} -c${c.wrkConnections} -d${c.wrkDurationSec}s -H 'If-None-Match: <etag>', best of ${c.rounds} alternating rounds after ${c.warmupSec}s warm-up`,
      `nginx: worker_processes ${NGINX_WORKERS}, its own ETag for the identical file`,
    );

    if (!ctx.nginx) {
      s.warnings.push('nginx baseline skipped: nginx is not installed (apt-get install nginx-light)');
    } else {
      try {
        const root = join(dir, 'nginx-root');
        await mkdir(join(root, 'bench', 'noarch'), { recursive: true });
        await writeFile(join(root, 'bench', 'noarch', 'repodata.json'), repodata);
        const nginx = await startNginx(ctx.nginx, join(dir, 'nginx'), root);
        ctx.onCleanup(() => nginx.stop());
        const url = `${nginx.baseUrl}/bench/noarch/repodata.json`;
        const etag = header(await httpRequest(url, { method: 'HEAD' }), 'etag');
        if (!etag) throw new Error(`nginx gave no ETag for ${url}`);
        await check304(url, etag);
        sides.push({ label: 'nginx', url, headers: { 'If-None-Match': etag } });
      } catch (e) {
        s.warnings.push(`nginx baseline skipped: ${(e as Error).message}`);
      }
    }
    if (sides.length === 0) {
      s.skipped = 'neither Provena nor nginx could be measured';
      return s;
    }

    const res = await bestOfWrk(ctx, sides);
    const p = res.get('provena')?.best ?? null;
    const n = res.get('nginx')?.best ?? null;
    for (const o of res.values()) s.warnings.push(...o.problems);
    for (const [label, r] of [['provena', p], ['nginx', n]] as const) {
      if (r && r.requests > 0 && r.bytesRead / r.requests > MAX_304_BYTES) {
        s.warnings.push(`${label}: ${(r.bytesRead / r.requests).toFixed(0)} bytes per response: bodies sent, not 304s?`);
      }
    }
    s.rows.push(
      makeRow('304 responses/s', 'req/s', p?.requestsPerSec ?? null, n?.requestsPerSec ?? null, { kind: 'min-ratio', value: TARGET }),
      makeRow('latency p99', 'ms', p?.latencyP99Ms ?? null, n?.latencyP99Ms ?? null, null, false),
    );
    s.details = {
      repodataBytes: repodata.length,
      provena: { best: wrkSummary(p), rounds: res.get('provena')?.rounds.map(wrkSummary) ?? [] },
      nginx: { best: wrkSummary(n), rounds: res.get('nginx')?.rounds.map(wrkSummary) ?? [] },
    };
    return s;
  },
};

async function uploadAll(p: SharedProvena, pkgs: GeneratedPackage[]): Promise<void> {
  for (const pkg of pkgs) {
    const r = await p.server.uploadFile(p.channel, pkg, p.uploadKey);
    // 409: already there (a re-run against the same server); fine for this purpose.
    if (r.status !== 201 && r.status !== 409) throw new Error(`upload ${pkg.filename}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  }
}

async function check304(url: string, etag: string): Promise<void> {
  const r = await httpRequest(url, { headers: { 'If-None-Match': etag } });
  if (r.status !== 304) throw new Error(`GET ${url} with If-None-Match ${etag} answered HTTP ${r.status}, not 304`);
}

function standInRepodata(pkgs: GeneratedPackage[]): Buffer {
  const records: Record<string, unknown> = {};
  for (const p of pkgs) {
    const [name, version, build] = p.filename.replace(/\.conda$/, '').split(/-(?=[^-]+-[^-]+$)|-(?=[^-]+$)/);
    records[p.filename] = { build, build_number: 0, depends: [], license: 'Apache-2.0', md5: '0'.repeat(32), name, noarch: 'generic', sha256: p.sha256, size: p.size, subdir: 'noarch', timestamp: 1704067200000, version };
  }
  return Buffer.from(JSON.stringify({ info: { subdir: 'noarch' }, packages: {}, 'packages.conda': records, removed: [], repodata_version: 1 }));
}
