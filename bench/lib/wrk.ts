/**
 * Runs `wrk` (bounded: fixed duration, plus a hard kill timer) and parses its summary.
 *
 * We deliberately do not use a Lua `response()` hook to count status codes: it makes wrk parse
 * every response in Lua, which costs wrk CPU on a 2-core box shared with the server under test.
 * Callers instead check the status once up front and use bytes-per-response as a sanity check.
 */
import { execFile } from 'node:child_process';
import { findExecutable } from './util.ts';

export interface WrkOptions {
  url: string;
  threads: number;
  connections: number;
  durationSec: number;
  headers?: Record<string, string>;
  timeoutSec?: number;
}

export interface WrkResult {
  requests: number;
  seconds: number;
  bytesRead: number;
  requestsPerSec: number;
  /** bytes/s, from the "N requests in T, X read" line (more digits than Transfer/sec) */
  bytesPerSec: number;
  /** responses that were neither 2xx nor 3xx */
  non2xx3xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
  latencyAvgMs: number | null;
  latencyP99Ms: number | null;
  raw: string;
}

export const WRK_BIN = '/usr/bin/wrk';

/** Path of wrk, or null when it is not installed (the caller skips and says so). */
export function findWrk(): string | null {
  return findExecutable('wrk', [WRK_BIN]);
}

export function wrkCommandLine(o: WrkOptions): string[] {
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.durationSec}s`, `--timeout`, `${o.timeoutSec ?? 10}s`, '--latency'];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  return args;
}

export async function runWrk(bin: string, o: WrkOptions): Promise<WrkResult> {
  const args = wrkCommandLine(o);
  const raw = await new Promise<string>((resolve, reject) => {
    execFile(
      bin,
      args,
      // Hard stop: wrk should end on its own after durationSec; never let it hang the bench.
      { timeout: (o.durationSec + 20) * 1000, killSignal: 'SIGKILL', maxBuffer: 1 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`wrk failed: ${err.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
  return parseWrkOutput(raw);
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "799.52KB" → bytes (wrk uses binary units). */
export function parseBytes(s: string): number {
  const m = /^([\d.]+)([KMGT]?)B$/.exec(s.trim());
  if (!m) throw new Error(`cannot parse wrk byte amount ${JSON.stringify(s)}`);
  return Number(m[1]) * UNITS[m[2]];
}

/** "2.00ms" / "829.48us" / "1.02s" / "1.50m" → milliseconds. */
export function parseDurationMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(s.trim());
  if (!m) throw new Error(`cannot parse wrk duration ${JSON.stringify(s)}`);
  const scale: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  return Number(m[1]) * scale[m[2]];
}

export function parseWrkOutput(raw: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+\w+), ([\d.]+[KMGT]?B) read/.exec(raw);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(raw);
  if (!total || !rps) throw new Error(`unrecognised wrk output:\n${raw}`);
  const requests = Number(total[1]);
  const seconds = parseDurationMs(total[2]) / 1000;
  const bytesRead = parseBytes(total[3]);
  const non = /Non-2xx or 3xx responses: (\d+)/.exec(raw);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const lat = /^\s+Latency\s+([\d.]+\w+)/m.exec(raw);
  const p99 = /^\s+99%\s+([\d.]+\w+)/m.exec(raw);
  return {
    requests,
    seconds,
    bytesRead,
    requestsPerSec: Number(rps[1]),
    bytesPerSec: seconds > 0 ? bytesRead / seconds : 0,
    non2xx3xx: non ? Number(non[1]) : 0,
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
    latencyAvgMs: lat ? parseDurationMs(lat[1]) : null,
    latencyP99Ms: p99 ? parseDurationMs(p99[1]) : null,
    raw,
  };
}

/** Problems that make a wrk figure meaningless (errors, wrong statuses). Empty = clean run. */
export function wrkProblems(r: WrkResult): string[] {
  const p: string[] = [];
  if (r.requests === 0) p.push('no requests completed');
  if (r.non2xx3xx > 0) p.push(`${r.non2xx3xx} non-2xx/3xx responses`);
  const s = r.socketErrors;
  const errs = s.connect + s.read + s.write + s.timeout;
  if (errs > 0) p.push(`socket errors: connect ${s.connect}, read ${s.read}, write ${s.write}, timeout ${s.timeout}`);
  return p;
}
