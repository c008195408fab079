import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED = path.resolve(ROOT, '../shared');
export const PACKAGES_DIR = path.join(SHARED, 'data/packages');
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
/** Tests upload and mint tokens from 127.0.0.1 far faster than a person; rate-limit tests set their own limits. */
const NO_RATE_LIMITS = { PROVENA_RATE_LIMIT_UPLOAD_PER_MINUTE: '0', PROVENA_RATE_LIMIT_AUTH_PER_MINUTE: '0' };

export interface RunningServer {
  url: string;
  dataDir: string;
  process: ChildProcess;
  /** stdout+stderr so far, for assertions and failure messages */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the real `provena serve` as a child process on 127.0.0.1 (a free port), with its own data
 * directory: what a user runs, nothing mocked. Reuse `dataDir` to restart onto the same state.
 */
export async function startServer(
  opts: { dataDir?: string; args?: string[]; env?: Record<string, string>; /** use DATA/admin-token, as a user's server does */ tokenFromDataDir?: boolean } = {},
): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'provena-test-'));
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/provena.js'), 'serve', '--data', dataDir, '--port', '0', ...(opts.tokenFromDataDir ? [] : ['--admin-token', ADMIN_TOKEN]), '--log-level', 'warn', ...databaseArgs(dataDir, opts.args ?? []), ...(opts.args ?? [])],
    { cwd: ROOT, env: { ...NO_RATE_LIMITS, ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    // generous: start-up recovery on a loaded two-core machine; a server that never listens is killed,
    // so the test fails instead of hanging on its child
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in 90 s:\n${out}`));
    }, 90_000);
    const check = () => {
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!.replace('0.0.0.0', '127.0.0.1'));
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    dataDir,
    process: child,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** JSON API call with the admin token unless another is given. */
export async function api(
  server: { url: string },
  method: string,
  urlPath: string,
  body?: unknown,
  token: string | null = ADMIN_TOKEN,
): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server.url + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/**
 * PROVENA_TEST_STORE=postgres runs the server tests on the machine's PostgreSQL: each data directory
 * gets its own schema (named in DATA/test-pg-schema, so a restart on the same directory finds its
 * database again). Such schemas are left in the test database; drop the `t_*` schemas to clean up.
 */
function databaseArgs(dataDir: string, args: readonly string[]): string[] {
  if (process.env.PROVENA_TEST_STORE !== 'postgres' || args.includes('--database')) return [];
  const file = path.join(dataDir, 'test-pg-schema');
  let schema: string;
  try {
    schema = fs.readFileSync(file, 'utf8').trim();
  } catch {
    schema = `t_${randomBytes(6).toString('hex')}`;
    fs.writeFileSync(file, schema);
  }
  const url = process.env.PROVENA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
  return ['--database', url, '--database-schema', schema, '--database-pool-size', '4'];
}
