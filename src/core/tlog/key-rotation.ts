/**
 * Rotating the log's signing key without breaking anyone's trust in the log.
 *
 * The rotation appends a `key_rotation` entry naming the next verifier key and signs the checkpoint
 * that covers it with BOTH keys: a monitor that trusts the old key verifies that checkpoint as always
 * (unknown signatures are ignored) and learns the next key from an entry the old key signed; the
 * server, restarted with the next key, resumes from a checkpoint its own key signed. From then on only
 * the next key signs. Checkpoints from before stay verifiable with the old verifier key, which is kept
 * in the key history (`log/keys.json` in the blob store, served at /log/keys) with the size range it
 * signed and the rotation checkpoint.
 *
 * A key that no logged rotation announces is never followed: `followRotation` requires the rotation
 * checkpoint to verify with the key already trusted and with the announced key, and the monitor then
 * requires the entry to be in that checkpoint's tree (monitor side: adapters/cli/log-monitor.ts).
 */
import { type Checkpoint, openCheckpoint } from './checkpoint.ts';
import { type LogEntry, announcedKey } from './entry.ts';
import { type Receipt, verifyReceipt } from './receipt.ts';
import { noteVerifier } from './key-ring.ts';
import { invalid } from '../errors.ts';

/** The part of the blob store the key history needs. */
export interface KeyHistoryBlobs {
  open(key: string): Promise<{ stream(): AsyncIterable<unknown> } | null>;
  putBytes(key: string, bytes: Uint8Array): Promise<void>;
}

export async function readKeyHistory(blobs: KeyHistoryBlobs): Promise<KeyHistory | null> {
  const handle = await blobs.open(KEY_HISTORY_KEY);
  if (!handle) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of handle.stream()) chunks.push(chunk as Buffer);
  return parseKeyHistory(Buffer.concat(chunks).toString('utf8'));
}

/** Where the history is kept in the blob store, next to `log/checkpoint`. */
export const KEY_HISTORY_KEY = 'log/keys.json';

export interface KeyRotationRecord {
  /** the index of the `key_rotation` entry; the rotation checkpoint has size index + 1 */
  index: number;
  previous_key: string;
  key: string;
  /** the checkpoint covering the entry, signed by both keys */
  checkpoint: string;
  /** the entry's receipt under that checkpoint: lets a verifier follow the rotation offline */
  receipt: Receipt;
}

export interface KeyHistory {
  origin: string;
  rotations: KeyRotationRecord[];
}

/** What /log/keys serves: every key with the tree sizes it signed, newest last. */
export interface KeysDocument {
  origin: string;
  current: string;
  keys: { key: string; from_size: number; until_size: number | null }[];
  rotations: KeyRotationRecord[];
}

export function keyRotationEntry(previousKey: string, key: string, at: Date): LogEntry {
  return {
    action: 'key_rotation',
    channel: null,
    subdir: null,
    filename: null,
    sha256: null,
    size: null,
    attestation_sha256: null,
    publisher: { kind: 'log_key', key, previous_key: previousKey },
    time: at.toISOString(),
  };
}

export function keysDocument(origin: string, current: string, history: KeyHistory | null): KeysDocument {
  const rotations = history?.rotations ?? [];
  const keys: KeysDocument['keys'] = [];
  let from = 0;
  for (const r of rotations) {
    keys.push({ key: r.previous_key, from_size: from, until_size: r.index + 1 });
    from = r.index + 1;
  }
  keys.push({ key: current, from_size: from, until_size: null });
  return { origin, current, keys, rotations };
}

export function parseKeyHistory(text: string): KeyHistory {
  let h: KeyHistory;
  try {
    h = JSON.parse(text) as KeyHistory;
  } catch {
    throw invalid('key_history_invalid', 'the log key history is not JSON');
  }
  const ok =
    typeof h === 'object' &&
    h !== null &&
    typeof h.origin === 'string' &&
    Array.isArray(h.rotations) &&
    h.rotations.every(
      (r) =>
        Number.isSafeInteger(r.index) &&
        r.index >= 0 &&
        typeof r.key === 'string' &&
        typeof r.previous_key === 'string' &&
        typeof r.checkpoint === 'string' &&
        typeof r.receipt === 'object' &&
        r.receipt !== null,
    );
  if (!ok) throw invalid('key_history_invalid', 'the log key history is not {origin, rotations: [{index, previous_key, key, checkpoint}]}');
  return h;
}

/**
 * The rotation away from `trustedKey`, checked as far as signatures go: its checkpoint must be signed
 * by the trusted key AND by the key it announces, for this origin, and cover the entry's index. The
 * caller still has to prove the entry is in that tree and says what the record says.
 */
export function followRotation(trustedKey: string, origin: string, r: KeyRotationRecord): Checkpoint {
  const fail = (why: string) => invalid('log_key_unannounced', `the rotation from ${trustedKey} to ${r.key} ${why}`);
  if (r.previous_key !== trustedKey) throw fail('does not start from the trusted key');
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(r.checkpoint, [noteVerifier(trustedKey)], origin).checkpoint;
  } catch (e) {
    throw fail(`has a checkpoint the trusted key did not sign: ${(e as { detail?: string }).detail ?? String(e)}`);
  }
  try {
    openCheckpoint(r.checkpoint, [noteVerifier(r.key)], origin);
  } catch {
    throw fail('has a checkpoint the announced key did not sign');
  }
  if (checkpoint.size !== r.index + 1) throw fail(`names entry ${r.index} but its checkpoint has size ${checkpoint.size}`);
  return checkpoint;
}

/**
 * The keys trusted after following every rotation from `trustedKey`, each proved by its receipt: the
 * rotation entry is in a tree the key trusted so far signed, and that checkpoint is signed by the next
 * key too. For checking notes signed after rotations (`provena log verify-receipt --keys`).
 */
export function keysFollowed(trustedKey: string, origin: string | undefined, rotations: readonly KeyRotationRecord[]): string[] {
  const keys = [trustedKey];
  for (let hop = 0; hop < rotations.length; hop++) {
    const current = keys[keys.length - 1]!;
    const r = rotations.find((x) => x.previous_key === current);
    if (!r) break;
    let verified;
    try {
      verified = verifyReceipt(r.receipt, [noteVerifier(current)], origin);
    } catch (e) {
      throw invalid('log_key_unannounced', `the rotation from ${current} to ${r.key} has no receipt the trusted key signed: ${(e as { detail?: string }).detail ?? String(e)}`);
    }
    const announced = announcedKey(verified.entry);
    if (!announced || announced.key !== r.key || announced.previousKey !== current || verified.index !== r.index) {
      throw invalid('log_key_unannounced', `entry ${verified.index} is not a key_rotation from ${current} to ${r.key}`);
    }
    try {
      openCheckpoint(r.receipt.checkpoint, [noteVerifier(r.key)], origin);
    } catch {
      throw invalid('log_key_unannounced', `the rotation checkpoint is not signed by the announced key ${r.key}`);
    }
    if (keys.includes(r.key)) break;
    keys.push(r.key);
  }
  return keys;
}
