/**
 * The decision behind `provena log monitor`: given the last checkpoint we trusted and what the server
 * serves now, is the log still the same append-only log? Each way it can fail has its own code, since
 * each means something different to whoever is paged:
 *
 * - `log_signature_invalid`: the new checkpoint is not signed by the log's key (or is not a note);
 * - `log_fork`: the signed tree is not an extension of the one we trusted (shrank, or no valid proof);
 * - `log_entry_rewritten`: the entries served are not the entries the signed tree commits to;
 * - `log_tiles_invalid`: the tiles served do not add up to the signed root;
 * - `log_entry_invalid`: an entry is logged that is not a canonical Provena log entry.
 */
import { type Hash, emptyRoot, hashEquals, hashToHex, leafHash } from './hashing.ts';
import { type Checkpoint, openCheckpoint } from './checkpoint.ts';
import type { NoteVerifier, OpenedNote } from './note.ts';
import { type HashReader, treeRoot } from './stored-hashes.ts';
import { consistencyProof, verifyConsistency } from './consistency.ts';
import { inclusionProof, verifyInclusion } from './inclusion.ts';
import { TreeAppender } from './tree-appender.ts';
import { type LoggedEntry, parseEntry } from './entry.ts';
import { ProvenaError, invalid, isProvenaError } from '../errors.ts';

export interface LogUpdate {
  origin: string;
  /** the log's key, plus any witness keys the monitor requires */
  verifiers: readonly NoteVerifier[];
  /** the last checkpoint this monitor verified, or null on first run */
  previous: Checkpoint | null;
  signedCheckpoint: string | Uint8Array;
  /** a consistency proof from the previous size, as served by the proof API */
  consistencyProof?: readonly Hash[];
  /** stored hashes of the new tree, usually a TileHashReader over the served tiles */
  hashes?: HashReader;
  /** entries starting at index `start`, as served in entry bundles */
  entries?: { start: number; bytes: readonly Uint8Array[] };
}

export interface LogUpdateReport {
  checkpoint: Checkpoint;
  note: OpenedNote;
  /** blinded entries (private channels) are valid entries: they carry action, time and commitment */
  entries: { index: number; entry: LoggedEntry }[];
}

export async function checkLogUpdate(update: LogUpdate): Promise<LogUpdateReport> {
  const { checkpoint, note } = openSigned(update);
  if (update.hashes) await checkTilesAddUp(checkpoint, update.hashes);
  if (update.previous) await checkAppendOnly(update.previous, checkpoint, update);
  const entries = update.entries ? await checkEntries(checkpoint, update.previous, update.entries, update.hashes) : [];
  return { checkpoint, note, entries };
}

function openSigned(update: LogUpdate) {
  if (update.previous && update.previous.origin !== update.origin) {
    throw invalid('log_monitor_misconfigured', `the previous checkpoint is for ${update.previous.origin}, not ${update.origin}`);
  }
  try {
    return openCheckpoint(update.signedCheckpoint, update.verifiers, update.origin);
  } catch (e) {
    if (isProvenaError(e) && e.code === 'checkpoint_origin_mismatch') throw alarm('log_origin_mismatch', e.detail, e);
    throw alarm('log_signature_invalid', `the checkpoint served for ${update.origin} is not validly signed by a trusted key: ${detailOf(e)}`, e);
  }
}

async function checkTilesAddUp(checkpoint: Checkpoint, hashes: HashReader): Promise<void> {
  const root = await treeRoot(checkpoint.size, hashes);
  if (!hashEquals(root, checkpoint.root)) {
    throw alarm('log_tiles_invalid', `the tiles served for size ${checkpoint.size} hash to ${hashToHex(root)}, but the signed root is ${hashToHex(checkpoint.root)}`);
  }
}

