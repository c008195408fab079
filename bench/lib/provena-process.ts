/**
 * Runs a Provena server for the bench (request logging off, like nginx's access_log off): spawn from a temp data dir, wait for its "listening on"
 * line, then talk to the admin API and upload packages over loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { LOOPBACK, freePort, httpRequest, type SimpleResponse } from './util.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');
/** BENCH_PROVENA_BIN lets the same bench run another build (e.g. a mock, or a compiled one). */
export const PROVENA_BIN = process.env.BENCH_PROVENA_BIN ? resolve(process.env.BENCH_PROVENA_BIN) : join(PROJECT_ROOT, 'bin', 'provena.js');

/** Why Provena cannot run yet, or null if the entry point is there. */
export function provenaUnavailableReason(): string | null {
  return existsSync(PROVENA_BIN) ? null : `${PROVENA_BIN} does not exist yet`;
}

export interface ProvenaServer {
  baseUrl: string;
  pid: number;
  adminToken: string;
  logPath: string;
  admin(method: string, path: string, body?: unknown): Promise<SimpleResponse>;
  createChannel(name: string): Promise<void>;
  createUploadKey(channel: string): Promise<string>;
  uploadFile(channel: string, file: { path: string; filename: string; sha256: string; size: number }, token: string): Promise<UploadResult>;
  stop(): Promise<void>;
}

export interface UploadResult {
  status: number;
  body: string;
  /** from the first byte sent to the end of the response */
  seconds: number;
}

const READY_TIMEOUT_MS = 60_000;
/** Sections upload from one address far faster than the default limits allow; `rate-limit` sets its own. */
const NO_RATE_LIMITS = { PROVENA_RATE_LIMIT_UPLOAD_PER_MINUTE: '0', PROVENA_RATE_LIMIT_AUTH_PER_MINUTE: '0' };

/** `env`: extra PROVENA_* settings for this server (e.g. rate limits). */
export async function startProvena(workDir: string, env: Record<string, string> = {}): Promise<ProvenaServer> {
  const dataDir = join(workDir, 'data');
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const adminToken = randomBytes(24).toString('hex');
  const logPath = join(workDir, 'provena.log');
  const log = createWriteStream(logPath);
  const child: ChildProcess = spawn(
    process.execPath,
    [PROVENA_BIN, 'serve', '--data', dataDir, '--host', LOOPBACK, '--port', String(port), '--admin-token', adminToken, '--log-level', 'warn'],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...NO_RATE_LIMITS, ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production', ...env } },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let dead = false;
  void exited.then(() => (dead = true));

  const stop = async (): Promise<void> => {
    if (!dead) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await new Promise<void>((r) => log.end(() => r()));
  };

  // Ready when either stream carries the line (plain text or inside a JSON log record).
  const marker = `listening on http://${LOOPBACK}:${port}`;
  const ready = new Promise<void>((resolveReady, reject) => {
    let seen = '';
    const onData = (chunk: Buffer): void => {
      log.write(chunk);
      if (seen.length < 1 << 16) {
        seen += chunk.toString();
        if (seen.includes(marker)) resolveReady();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`provena exited (code ${code}) before listening; its output ends:\n${tail(seen)}`)));
    setTimeout(() => reject(new Error(`provena did not print "${marker}" within ${READY_TIMEOUT_MS} ms; its output ends:\n${tail(seen)}`)), READY_TIMEOUT_MS).unref();
  });
  try {
    await ready;
  } catch (e) {
    await stop();
    throw e;
  }

  const baseUrl = `http://${LOOPBACK}:${port}`;
  const auth = { Authorization: `Bearer ${adminToken}` };
  const admin = (method: string, path: string, body?: unknown): Promise<SimpleResponse> =>
    httpRequest(`${baseUrl}${path}`, {
      method,
      headers: body === undefined ? auth : { ...auth, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  return {
    baseUrl,
    pid: child.pid ?? -1,
    adminToken,
    logPath,
    admin,
    async createChannel(name) {
      const r = await admin('POST', '/api/v1/channels', { name, private: false });
      if (r.status !== 201) throw new Error(`create channel ${name}: HTTP ${r.status} ${r.body.toString().slice(0, 500)}`);
    },
    async createUploadKey(channel) {
      const r = await admin('POST', '/api/v1/keys', { channel, scope: 'upload' });
      if (r.status !== 201) throw new Error(`create key: HTTP ${r.status} ${r.body.toString().slice(0, 500)}`);
      const secret = (JSON.parse(r.body.toString()) as { secret?: unknown }).secret;
      if (typeof secret !== 'string') throw new Error(`create key: no "secret" in ${r.body.toString().slice(0, 500)}`);
      return secret;
    },
    uploadFile: (channel, file, token) => uploadFile(baseUrl, channel, file, token),
    stop,
  };
}

/** Legacy raw-body upload, streamed from disk (never buffered) with an explicit Content-Length. */
export function uploadFile(
  baseUrl: string,
  channel: string,
  file: { path: string; filename: string; sha256: string; size: number },
  token: string,
  timeoutMs = 180_000,
): Promise<UploadResult> {
  return new Promise((resolveUpload, reject) => {
    const t0 = process.hrtime.bigint();
    const req = request(
      `${baseUrl}/api/v1/upload/${encodeURIComponent(channel)}`,
      {
        method: 'POST',
        timeout: timeoutMs,
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(file.size),
          'X-File-Name': file.filename,
          'X-File-SHA256': file.sha256,
        },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          if (body.length < 4096) body += c.toString();
        });
        res.on('end', () =>
          resolveUpload({ status: res.statusCode ?? 0, body, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`upload of ${file.filename} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    const src = createReadStream(file.path, { highWaterMark: 1 << 20 });
    src.on('error', (e) => req.destroy(e));
    src.pipe(req);
  });
}

/** Last lines of a process's output, indented, for an error message. */
function tail(text: string, lines = 12): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `      | ${l}`)
    .join('\n');
}
