/**
 * Checkpoints (c2sp.org/tlog-checkpoint): `<origin>\n<size>\n<base64 root>\n` plus optional extension
 * lines, carried as a signed note. Parsing is strict because witnesses and monitors compare these
 * texts byte for byte: one text, one meaning.
 */
import { type Hash, HASH_SIZE, hashToBase64 } from './hashing.ts';
import { decodeBase64 } from './base64.ts';
import { type NoteSigner, type NoteVerifier, type OpenedNote, openNote, signNote } from './note.ts';
import { invalid, unprocessable } from '../errors.ts';

export interface Checkpoint {
  /** The log's identity, e.g. `provena.example.com/log`. */
  origin: string;
  size: number;
  root: Hash;
  /** Opaque extra lines; NOT RECOMMENDED by the spec, kept only so we round-trip others' checkpoints. */
  extensions: string[];
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  note: OpenedNote;
}

export function formatCheckpoint(c: Checkpoint): string {
  const bad = (why: string) => invalid('checkpoint_malformed', `cannot format checkpoint: ${why}`);
  if (c.origin.length === 0 || c.origin.includes('\n')) throw bad('the origin must be one non-empty line');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw bad(`tree size ${c.size} is not a non-negative integer`);
  if (c.root.length !== HASH_SIZE) throw bad(`the root hash has ${c.root.length} bytes, not ${HASH_SIZE}`);
  for (const e of c.extensions) if (e.length === 0 || e.includes('\n')) throw bad('extension lines must be non-empty single lines');
  return [c.origin, String(c.size), hashToBase64(c.root), ...c.extensions].map((l) => `${l}\n`).join('');
}

export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string) => invalid('checkpoint_malformed', `malformed checkpoint: ${why}`);
  if (!text.endsWith('\n')) throw bad('the text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad(`it has ${lines.length} lines, at least 3 are needed (origin, size, root hash)`);
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin.length === 0) throw bad('the origin line is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) throw bad(`tree size ${JSON.stringify(sizeLine)} is not a decimal without leading zeros`);
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw bad(`tree size ${sizeLine} is too large`);
  const root = decodeBase64(rootLine);
  if (root === null || root.length !== HASH_SIZE) throw bad(`root hash ${JSON.stringify(rootLine)} is not base64 of ${HASH_SIZE} bytes`);
  if (extensions.some((e) => e.length === 0)) throw bad('extension lines must not be empty');
  return { origin, size, root, extensions };
}

export function signCheckpoint(c: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpoint(c), signers);
}

/**
 * Verifies the note with the trusted keys, then parses it. `origin` pins the log identity so a valid
 * checkpoint of another log (signed by a shared key) is not taken for this one.
 */
export function openCheckpoint(note: string | Uint8Array, verifiers: readonly NoteVerifier[], origin?: string): SignedCheckpoint {
  const opened = openNote(note, verifiers);
  const checkpoint = parseCheckpoint(opened.text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw unprocessable('checkpoint_origin_mismatch', `checkpoint is for log ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(origin)}`);
  }
  return { checkpoint, note: opened };
}
