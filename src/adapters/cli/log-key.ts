import * as fs from 'node:fs';
import * as path from 'node:path';
import { type SignerKey, formatSignerKey, generateSignerKey, isValidKeyName, parseSignerKey } from '../../core/tlog/note-keys.ts';
import { isProvenaError } from '../../core/errors.ts';
import { SettingsError, type Settings } from '../config/settings.ts';
import { writeFileDurably } from '../files/durable-file.ts';

export interface LogIdentity {
  key: SignerKey;
  origin: string;
  /** set when this start generated the key (the caller tells the operator once) */
  generatedAt: string | null;
}

/**
 * The log's signing key and origin. A key given by config (`log_key`: the key text, or a file holding
 * it) wins; otherwise DATA/log-key, made on first start in Go's `PRIVATE+KEY+name+id+base64` form,
 * named after the origin. The origin defaults to the key's name, so a log keeps its identity when
 * the public URL changes; an explicit `log_origin` that disagrees with the history stops the start.
 */
export function loadLogIdentity(dataDir: string, settings: Pick<Settings, 'log_key' | 'log_origin' | 'public_url'>): LogIdentity {
  if (settings.log_key !== undefined) {
    const text = settings.log_key.startsWith('PRIVATE+KEY+') ? settings.log_key : readKeyFile(settings.log_key, 'log_key');
    const key = parseKey(text, 'setting log_key');
    return { key, origin: settings.log_origin ?? key.name, generatedAt: null };
  }
  const file = path.join(dataDir, 'log-key');
  if (fs.existsSync(file)) {
    const key = parseKey(readKeyFile(file, file), file);
    return { key, origin: settings.log_origin ?? key.name, generatedAt: null };
  }
  const origin = settings.log_origin ?? defaultLogOrigin(settings.public_url);
  if (!isValidKeyName(origin)) throw new SettingsError(`setting log_origin: ${JSON.stringify(origin)} cannot name a key (no spaces or "+")`);
  const key = generateSignerKey(origin);
  if (!writeFileDurably(file, `${formatSignerKey(key)}\n`, { how: 'create', mode: 0o600 })) {
    // another process sharing the data directory made one first: everyone signs with that one
    const theirs = parseKey(readKeyFile(file, file), file);
    return { key: theirs, origin: settings.log_origin ?? theirs.name, generatedAt: null };
  }
  return { key, origin, generatedAt: file };
}

/** `https://conda.example.org/sub` → `conda.example.org/sub/log`, as c2sp.org/tlog-tiles suggests. */
export function defaultLogOrigin(publicUrl: string): string {
  const url = new URL(publicUrl);
  // port 0 means "any free port": not part of an identity that must survive restarts
  const host = url.port === '0' ? url.hostname : url.host;
  return `${host}${url.pathname.replace(/\/+$/, '')}/log`;
}

function readKeyFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new SettingsError(`cannot read the log key from ${what}: ${(e as Error).message}`);
  }
}

function parseKey(text: string, where: string): SignerKey {
  try {
    return parseSignerKey(text);
  } catch (e) {
    throw new SettingsError(`${where} is not a log signer key: ${isProvenaError(e) ? e.detail : String(e)}`);
  }
}

