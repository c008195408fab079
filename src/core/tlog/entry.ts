/**
 * The log entry: one canonical JSON line per change to a channel. Every field is always present (null
 * when it does not apply) so an entry has one shape and one byte encoding; monitors parse entries with
 * the same function the server used to write them, and refuse any other spelling of the same facts.
 */
import { canonicalJson } from './canonical-json.ts';
import { MAX_ENTRY_BYTES } from './entry-bundle.ts';
import { invalid, tooLarge } from '../errors.ts';

export const LOG_ACTIONS = ['publish', 'yank', 'remove', 'publisher_add', 'publisher_remove', 'channel_update'] as const;
export type LogAction = (typeof LOG_ACTIONS)[number];

/** Actions about one package file: they must name the file and its digest. */
const FILE_ACTIONS: readonly LogAction[] = ['publish', 'yank', 'remove'];
const PUBLISHER_ACTIONS: readonly LogAction[] = ['publisher_add', 'publisher_remove'];

/**
 * Who acted: e.g. `{"kind":"github","repository":…,"workflow":…}` or `{"kind":"key","id":…}`. Recorded
 * as given by the publish layer; the log only insists on a `kind`.
 */
export interface Publisher {
  kind: string;
  [field: string]: unknown;
}

export interface LogEntry {
  channel: string;
  subdir: string | null;
  filename: string | null;
  /** lowercase hex sha256 of the package file */
  sha256: string | null;
  size: number | null;
  action: LogAction;
  publisher: Publisher | null;
  /** lowercase hex sha256 of the served attestation bytes, when the file came with one */
  attestation_sha256: string | null;
  /** when the server sequenced it, as `Date.toISOString()` writes it (UTC, milliseconds) */
  time: string;
}

const FIELDS = ['action', 'attestation_sha256', 'channel', 'filename', 'publisher', 'sha256', 'size', 'subdir', 'time'];
const SHA256 = /^[0-9a-f]{64}$/;
const SUBDIR = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const FILENAME = /^[^/\\\s\p{Cc}]{1,255}\.(conda|tar\.bz2)$/u;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The entry's bytes, ready to be logged; throws `entry_invalid` or `entry_too_large`. */
export function encodeEntry(entry: LogEntry): Uint8Array {
  validateEntry(entry);
  const bytes = new TextEncoder().encode(canonicalJson(entry));
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw tooLarge('entry_too_large', `log entry is ${bytes.length} bytes; entries are limited to ${MAX_ENTRY_BYTES} (tile entry length prefix)`);
  }
  return bytes;
}

/** Parses logged bytes; refuses anything that is not exactly what `encodeEntry` would write. */
export function parseEntry(bytes: Uint8Array): LogEntry {
  if (bytes.length > MAX_ENTRY_BYTES) throw tooLarge('entry_too_large', `log entry is ${bytes.length} bytes`);
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    value = JSON.parse(text);
  } catch {
    throw invalid('entry_invalid', 'log entry is not UTF-8 JSON');
  }
  validateEntry(value);
  if (canonicalJson(value) !== text) {
    throw invalid('entry_not_canonical', 'log entry is not in canonical form (sorted keys, no whitespace, one line)');
  }
  return value;
}

export function validateEntry(value: unknown): asserts value is LogEntry {
  const bad = (field: string, why: string) => invalid('entry_invalid', `log entry ${field}: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('', 'must be a JSON object');
  const e = value as Record<string, unknown>;
  const keys = Object.keys(e).sort();
  if (keys.join() !== FIELDS.join()) throw bad('fields', `must be exactly ${FIELDS.join(', ')}; got ${keys.join(', ')}`);

  if (!LOG_ACTIONS.includes(e.action as LogAction)) throw bad('action', `must be one of ${LOG_ACTIONS.join(', ')}`);
  const action = e.action as LogAction;
  if (typeof e.channel !== 'string' || !/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(e.channel)) throw bad('channel', 'must be a channel name');
  nullable(e.subdir, (v) => typeof v === 'string' && SUBDIR.test(v), () => bad('subdir', 'must be a subdir such as linux-64 or noarch'));
  nullable(e.filename, (v) => typeof v === 'string' && FILENAME.test(v), () => bad('filename', 'must be a .conda or .tar.bz2 file name'));
  nullable(e.sha256, (v) => typeof v === 'string' && SHA256.test(v), () => bad('sha256', 'must be 64 lowercase hex digits'));
  nullable(e.attestation_sha256, (v) => typeof v === 'string' && SHA256.test(v), () => bad('attestation_sha256', 'must be 64 lowercase hex digits'));
  nullable(e.size, (v) => Number.isSafeInteger(v) && (v as number) >= 0, () => bad('size', 'must be a non-negative integer'));
  nullable(e.publisher, isPublisher, () => bad('publisher', 'must be an object with a lowercase "kind"'));
  if (typeof e.time !== 'string' || !ISO_TIME.test(e.time) || new Date(e.time).toISOString() !== e.time) {
    throw bad('time', 'must be a UTC time as YYYY-MM-DDTHH:MM:SS.mmmZ');
  }

  if (FILE_ACTIONS.includes(action)) {
    for (const f of ['subdir', 'filename', 'sha256', 'size'] as const) {
      if (e[f] === null) throw bad(f, `is required for ${action}`);
    }
  }
  if (PUBLISHER_ACTIONS.includes(action) && e.publisher === null) throw bad('publisher', `is required for ${action}`);
  // Nested values must be canonicalisable too (integers only, plain objects).
  canonicalJson(e.publisher, 'publisher');
}

function nullable(v: unknown, ok: (v: unknown) => boolean, fail: () => Error): void {
  if (v !== null && !ok(v)) throw fail();
}

function isPublisher(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const kind = (v as Record<string, unknown>).kind;
  return typeof kind === 'string' && /^[a-z][a-z0-9_]{0,31}$/.test(kind);
}
