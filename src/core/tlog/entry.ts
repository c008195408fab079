/**
 * The log entry: one canonical JSON line per change to a channel. Every field is always present (null
 * when it does not apply) so an entry has one shape and one byte encoding; monitors parse entries with
 * the same function the server used to write them, and refuse any other spelling of the same facts.
 */
import { canonicalJson } from './canonical-json.ts';
import { MAX_ENTRY_BYTES } from './entry-bundle.ts';
import { invalid, tooLarge } from '../errors.ts';
import { type VerifierKey, parseVerifierKey } from './note-keys.ts';

export const LOG_ACTIONS = ['publish', 'yank', 'remove', 'publisher_add', 'publisher_remove', 'channel_update', 'repodata_publish', 'key_rotation'] as const;
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
  /** null only for `key_rotation`, which is about the log itself */
  channel: string | null;
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

/**
 * An entry about a private channel, as the public log holds it (blinding.ts): the action, the time
 * and a commitment to the full entry; the opening (full entry and salt) is given only to readers of
 * the channel. The LogEntry fields are absent, typed here so code that reads them compiles and sees
 * `undefined`.
 *
 * The action stays visible on purpose: a monitor can still count publishes, removals and channel
 * changes across the whole log, and "some private channel published something at 12:03" says nothing
 * about which channel, package, digest or publisher. Hiding it too would not hide the entry's
 * existence (the tree size shows that), only make blinded entries useless to aggregate monitoring.
 */
export interface BlindedEntry {
  action: Exclude<LogAction, 'key_rotation'>;
  /** lowercase hex SHA-256 over the domain prefix, the salt and the canonical full entry */
  commitment: string;
  time: string;
  channel?: undefined;
  subdir?: undefined;
  filename?: undefined;
  sha256?: undefined;
  size?: undefined;
  publisher?: undefined;
  attestation_sha256?: undefined;
}

/** What the log holds at an index: a full entry, or a blinded one. */
export type LoggedEntry = LogEntry | BlindedEntry;

export function isBlinded(e: LoggedEntry): e is BlindedEntry {
  return typeof (e as Partial<BlindedEntry>).commitment === 'string';
}

const FIELDS = ['action', 'attestation_sha256', 'channel', 'filename', 'publisher', 'sha256', 'size', 'subdir', 'time'];
const BLINDED_FIELDS = ['action', 'commitment', 'time'];
const SHA256 = /^[0-9a-f]{64}$/;
const SUBDIR = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const FILENAME = /^[^/\\\s\p{Cc}]{1,255}\.(conda|tar\.bz2)$/u;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The entry's bytes, ready to be logged; throws `entry_invalid` or `entry_too_large`. */
export function encodeEntry(entry: LoggedEntry): Uint8Array {
  validateEntry(entry);
  const bytes = new TextEncoder().encode(canonicalJson(entry));
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw tooLarge('entry_too_large', `log entry is ${bytes.length} bytes; entries are limited to ${MAX_ENTRY_BYTES} (tile entry length prefix)`);
  }
  return bytes;
}

