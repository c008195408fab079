/**
 * The admin token kept in DATA/admin-token: made on first start, replaced by `provena admin-token
 * rotate`, and re-read by a running server on SIGHUP or when the file changes (polled every second),
 * so a rotation takes effect without a restart and the old token is refused from then on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Settings } from '../config/settings.ts';
import { usageError } from './cli-error.ts';
import { writeFileDurably } from '../files/durable-file.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';
const MIN_LENGTH = 16;

export function newAdminToken(): string {
  return `pvn_admin_${randomBytes(32).toString('base64url')}`;
}

/** Atomically replaces DATA/admin-token (0600): a reader sees the old token or the new, never a mix. */
export function writeAdminToken(dataDir: string, token: string): string {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  writeFileDurably(file, `${token}\n`, { how: 'replace', mode: 0o600 });
  return file;
}

/** The token in the file, or null when there is none (or it is too short to be one of ours). */
export function readAdminToken(dataDir: string): string | null {
  try {
    const token = fs.readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
    return token.length >= MIN_LENGTH ? token : null;
  } catch {
    return null;
  }
}

/** `provena admin-token rotate [--data DIR]`: prints the new token once. */
export function rotateAdminToken(settings: Settings, out: (line: string) => void): void {
  if (settings.admin_token !== undefined) {
    throw usageError('the admin token is set by configuration (admin_token / PROVENA_ADMIN_TOKEN / --admin-token); change it there and restart the server');
  }
  const dataDir = path.resolve(settings.data);
  if (!fs.existsSync(path.join(dataDir, ADMIN_TOKEN_FILE))) {
    throw usageError(`${dataDir} has no ${ADMIN_TOKEN_FILE}; give the server's data directory with --data DIR`);
  }
  const token = newAdminToken();
  const file = writeAdminToken(dataDir, token);
  out(`provena: new admin token (shown once; also in ${file}); a running server switches to it within a second or on SIGHUP, and refuses the old one:`);
  out(`  ${token}`);
}

/**
 * Keeps a running server's admin token equal to the file's: on SIGHUP at once, otherwise within the
 * poll interval. An unreadable or emptied file keeps the current token (never locks the operator out
 * by accident, never falls back to no token). Returns a function that stops watching.
 */
export function followAdminTokenFile(dataDir: string, apply: (token: string) => void, say: (line: string) => void): () => void {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  let current = readAdminToken(dataDir);
  const reload = (why: string) => {
    const token = readAdminToken(dataDir);
    if (token === null || token === current) return;
    current = token;
    apply(token);
    say(`provena: admin token replaced (${why}); the previous one is refused from now on`);
  };
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  const listener = () => reload(`${ADMIN_TOKEN_FILE} changed`);
  fs.watchFile(file, { interval: 1000, persistent: false }, listener);
  return () => {
    process.off('SIGHUP', onHup);
    fs.unwatchFile(file, listener);
  };
}
