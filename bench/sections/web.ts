/**
 * Issue 7: "a package page with 2,000 builds renders server-side in under the time of one repodata
 * request". One package with 2,000 builds (100 versions × 20 build numbers) in a channel of its own;
 * its package page vs the repodata.json that lists the same 2,000 records, each fetched whole (200, no
 * revalidation) over one keep-alive connection, alternating, after a warm-up. Both are what a person
 * and a conda client ask for about that package. Target: page requests/s ≥ 1.0× repodata requests/s,
 * i.e. the page's median time is at most the repodata's.
 */
import { mkdir } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { writeBigConda, type GeneratedPackage } from '../lib/big-package.ts';
import type { BenchContext } from '../lib/context.ts';
import type { ProvenaServer } from '../lib/provena-process.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';

const CHANNEL = 'webbench';
const NAME = 'provena-bench-web';
const VERSIONS = 100;
const BUILDS_PER_VERSION = 20;
const UPLOAD_CONCURRENCY = 8;
const TARGET = 1.0;

interface Timing {
  ms: number;
  bytes: number;
  /** the server's own render time (Server-Timing), for pages */
  renderMs: number | null;
}

export const webSection: Section = {
  id: 'web',
  title: 'Web UI: package page with 2,000 builds vs one repodata.json request',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const s = newSection(this.id, this.title, 'repodata.json');
    if (ctx.provenaMissing) {
      s.skipped = `Provena not runnable: ${ctx.provenaMissing}`;
      return s;
    }
    const quick = ctx.config.rounds < 2;
    const rounds = quick ? 40 : 300;
    const warmup = quick ? 10 : 50;
    const dir = join(ctx.tmpRoot, 'web');
    await mkdir(join(dir, 'pkgs'), { recursive: true });

    ctx.log(`web: writing ${VERSIONS * BUILDS_PER_VERSION} small packages`);
    const pkgs: GeneratedPackage[] = [];
    for (let v = 0; v < VERSIONS; v++) {
      for (let b = 0; b < BUILDS_PER_VERSION; b++) {
        pkgs.push(await writeBigConda({
          dir: join(dir, 'pkgs'),
          sizeBytes: 4096,
          name: NAME,
          // 1.9.x sorts below 1.10.x: conda's order, not the string's
          version: `1.${v}.${v % 3}`,
          build: `h${(v * BUILDS_PER_VERSION + b).toString(16).padStart(7, '0')}_${b}`,
          buildNumber: b,
          seed: `web-${v}-${b}`,
        }));
      }
    }

    const server = await ctx.startProvena(join(dir, 'provena'));
    await server.createChannel(CHANNEL);
    const key = await server.createUploadKey(CHANNEL);
    ctx.log(`web: uploading ${pkgs.length} packages (${UPLOAD_CONCURRENCY} at a time)`);
    const t0 = Date.now();
    await uploadAll(server, key, pkgs);
    const uploadSec = (Date.now() - t0) / 1000;

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const pageUrl = `${server.baseUrl}/channels/${CHANNEL}/packages/${NAME}`;
    const repodataUrl = `${server.baseUrl}/${CHANNEL}/noarch/repodata.json`;
    try {
      const cold = await get(agent, pageUrl);
      if (!cold.ok) throw new Error(`GET ${pageUrl}: ${cold.error}`);
      const rd = await get(agent, repodataUrl);
      if (!rd.ok) throw new Error(`GET ${repodataUrl}: ${rd.error}`);
      const records = Object.keys((JSON.parse(rd.body.toString()) as { 'packages.conda': object })['packages.conda']).length;
      if (records !== pkgs.length) s.warnings.push(`repodata.json lists ${records} records, expected ${pkgs.length}`);
      if (!cold.body.toString().includes(`${pkgs.length.toLocaleString('en-US')} files in ${VERSIONS} versions`)) {
        s.warnings.push('the package page does not say it holds all 2,000 files: is it the right page?');
      }

      for (let i = 0; i < warmup; i++) {
        await get(agent, pageUrl);
        await get(agent, repodataUrl);
      }
      const page: Timing[] = [];
      const repodata: Timing[] = [];
      for (let i = 0; i < rounds; i++) {
        // alternate which goes first, so neither always follows the other
        const order = i % 2 === 0 ? [pageUrl, repodataUrl] : [repodataUrl, pageUrl];
        for (const url of order) {
          const r = await get(agent, url);
          if (!r.ok) throw new Error(`GET ${url}: ${r.error}`);
          (url === pageUrl ? page : repodata).push(r.timing);
        }
      }
      // the same page's other pages (?page=N, 30 files each), cycled so the rendered body is never
      // reused (a group keeps 32): the render from the in-memory catalog, every time
      const filePages = Math.ceil(pkgs.length / 30);
      const pagedUrl = (i: number) => `${pageUrl}?page=${1 + (i % filePages)}`;
      for (let i = 0; i < filePages; i++) await get(agent, pagedUrl(i)); // facts of every file fetched once
      const rendered: Timing[] = [];
      const repodata2: Timing[] = [];
      for (let i = 0; i < rounds; i++) {
        const a = await get(agent, pagedUrl(i));
        const b = await get(agent, repodataUrl);
        if (!a.ok || !b.ok) throw new Error(`GET: ${!a.ok ? a.error : !b.ok ? b.error : ''}`);
        rendered.push(a.timing);
        repodata2.push(b.timing);
      }

      const med = (xs: number[]) => quantile(xs, 0.5);
      const pageMs = med(page.map((t) => t.ms));
      const repodataMs = med(repodata.map((t) => t.ms));
      const renders = page.map((t) => t.renderMs).filter((x): x is number => x !== null);

      s.setup.push(
        `package: ${NAME}, ${pkgs.length} builds (${VERSIONS} versions × ${BUILDS_PER_VERSION} build numbers), all noarch; uploaded in ${uploadSec.toFixed(1)} s`,
        `page: GET /channels/${CHANNEL}/packages/${NAME} (${cold.timing.bytes} bytes: the newest 30 of 100 versions, the newest 30 of 2,000 files with their provenance panels)`,
        `baseline: GET /${CHANNEL}/noarch/repodata.json (${rd.timing.bytes} bytes, ${records} records), full 200 responses`,
        `one keep-alive connection, ${warmup} warm-up pairs, then ${rounds} alternating pairs; median times`,
      );
      s.rows.push(
        makeRow('requests/s (1 / median time)', 'req/s', 1000 / pageMs, 1000 / repodataMs, { kind: 'min-ratio', value: TARGET }),
        makeRow('median time to last byte', 'ms', pageMs, repodataMs, null, false),
        makeRow('p90 time to last byte', 'ms', quantile(page.map((t) => t.ms), 0.9), quantile(repodata.map((t) => t.ms), 0.9), null, false),
        makeRow('server render time, median (Server-Timing)', 'ms', renders.length ? med(renders) : null, null, null, false),
        makeRow(`?page=1..${filePages} cycled, rendered every time: requests/s`, 'req/s', 1000 / med(rendered.map((t) => t.ms)), 1000 / med(repodata2.map((t) => t.ms)), { kind: 'min-ratio', value: TARGET }),
        makeRow('  … its server render time, median', 'ms', med(rendered.map((t) => t.renderMs ?? NaN)), null, null, false),
        makeRow('first page view after the uploads (cold catalog)', 'ms', cold.timing.ms, null, null, false),
      );
      s.details = { renderedEveryTimeMs: rendered.map((t) => t.ms), pageBytes: cold.timing.bytes, repodataBytes: rd.timing.bytes, pageMs: page.map((t) => t.ms), repodataMs: repodata.map((t) => t.ms), renderMs: renders, uploadSec };
    } finally {
      agent.destroy();
    }
    return s;
  },
};

async function uploadAll(server: ProvenaServer, key: string, pkgs: GeneratedPackage[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < pkgs.length) {
      const pkg = pkgs[next++]!;
      const r = await server.uploadFile(CHANNEL, pkg, key);
      if (r.status !== 201) throw new Error(`upload ${pkg.filename}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: UPLOAD_CONCURRENCY }, worker));
}

type Got = { ok: true; timing: Timing; body: Buffer } | { ok: false; error: string };

function get(agent: Agent, url: string): Promise<Got> {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = request(url, { agent, timeout: 30_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        const body = Buffer.concat(parts);
        if (res.statusCode !== 200) return resolve({ ok: false, error: `HTTP ${res.statusCode} ${body.toString().slice(0, 200)}` });
        const st = /render;dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''));
        resolve({ ok: true, body, timing: { ms, bytes: body.length, renderMs: st ? Number(st[1]) : null } });
      });
      res.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ ok: false, error: e.message }));
    req.end();
  });
}

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
