/**
 * Issue 9: rate limiting under a flood. One real server over loopback (rate limits at their defaults,
 * trust_proxy = loopback so each client names its own address in X-Forwarded-For). A normal client
 * uploads small packages at a steady pace, well under its limit: first alone (the baseline), then
 * while flood clients hammer the upload and Trusted Publishing token routes as fast as they can.
 * Reported: the normal client's success rate and median latency under flood ÷ alone, and how much of
 * the flood was refused with 429. Bounded in time: two phases of a fixed length.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBigConda } from '../lib/big-package.ts';
import type { BenchContext } from '../lib/context.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';
import { httpRequest, sleep } from '../lib/util.ts';
import { createHash } from 'node:crypto';

const UPLOADS_PER_MINUTE = 120; // the default rate_limit_upload_per_minute
const AUTH_PER_MINUTE = 30; // the default rate_limit_auth_per_minute
const FLOOD_WORKERS = 16;
/**
 * The flood's offered load: 100 requests a second, 50 times the upload limit. Offered at a fixed rate
 * rather than as fast as the bench can send, because the flooding client runs on the same two cores:
 * unthrottled, it measures CPU starvation of the whole machine, not what the limits protect.
 */
const FLOOD_PER_SECOND = 100;

interface Pkg {
  filename: string;
  bytes: Buffer;
  sha256: string;
}

interface Phase {
  normal: { sent: number; ok: number; latenciesMs: number[] };
  flood: { sent: number; limited: number; seconds: number };
}

