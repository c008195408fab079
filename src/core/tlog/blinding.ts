/**
 * Blinded entries: how the public log records a change to a private channel without telling the
 * world the channel, file, digest or publisher. The logged bytes carry the action, the time and a
 * commitment
 *
 *   commitment = hex(SHA-256("provena-log-opening-v1\0" ‖ salt ‖ canonical JSON of the full entry))
 *
 * with a fresh 32-byte random salt per entry, so equal entries give unrelated commitments and a
 * guessed entry (a known package's digest, say) cannot be confirmed without the salt. The opening
 * (the full entry and the salt) is kept by the server and handed only to readers of the channel;
 * with it anyone checks that the log committed, under its signed tree, to exactly that entry. The
 * log proves as much as before for those who can read the channel, and nothing leaks to others.
 */
import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { type BlindedEntry, type LogEntry, type LoggedEntry, isBlinded, validateFullEntry } from './entry.ts';
import { invalid, unprocessable } from '../errors.ts';

const DOMAIN = new TextEncoder().encode('provena-log-opening-v1\0');
export const SALT_BYTES = 32;
const SALT_HEX = /^[0-9a-f]{64}$/;

/** What a reader of the channel gets for a blinded entry (in receipts and the entries API). */
export interface Opening {
  /** the index of the blinded entry this opens */
  log_index: number;
  /** the 32-byte salt, lowercase hex */
  salt: string;
  /** the full entry the commitment is over */
  entry: LogEntry;
}

/** The commitment to `entry` under `salt` (lowercase hex). */
export function commitmentOf(entry: LogEntry, salt: Uint8Array): string {
  return createHash('sha256').update(DOMAIN).update(salt).update(new TextEncoder().encode(canonicalJson(entry))).digest('hex');
}

/** Blinds a full entry with a fresh salt; the salt goes into the opening the server stores. */
export function blindEntry(entry: LogEntry, salt: Uint8Array = randomBytes(SALT_BYTES)): { blinded: BlindedEntry; salt: Uint8Array } {
  if (entry.action === 'key_rotation') throw invalid('entry_invalid', 'key_rotation entries are about the log itself and are never blinded');
  if (salt.length !== SALT_BYTES) throw invalid('entry_invalid', `a blinding salt is ${SALT_BYTES} bytes`);
  return { blinded: { action: entry.action, commitment: commitmentOf(entry, salt), time: entry.time }, salt };
}

/**
 * Checks `opening` against the logged entry at `index`; returns the full entry it reveals. Refusals:
 * `opening_malformed` (not an opening), `opening_unexpected` (the logged entry is not blinded),
 * `opening_wrong_entry` (it opens another index), `opening_mismatch` (salt and entry do not hash to
 * the logged commitment: a wrong salt, an altered field, or another entry's contents).
 */
export function verifyOpening(logged: LoggedEntry, index: number, opening: unknown): LogEntry {
  const o = openingShape(opening);
  if (!isBlinded(logged)) throw unprocessable('opening_unexpected', `log entry ${index} is not blinded; it needs no opening`);
  if (o.log_index !== index) throw unprocessable('opening_wrong_entry', `the opening is for log entry ${o.log_index}, not ${index}`);
  const salt = Buffer.from(o.salt, 'hex');
  if (commitmentOf(o.entry, salt) !== logged.commitment) {
    throw unprocessable('opening_mismatch', `the opening does not hash to the commitment of log entry ${index}: wrong salt, or an entry other than the one logged`);
  }
  // The commitment covers the full entry; these only guard against a server that blinded inconsistently.
  if (o.entry.action !== logged.action || o.entry.time !== logged.time) {
    throw unprocessable('opening_mismatch', `the opened entry's action or time differs from log entry ${index}`);
  }
  return o.entry;
}

function openingShape(v: unknown): Opening {
  const bad = (why: string) => invalid('opening_malformed', `malformed opening: ${why}`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('an opening is a JSON object');
  const o = v as Record<string, unknown>;
  if (Object.keys(o).sort().join() !== 'entry,log_index,salt') throw bad('it must have exactly "entry", "log_index" and "salt"');
  if (!Number.isSafeInteger(o.log_index) || (o.log_index as number) < 0) throw bad('"log_index" must be a non-negative integer');
  if (typeof o.salt !== 'string' || !SALT_HEX.test(o.salt)) throw bad(`"salt" must be ${SALT_BYTES} bytes as lowercase hex`);
  try {
    validateFullEntry(o.entry);
  } catch (e) {
    throw bad(`"entry" is not a full log entry: ${(e as { detail?: string }).detail ?? String(e)}`);
  }
  return o as unknown as Opening;
}

/** The stored form of an opening → what readers get. */
export function openingOf(index: number, stored: { salt: string; entry: string }): Opening {
  return { log_index: index, salt: stored.salt, entry: JSON.parse(stored.entry) as LogEntry };
}
