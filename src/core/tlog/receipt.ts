/**
 * The receipt an upload gets: the logged entry, a signed checkpoint that covers it, and the
 * inclusion proof between them. It is self-contained, so anyone with the log's public key can check
 * offline that the server committed, under signature, to having published exactly this.
 */
import { decodeBase64, encodeBase64 } from './base64.ts';
import { type Checkpoint, openCheckpoint, parseCheckpoint } from './checkpoint.ts';
import { type Opening, openingOf, verifyOpening } from './blinding.ts';
import { type LoggedEntry, isBlinded, parseEntry } from './entry.ts';
import { hashEquals, leafHash } from './hashing.ts';
import { inclusionProof, verifyInclusion } from './inclusion.ts';
import { inconsistent } from './batch-check.ts';
import type { LogRepo, PublishedCheckpoint } from './log-repo.ts';
import { type NoteSignature, type NoteVerifier, parseNote } from './note.ts';
import { invalid, unprocessable } from '../errors.ts';

export interface Receipt {
  log_index: number;
  /** base64 of the exact logged bytes (canonical JSON) */
  entry: string;
  /** the signed checkpoint note, as served at /log/checkpoint */
  checkpoint: string;
  /** RFC 9162 inclusion proof, leaf side first, base64 hashes */
  inclusion_proof: string[];
  /**
   * For a blinded entry (a private channel's), its opening: only in receipts given to readers of the
   * channel (the upload response, FILE.receipt.json, the entries API with read access).
   */
  opening?: Opening;
}

export interface VerifiedReceipt {
  index: number;
  /** the full entry: as logged, or as the receipt's opening revealed it; blinded when there was no opening */
  entry: LoggedEntry;
  /** the entry exactly as logged (blinded for a private channel) */
  logged: LoggedEntry;
  /** true when the entry was blinded and the receipt's opening matched its commitment */
  opened: boolean;
  entryBytes: Uint8Array;
  checkpoint: Checkpoint;
  /** signatures checked against the keys given; null when no key was given */
  verifiedBy: NoteSignature[] | null;
  /** signatures by keys not given (all of them when no key was given) */
  otherSignatures: NoteSignature[];
}

/**
 * Builds the receipt for entry `index` under `checkpoint`, and checks it before it leaves the server.
 * `withOpening`: the caller has checked that the receipt goes to a reader of the entry's channel.
 */
export async function buildReceipt(repo: LogRepo, index: number, checkpoint: PublishedCheckpoint, withOpening = false): Promise<Receipt> {
  const [entry] = await repo.entries(index, index + 1);
  const [stored] = await repo.readHashes([{ level: 0, index }]);
  const leaf = leafHash(entry);
  if (!hashEquals(leaf, stored)) throw inconsistent(`entry ${index} does not hash to its stored leaf`);
  const proof = await inclusionProof(index, checkpoint.size, repo);
  verifyInclusion(index, checkpoint.size, leaf, proof, checkpoint.root);
  const receipt: Receipt = {
    log_index: index,
    entry: encodeBase64(entry),
    checkpoint: checkpoint.note,
    inclusion_proof: proof.map(encodeBase64),
  };
  if (withOpening) {
    const stored = (await repo.openings(index, index + 1)).get(index);
    if (stored !== undefined) {
      receipt.opening = openingOf(index, stored);
      verifyOpening(parseEntry(entry), index, receipt.opening);
    }
  }
  return receipt;
}

/** The opening of entry `index`, when it is blinded; the caller decides who may have it. */
export async function readOpening(repo: LogRepo, index: number): Promise<{ channel: string; opening: Opening } | null> {
  const stored = (await repo.openings(index, index + 1)).get(index);
  return stored === undefined ? null : { channel: stored.channel, opening: openingOf(index, stored) };
}

/**
 * Checks a receipt: shape, entry, inclusion in the checkpoint's tree, and the checkpoint's signature
 * by one of `verifiers`. With `verifiers` null the signature is not checked (the caller must say so).
 */
export function verifyReceipt(receipt: unknown, verifiers: readonly NoteVerifier[] | null, origin?: string): VerifiedReceipt {
  const r = receiptShape(receipt);
  const entryBytes = decodeBase64(r.entry);
  if (entryBytes === null) throw malformed('"entry" is not canonical base64');
  const proof = r.inclusion_proof.map((p, i) => {
    const h = decodeBase64(p);
    if (h === null) throw malformed(`inclusion_proof[${i}] is not canonical base64`);
    return h;
  });
  let checkpoint: Checkpoint;
  let verifiedBy: NoteSignature[] | null = null;
  let otherSignatures: NoteSignature[];
  if (verifiers === null) {
    const note = parseNote(r.checkpoint);
    checkpoint = parseCheckpoint(note.text);
    otherSignatures = note.signatures;
  } else {
    const opened = openCheckpoint(r.checkpoint, verifiers, origin);
    checkpoint = opened.checkpoint;
    verifiedBy = opened.note.verified;
    otherSignatures = opened.note.unverified;
  }
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw unprocessable('checkpoint_origin_mismatch', `the receipt's checkpoint is for log ${JSON.stringify(checkpoint.origin)}, expected ${JSON.stringify(origin)}`);
  }
  if (r.log_index >= checkpoint.size) {
    throw unprocessable('receipt_not_covered', `entry ${r.log_index} is not in the checkpoint's tree of size ${checkpoint.size}`);
  }
  verifyInclusion(r.log_index, checkpoint.size, leafHash(entryBytes), proof, checkpoint.root);
  // Last: the proof says these bytes were logged; parsing says they are a well-formed Provena entry.
  const logged = parseEntry(entryBytes);
  // A blinded entry's opening must hash to its commitment; an opening for a clear entry is refused.
  const entry = r.opening === undefined ? logged : verifyOpening(logged, r.log_index, r.opening);
  return { index: r.log_index, entry, logged, opened: isBlinded(logged) && r.opening !== undefined, entryBytes, checkpoint, verifiedBy, otherSignatures };
}

function receiptShape(v: unknown): Receipt {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed('a receipt is a JSON object');
  const r = v as Record<string, unknown>;
  if (!Number.isSafeInteger(r.log_index) || (r.log_index as number) < 0) throw malformed('"log_index" must be a non-negative integer');
  if (typeof r.entry !== 'string') throw malformed('"entry" must be a base64 string');
  if (typeof r.checkpoint !== 'string') throw malformed('"checkpoint" must be the signed checkpoint text');
  if (!Array.isArray(r.inclusion_proof) || r.inclusion_proof.some((p) => typeof p !== 'string')) {
    throw malformed('"inclusion_proof" must be an array of base64 strings');
  }
  // `opening` is checked by verifyOpening, after the inclusion proof
  if ('opening' in r && r.opening === undefined) throw malformed('"opening" must be an opening object');
  return r as unknown as Receipt;
}

function malformed(why: string) {
  return invalid('receipt_malformed', `malformed receipt: ${why}`);
}