export const rateLimitSection: Section = {
  id: 'rate-limit',
  title: 'Rate limits: a normal client during an upload/auth flood',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const quick = ctx.config.rounds === 1 && ctx.config.wrkDurationSec <= 2;
    const phaseSec = quick ? 4 : 8;
    // alone and flooded phases alternate, so both see the same (shared, noisy) machine
    const rounds = quick ? 1 : 3;
    const paceMs = 750; // the normal client: one upload every 0.75 s, 80 a minute, under the limit of 120
    const s = newSection(this.id, this.title, 'no flood');
    s.setup.push(
      `one server, rate_limit_upload_per_minute = ${UPLOADS_PER_MINUTE} (default), auth 30 (default), trust_proxy = loopback`,
      `normal client: one ~20 kB upload every ${paceMs} ms with its own key and address; ${rounds} × (${phaseSec} s alone, then ${phaseSec} s during the flood)`,
      `flood: ${FLOOD_PER_SECOND} requests/s offered by ${FLOOD_WORKERS} loops from one address with one key, alternating uploads and POST /api/oidc/mint_token`,
      'ratios: success rate flood ÷ alone; speed = median latency alone ÷ under flood (1.0 = unaffected)',
      'the flood\'s allowed share (its key\'s first 120 uploads and its address\'s first 30 token attempts each minute) is real work the server does; the rest is refused before the body is read',
    );
    const dir = join(ctx.tmpRoot, 'rate-limit');
    const server = await ctx.startProvena(dir, {
      PROVENA_TRUST_PROXY: 'loopback',
      PROVENA_RATE_LIMIT_UPLOAD_PER_MINUTE: String(UPLOADS_PER_MINUTE),
      PROVENA_RATE_LIMIT_AUTH_PER_MINUTE: String(AUTH_PER_MINUTE),
    });
    await server.createChannel('rl');
    const normalKey = await server.createUploadKey('rl');
    const floodKey = await server.createUploadKey('rl');
    const count = rounds * (Math.ceil((2 * phaseSec * 1000) / paceMs) + 2);
    await mkdir(join(dir, 'pkgs'), { recursive: true });
    const pkgs: Pkg[] = [];
    for (let i = 0; i < count + 1; i++) {
      const p = await writeBigConda({ dir: join(dir, 'pkgs'), sizeBytes: 20_000, name: `rlbench${i}`, seed: `rl-${i}` });
      const bytes = await readFile(p.path);
      pkgs.push({ filename: p.filename, bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
    const floodPkg = pkgs.pop()!;
    const upload = async (p: Pkg, key: string, ip: string) =>
      (
        await httpRequest(`${server.baseUrl}/api/v1/upload/rl`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/octet-stream',
            'x-file-name': p.filename,
            'x-file-sha256': p.sha256,
            'x-forwarded-for': ip,
          },
          body: p.bytes,
          timeoutMs: 60_000,
        })
      ).status;

    const phase = async (flood: boolean): Promise<Phase> => {
      const r = emptyPhase();
      const end = performance.now() + phaseSec * 1000;
      const floodStart = performance.now();
      const floods = flood
        ? Array.from({ length: FLOOD_WORKERS }, async (_, w) => {
            for (let i = 0; performance.now() < end; i++) {
              const due = floodStart + ((i * FLOOD_WORKERS + w) * 1000) / FLOOD_PER_SECOND;
              await sleep(Math.max(0, due - performance.now()));
              if (performance.now() >= end) break;
              const status =
                (w + i) % 2 === 0
                  ? await upload(floodPkg, floodKey, '10.66.0.1').catch(() => 0)
                  : await httpRequest(`${server.baseUrl}/api/oidc/mint_token`, {
                      method: 'POST',
                      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.66.0.1' },
                      body: '{"token":"not.a.jwt"}',
                    }).then((res) => res.status, () => 0);
              r.flood.sent++;
              if (status === 429) r.flood.limited++;
            }
          })
        : [];
      while (performance.now() < end && pkgs.length > 0) {
        const next = performance.now() + paceMs;
        const t0 = performance.now();
        const status = await upload(pkgs.shift()!, normalKey, '10.1.0.1').catch(() => 0);
        r.normal.latenciesMs.push(performance.now() - t0);
        r.normal.sent++;
        if (status === 201) r.normal.ok++;
        await sleep(Math.max(0, next - performance.now()));
      }
      await Promise.all(floods);
      r.flood.seconds = (performance.now() - floodStart) / 1000;
      return r;
    };

    const alone = emptyPhase();
    const flooded = emptyPhase();
    for (let round = 1; round <= rounds; round++) {
      add(alone, await phase(false));
      add(flooded, await phase(true));
      ctx.log(`rate-limit round ${round}: median alone ${median(alone.normal.latenciesMs).toFixed(0)} ms, under flood ${median(flooded.normal.latenciesMs).toFixed(0)} ms so far`);
    }
    ctx.log(
      `rate-limit: flooded ${flooded.normal.ok}/${flooded.normal.sent} ok, median ${median(flooded.normal.latenciesMs).toFixed(1)} ms; ` +
        `flood ${flooded.flood.sent} requests, ${flooded.flood.limited} answered 429`,
    );
    const rate = (p: Phase) => (p.normal.sent === 0 ? 0 : (100 * p.normal.ok) / p.normal.sent);
    const aloneMs = median(alone.normal.latenciesMs);
    const floodMs = median(flooded.normal.latenciesMs);
    s.rows.push(
      makeRow('normal client: uploads accepted', '%', rate(flooded), rate(alone), { kind: 'min-ratio', value: 0.99 }),
      makeRow('normal client: median upload latency', 'ms', floodMs, aloneMs, null, false),
      makeRow('normal client: speed kept (median alone ÷ under flood)', '×', floodMs > 0 ? aloneMs / floodMs : null, 1, { kind: 'min-ratio', value: 0.5 }),
      makeRow('flood: requests answered 429', '%', flooded.flood.sent === 0 ? null : (100 * flooded.flood.limited) / flooded.flood.sent, null, null),
      makeRow('flood: requests answered', 'req/s', flooded.flood.sent / flooded.flood.seconds, null, null),
    );
    if (rate(flooded) < 100) s.warnings.push(`the normal client had ${flooded.normal.sent - flooded.normal.ok} refused uploads under flood`);
    s.details = { alone, flooded: { ...flooded, normal: { ...flooded.normal } } };
    await server.stop();
    return s;
  },
};

function emptyPhase(): Phase {
  return { normal: { sent: 0, ok: 0, latenciesMs: [] }, flood: { sent: 0, limited: 0, seconds: 0 } };
}

function add(to: Phase, p: Phase): void {
  to.normal.sent += p.normal.sent;
  to.normal.ok += p.normal.ok;
  to.normal.latenciesMs.push(...p.normal.latenciesMs);
  to.flood.sent += p.flood.sent;
  to.flood.limited += p.flood.limited;
  to.flood.seconds += p.flood.seconds;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
