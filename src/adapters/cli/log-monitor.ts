import * as fs from 'node:fs';
import { parsePackageFilename } from '../../core/conda/filename.ts';
import { isProvenaError } from '../../core/errors.ts';
import { type Checkpoint, openCheckpoint, parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { type LoggedEntry, announcedKey, isBlinded } from '../../core/tlog/entry.ts';
import { verifyOpening } from '../../core/tlog/blinding.ts';
import { type KeyRotationRecord, followRotation } from '../../core/tlog/key-rotation.ts';
import { invalid } from '../../core/errors.ts';
import { formatKeyId } from '../../core/tlog/note-keys.ts';
import { noteVerifier } from '../../core/tlog/key-ring.ts';
import { type NoteVerifier, openNote, parseNote } from '../../core/tlog/note.ts';
import { checkLogUpdate } from '../../core/tlog/monitor.ts';
import { TileHashReader } from '../../core/tlog/tile-hash-reader.ts';
import { CliError, usageError } from './cli-error.ts';
import { LogClient } from './log-client.ts';
import { writeFileDurably } from '../files/durable-file.ts';

/** What the monitor remembers between runs: the log it follows and the last checkpoint it verified. */
interface MonitorState {
  key: string;
  origin: string;
  /** the signed note, verified when it was saved */
  checkpoint: string;
}

export interface MonitorOptions {
  server: string;
  stateFile: string;
  watch: string[];
  /** trusted verifier key text; defaults to the one in the state file, else the server's (first use) */
  keyText: string | undefined;
  /** a read key (or the admin token): blinded entries of the channels it reads are opened and checked */
  token?: string;
  out(line: string): void;
}

/**
 * `provena log monitor`: fetches the signed checkpoint, the tiles and the new entries, and checks
 * with core/tlog/monitor.ts that the log is still an append-only extension of the last checkpoint it
 * verified, rebuilding the tree from the entries. Prints the new entries (or the watched ones) and
 * saves the checkpoint only when everything verified. Exit 1 with one line on any alarm.
 */
export async function runMonitor(o: MonitorOptions): Promise<number> {
  const state = readState(o.stateFile);
  const client = new LogClient(o.server);
  let keyText = o.keyText ?? state?.key;
  if (keyText === undefined) {
    keyText = (await client.text('key')).trim();
    o.out(`first run: trusting the key ${o.server} serves now, ${keyText} (pin it with --key next time)`);
  }
  if (state && state.key !== keyText) {
    throw new CliError(`ALARM log_key_changed: ${o.stateFile} follows the log signed by ${state.key}, not ${keyText}`, 1);
  }
  let verifier = verifierFrom(keyText);
  let previous = state ? trustedCheckpoint(state, verifier) : null;

  const signedCheckpoint = await client.text('checkpoint');
  const origin = state?.origin ?? originOf(signedCheckpoint);
  const wasAt = previous?.size ?? 0;
  // a checkpoint signed by another key is followed only through rotations the log itself announced
  if (!signedBy(signedCheckpoint, verifier, origin)) {
    ({ keyText, previous } = await followRotations(client, origin, keyText, previous, o));
    verifier = verifierFrom(keyText);
  }
  const start = previous?.size ?? 0;
  // the signature first: nothing is fetched on the word of an unsigned tree size
  const size = signedSize(signedCheckpoint, verifier, origin);
  try {
    const report = await checkLogUpdate({
      origin,
      verifiers: [verifier],
      previous,
      signedCheckpoint,
      hashes: new TileHashReader(size, client),
      entries: size >= start ? { start, bytes: await client.entries(start, size) } : undefined,
    });
    if (o.token !== undefined) await openBlinded(client, report.entries, o.token);
    const shown = report.entries.filter(({ entry }) => watched(entry, o.watch));
    for (const { index, entry } of shown) o.out(`#${index} ${describeEntry(entry)}`);
    // a rotation under a checkpoint the trusted key signed: its checkpoints are signed by both keys,
    // the next ones by the announced key only, so that is the key to trust from here on
    for (const { index, entry } of report.entries) {
      const r = announcedKey(entry);
      if (r && r.previousKey === keyText && index === report.checkpoint.size - 1) {
        o.out(`the log announced its next key at entry ${index}: now trusting ${r.key}`);
        keyText = r.key;
      }
    }
    writeState(o.stateFile, { key: keyText, origin, checkpoint: signedCheckpoint });
    const signer = report.note.verified.map((s) => `${s.name}+${formatKeyId(s.keyId)}`).join(', ');
    const watchedNote = o.watch.length > 0 ? `, ${shown.length} about ${o.watch.join(', ')}` : '';
    o.out(`log ${origin}: size ${report.checkpoint.size} (was ${wasAt}), ${report.checkpoint.size - wasAt} new entries${watchedNote}; consistent, signed by ${signer}`);
    return 0;
  } catch (e) {
    if (isProvenaError(e)) throw new CliError(`ALARM ${e.code}: ${e.detail}`, 1);
    throw e;
  }
}

/**
 * With a read key: asks the entries API for the opening of each blinded entry, checks it against the
 * commitment in the entry the monitor verified under the signed tree (not the API's copy), and shows
 * the opened entry instead. Entries of channels the key cannot read stay blinded; an opening that does
 * not match is an alarm (`opening_mismatch`, `opening_wrong_entry`, ...).
 */
async function openBlinded(client: LogClient, entries: { index: number; entry: LoggedEntry }[], token: string): Promise<void> {
  for (const item of entries) {
    if (!isBlinded(item.entry)) continue;
    const answer = (await client.json(`api/v1/log/entries/${item.index}`, token)) as { opening?: unknown } | null;
    if (answer?.opening === undefined) continue;
    item.entry = verifyOpening(item.entry, item.index, answer.opening);
  }
}

function signedBy(note: string, verifier: NoteVerifier, origin: string): boolean {
  try {
    openCheckpoint(note, [verifier], origin);
    return true;
  } catch {
    return false;
  }
}

/**
 * Walks the rotations the log announced, from the trusted key on (/log/keys lists them; nothing in it
 * is taken on trust): each rotation checkpoint must be signed by the key trusted so far and by the
 * next, extend the trusted checkpoint, and hold at its last index a `key_rotation` entry naming exactly
 * that next key. Returns the key and checkpoint to check the served checkpoint against.
 */
async function followRotations(client: LogClient, origin: string, keyText: string, previous: Checkpoint | null, o: MonitorOptions) {
  let doc: { rotations?: KeyRotationRecord[] };
  try {
    doc = JSON.parse(await client.text('keys')) as { rotations?: KeyRotationRecord[] };
  } catch {
    doc = {};
  }
  const rotations = Array.isArray(doc.rotations) ? doc.rotations : [];
  for (let hop = 0; hop <= rotations.length; hop++) {
    const r = rotations.find((x) => x && x.previous_key === keyText);
    if (!r) {
      if (hop === 0) return { keyText, previous }; // not a rotation: signedSize raises the alarm
      break;
    }
    try {
      const rotated = followRotation(keyText, origin, r);
      if (previous && previous.size > rotated.size) throw invalid('log_key_unannounced', `the monitor trusted size ${previous.size} signed by ${keyText}, past the rotation at size ${rotated.size} it never saw`);
      const start = Math.min(previous?.size ?? 0, r.index);
      const report = await checkLogUpdate({
        origin,
        verifiers: [noteVerifier(keyText)],
        previous,
        signedCheckpoint: r.checkpoint,
        hashes: new TileHashReader(rotated.size, client),
        entries: { start, bytes: await client.entries(start, rotated.size) },
      });
      const entry = report.entries.find((e) => e.index === r.index)?.entry;
      const announced = entry ? announcedKey(entry) : null;
      if (!announced || announced.key !== r.key || announced.previousKey !== keyText) {
        throw invalid('log_key_unannounced', `entry ${r.index} of the log is not a key_rotation from ${keyText} to ${r.key}`);
      }
      for (const { index, entry: e } of report.entries) if (index >= (previous?.size ?? 0) && watched(e, o.watch)) o.out(`#${index} ${describeEntry(e)}`);
      o.out(`the log rotated its key at entry ${r.index} (checkpoint ${rotated.size} signed by both): now trusting ${r.key}`);
      keyText = r.key;
      previous = rotated;
    } catch (e) {
      if (isProvenaError(e)) throw new CliError(`ALARM ${e.code}: ${e.detail}`, 1);
      throw e;
    }
    if (rotations.every((x) => x.previous_key !== keyText)) break;
  }
  return { keyText, previous };
}

/** `--key` takes the verifier key text (NAME+ID+BASE64) or a file that holds it. */
export function readKeyArg(value: string): string {
  if (fs.existsSync(value)) return fs.readFileSync(value, 'utf8').trim();
  return value.trim();
}

export function verifierFrom(text: string): NoteVerifier {
  try {
    return noteVerifier(text);
  } catch (e) {
    throw usageError(`--key is not a verifier key (NAME+KEYID+BASE64, as served at SERVER/log/key): ${isProvenaError(e) ? e.detail : String(e)}`);
  }
}

/** One line per entry: what happened to which file, by whom, when. */
export function describeEntry(e: LoggedEntry): string {
  // a private channel's entry: only what the public log says (blinding.ts)
  if (isBlinded(e)) return `${e.action} in a private channel (blinded, commitment ${e.commitment}) at ${e.time}`;
  const rotation = announcedKey(e);
  if (rotation) return `key_rotation of the log: next key ${rotation.key}, replacing ${rotation.previousKey}, at ${e.time}`;
  const what = e.filename === null ? e.channel : `${e.channel}/${e.subdir}/${e.filename}`;
  const digest = e.sha256 === null ? '' : ` sha256=${e.sha256} size=${e.size}`;
  const who = e.publisher === null ? 'unknown' : Object.entries(e.publisher).map(([k, v]) => (k === 'kind' ? v : `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)).join(' ');
  const attestation = e.attestation_sha256 === null ? '' : ` attestation=${e.attestation_sha256}`;
  return `${e.action} ${what}${digest}${attestation} by ${who} at ${e.time}`;
}

function watched(entry: LoggedEntry, names: readonly string[]): boolean {
  if (names.length === 0) return true;
  if (isBlinded(entry) || entry.filename === null) return false;
  try {
    return names.includes(parsePackageFilename(entry.filename).name);
  } catch {
    return false;
  }
}

function signedSize(note: string, verifier: NoteVerifier, origin: string): number {
  try {
    return openCheckpoint(note, [verifier], origin).checkpoint.size;
  } catch (e) {
    const detail = isProvenaError(e) ? e.detail : String(e);
    if (isProvenaError(e) && e.code === 'checkpoint_origin_mismatch') throw new CliError(`ALARM log_origin_mismatch: ${detail}`, 1);
    throw new CliError(`ALARM log_signature_invalid: the checkpoint served for ${origin} is not validly signed by the trusted key: ${detail}`, 1);
  }
}

/** The origin a first run pins: read from the note, whose signature is checked right after. */
function originOf(note: string): string {
  try {
    return parseCheckpoint(parseNote(note).text).origin;
  } catch (e) {
    throw new CliError(`ALARM log_signature_invalid: the server's checkpoint is not a signed checkpoint: ${isProvenaError(e) ? e.detail : String(e)}`, 1);
  }
}

function trustedCheckpoint(state: MonitorState, verifier: NoteVerifier): Checkpoint {
  try {
    return parseCheckpoint(openNote(state.checkpoint, [verifier]).text);
  } catch (e) {
    throw usageError(`the state file's checkpoint does not verify with its key: ${isProvenaError(e) ? e.detail : String(e)}; remove it to start over`);
  }
}

function readState(file: string): MonitorState | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw usageError(`cannot read the state file ${file}: ${(e as Error).message}`);
  }
  try {
    const s = JSON.parse(text) as MonitorState;
    if (typeof s.key !== 'string' || typeof s.origin !== 'string' || typeof s.checkpoint !== 'string') throw new Error('missing fields');
    return s;
  } catch (e) {
    throw usageError(`${file} is not a monitor state file (${(e as Error).message}); remove it to start over`);
  }
}

/** Replaced atomically, so an interrupted run leaves the last verified state, never half a file. */
function writeState(file: string, state: MonitorState): void {
  writeFileDurably(file, `${JSON.stringify(state, null, 2)}\n`, { how: 'replace' });
}