/** Parses logged bytes; refuses anything that is not exactly what `encodeEntry` would write. */
export function parseEntry(bytes: Uint8Array): LoggedEntry {
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

/** Checks either shape: a full entry, or a blinded one (exactly action, commitment, time). */
export function validateEntry(value: unknown): asserts value is LoggedEntry {
  const bad = (field: string, why: string) => invalid('entry_invalid', `log entry ${field}: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('', 'must be a JSON object');
  const e = value as Record<string, unknown>;
  const keys = Object.keys(e).sort();
  if (keys.join() === BLINDED_FIELDS.join()) {
    validateBlinded(e, bad);
    return;
  }
  if (keys.join() !== FIELDS.join()) {
    throw bad('fields', `must be exactly ${FIELDS.join(', ')} (or ${BLINDED_FIELDS.join(', ')} when blinded); got ${keys.join(', ')}`);
  }
  validateFullEntry(e, bad);
}

/** Checks a full entry only: what an opening must hold, and what the server may blind. */
export function validateFullEntry(value: unknown, bad = (field: string, why: string) => invalid('entry_invalid', `log entry ${field}: ${why}`)): asserts value is LogEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('', 'must be a JSON object');
  const e = value as Record<string, unknown>;
  const keys = Object.keys(e).sort();
  if (keys.join() !== FIELDS.join()) throw bad('fields', `must be exactly ${FIELDS.join(', ')}; got ${keys.join(', ')}`);

  if (!LOG_ACTIONS.includes(e.action as LogAction)) throw bad('action', `must be one of ${LOG_ACTIONS.join(', ')}`);
  const action = e.action as LogAction;
  if (action === 'key_rotation') {
    validateKeyRotation(e, bad);
    return;
  }
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
  // a new version of a subdir's repodata: the sha256 and size of its repodata.json, no file name
  if (action === 'repodata_publish') {
    for (const f of ['subdir', 'sha256', 'size'] as const) if (e[f] === null) throw bad(f, `is required for ${action}`);
    if (e.filename !== null) throw bad('filename', `must be null for ${action}`);
  }
  // Nested values must be canonicalisable too (integers only, plain objects).
  canonicalJson(e.publisher, 'publisher');
}

function validateBlinded(e: Record<string, unknown>, bad: (field: string, why: string) => Error): void {
  // key_rotation is about the log itself and is never blinded
  if (!LOG_ACTIONS.includes(e.action as LogAction) || e.action === 'key_rotation') throw bad('action', 'a blinded entry must have a channel action');
  if (typeof e.commitment !== 'string' || !SHA256.test(e.commitment)) throw bad('commitment', 'must be 64 lowercase hex digits');
  if (typeof e.time !== 'string' || !ISO_TIME.test(e.time) || new Date(e.time).toISOString() !== e.time) {
    throw bad('time', 'must be a UTC time as YYYY-MM-DDTHH:MM:SS.mmmZ');
  }
}

/**
 * `key_rotation`: the log announces its next signing key in its own history. The entry names the
 * verifier key that signs checkpoints from the next checkpoint on and the key it replaces; it is
 * covered by a checkpoint the replaced key signed, so a monitor that trusts the old key learns the
 * new one from the log. Every other field is null; the keys are in `publisher`:
 * `{"kind":"log_key","key":NEW,"previous_key":OLD}` (C2SP verifier key texts, same name).
 */
function validateKeyRotation(e: Record<string, unknown>, bad: (field: string, why: string) => Error): void {
  for (const f of ['channel', 'subdir', 'filename', 'sha256', 'size', 'attestation_sha256'] as const) {
    if (e[f] !== null) throw bad(f, 'must be null for key_rotation');
  }
  const p = e.publisher as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null || Array.isArray(p) || Object.keys(p).sort().join() !== 'key,kind,previous_key' || p.kind !== 'log_key') {
    throw bad('publisher', 'must be {"kind":"log_key","key":NEW,"previous_key":OLD} for key_rotation');
  }
  let next: VerifierKey;
  let previous: VerifierKey;
  try {
    next = parseVerifierKey(String(p.key));
    previous = parseVerifierKey(String(p.previous_key));
  } catch {
    throw bad('publisher', 'key and previous_key must be verifier keys (NAME+KEYID+BASE64)');
  }
  if (typeof p.key !== 'string' || typeof p.previous_key !== 'string' || next.name !== previous.name || p.key === p.previous_key) {
    throw bad('publisher', 'key and previous_key must be two different keys of the same name');
  }
  if (typeof e.time !== 'string' || !ISO_TIME.test(e.time) || new Date(e.time).toISOString() !== e.time) {
    throw bad('time', 'must be a UTC time as YYYY-MM-DDTHH:MM:SS.mmmZ');
  }
}

/** The key a `key_rotation` entry announces, and the key it replaces. */
export function announcedKey(e: LoggedEntry): { key: string; previousKey: string } | null {
  if (e.action !== 'key_rotation' || isBlinded(e) || e.publisher === null) return null;
  return { key: String(e.publisher.key), previousKey: String(e.publisher.previous_key) };
}

function nullable(v: unknown, ok: (v: unknown) => boolean, fail: () => Error): void {
  if (v !== null && !ok(v)) throw fail();
}

function isPublisher(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const kind = (v as Record<string, unknown>).kind;
  return typeof kind === 'string' && /^[a-z][a-z0-9_]{0,31}$/.test(kind);
}