async function checkAppendOnly(previous: Checkpoint, next: Checkpoint, update: LogUpdate): Promise<void> {
  const fork = (why: string, cause?: unknown) =>
    alarm('log_fork', `${next.origin} at size ${next.size} is not an extension of the checkpoint at size ${previous.size} we trusted: ${why}`, cause);
  if (next.size < previous.size) throw fork('the log shrank');
  if (next.size === previous.size) {
    if (!hashEquals(next.root, previous.root)) throw fork('two different roots were signed for the same size');
    return;
  }
  // From the empty tree every tree is an extension; there is nothing to prove.
  if (previous.size === 0) {
    if (!hashEquals(previous.root, emptyRoot())) throw fork('the trusted size-0 checkpoint does not have the empty root');
    return;
  }
  let proof = update.consistencyProof;
  if (proof === undefined) {
    if (!update.hashes) throw invalid('log_proof_missing', 'checking a grown log needs a consistency proof or the tiles');
    proof = await consistencyProof(previous.size, next.size, update.hashes);
  }
  try {
    verifyConsistency(previous.size, next.size, previous.root, next.root, proof);
  } catch (e) {
    throw fork(detailOf(e), e);
  }
}

async function checkEntries(checkpoint: Checkpoint, previous: Checkpoint | null, served: NonNullable<LogUpdate['entries']>, hashes?: HashReader) {
  const { start, bytes } = served;
  const end = start + bytes.length;
  if (!Number.isSafeInteger(start) || start < 0 || end > checkpoint.size) {
    throw invalid('log_monitor_misconfigured', `entries ${start}..${end} are not inside the tree of size ${checkpoint.size}`);
  }
  const leaves = bytes.map((b) => leafHash(b));
  const resumesTrusted = start === 0 || (hashes !== undefined && previous !== null && previous.size === start);
  if (end === checkpoint.size && resumesTrusted) {
    // Rebuild the tree edge from a point we trust and require the signed root: no per-entry proofs.
    const appender = start === 0 ? TreeAppender.empty() : await TreeAppender.open(start, hashes!);
    if (previous !== null && start === previous.size && !hashEquals(appender.root(), previous.root)) {
      throw alarm('log_tiles_invalid', `the tiles served do not rebuild the trusted root of size ${start}`);
    }
    for (const leaf of leaves) appender.appendLeafHash(leaf);
    if (!hashEquals(appender.root(), checkpoint.root)) {
      const first = hashes ? await firstDifferingLeaf(start, leaves, hashes) : null;
      throw alarm('log_entry_rewritten', `entries ${start}..${end - 1} do not hash to the signed root of size ${checkpoint.size}${first === null ? '' : `; the first that differs from the tiles is entry ${first}`}`);
    }
  } else {
    if (!hashes) throw invalid('log_proof_missing', 'checking entries that do not run from a trusted size to the new size needs the tiles');
    for (const [i, leaf] of leaves.entries()) {
      try {
        verifyInclusion(start + i, checkpoint.size, leaf, await inclusionProof(start + i, checkpoint.size, hashes), checkpoint.root);
      } catch (e) {
        throw alarm('log_entry_rewritten', `entry ${start + i} served is not the entry the signed tree of size ${checkpoint.size} holds`, e);
      }
    }
  }
  return bytes.map((b, i) => {
    try {
      return { index: start + i, entry: parseEntry(b) };
    } catch (e) {
      throw alarm('log_entry_invalid', `entry ${start + i} is logged but is not a valid log entry: ${detailOf(e)}`, e);
    }
  });
}

async function firstDifferingLeaf(start: number, leaves: readonly Hash[], hashes: HashReader): Promise<number | null> {
  const stored = await hashes.readHashes(leaves.map((_, i) => ({ level: 0, index: start + i })));
  const i = leaves.findIndex((leaf, j) => !hashEquals(leaf, stored[j]));
  return i < 0 ? null : start + i;
}

function alarm(code: string, detail: string, cause?: unknown): ProvenaError {
  return new ProvenaError(code, 'unprocessable', detail, { cause });
}

function detailOf(e: unknown): string {
  return isProvenaError(e) ? e.detail : String(e);
}
