/**
 * Same wrk load against Provena and a baseline: warm both up, then alternate rounds
 * (P, B, P, B, …) so a burst of noise from a neighbour hits both sides alike, and keep each
 * side's best clean round.
 */
import type { BenchContext } from './context.ts';
import { runWrk, wrkCommandLine, wrkProblems, type WrkOptions, type WrkResult } from './wrk.ts';

export interface WrkSide {
  label: string;
  url: string;
  headers?: Record<string, string>;
}

export interface SideOutcome {
  best: WrkResult | null;
  rounds: WrkResult[];
  problems: string[];
}

export async function bestOfWrk(ctx: BenchContext, sides: WrkSide[]): Promise<Map<string, SideOutcome>> {
  const wrk = ctx.wrk;
  if (!wrk) throw new Error('wrk is not installed');
  const c = ctx.config;
  const opts = (s: WrkSide, durationSec: number): WrkOptions => ({
    url: s.url,
    headers: s.headers,
    threads: c.wrkThreads,
    connections: c.wrkConnections,
    durationSec,
  });
  const out = new Map<string, SideOutcome>(sides.map((s) => [s.label, { best: null, rounds: [], problems: [] }]));

  for (const s of sides) {
    ctx.log(`warm-up ${s.label}: wrk ${wrkCommandLine(opts(s, c.warmupSec)).join(' ')}`);
    await runWrk(wrk, opts(s, c.warmupSec));
  }
  for (let round = 1; round <= c.rounds; round++) {
    for (const s of sides) {
      const r = await runWrk(wrk, opts(s, c.wrkDurationSec));
      const o = out.get(s.label)!;
      o.rounds.push(r);
      const problems = wrkProblems(r);
      if (problems.length > 0) o.problems.push(`${s.label} round ${round}: ${problems.join('; ')}`);
      ctx.log(`${s.label} round ${round}: ${r.requestsPerSec.toFixed(0)} req/s, ${(r.bytesPerSec / 1e6).toFixed(1)} MB/s${problems.length ? ` (${problems.join('; ')})` : ''}`);
    }
  }
  for (const o of out.values()) {
    // Prefer clean rounds; a round with errors only counts when nothing else is there.
    const clean = o.rounds.filter((r) => wrkProblems(r).length === 0);
    const pool = clean.length > 0 ? clean : o.rounds;
    o.best = pool.reduce<WrkResult | null>((b, r) => (b === null || r.requestsPerSec > b.requestsPerSec ? r : b), null);
  }
  return out;
}

/** wrk's own summary without the raw text, for the JSON file. */
export function wrkSummary(r: WrkResult | null): Record<string, unknown> | null {
  if (!r) return null;
  const { raw: _raw, ...rest } = r;
  return rest;
}
