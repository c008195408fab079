/**
 * Witness cosignatures (c2sp.org/tlog-cosignature, Ed25519, key type 0x04): a witness signs
 * `cosignature/v1\ntime <ts>\n` + the checkpoint body, and the note signature is timestamp ‖ signature.
 * They plug into openNote as ordinary verifiers, so a checkpoint can be checked against the log key and
 * a quorum of witnesses in one pass.
 */
import { sign as edSign, verify as edVerify } from 'node:crypto';
import { type SignerKey, type VerifierKey, KEY_TYPE_COSIGNATURE, ed25519PublicKeyObject } from './note-keys.ts';
import type { NoteSignature, NoteSigner, NoteVerifier } from './note.ts';
import { parseCheckpoint } from './checkpoint.ts';
import { invalid } from '../errors.ts';

const HEADER = 'cosignature/v1\n';
/** The spec caps timestamps at 2^63 − 1; we also need them exact as JS numbers. */
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;

/** The exact bytes a witness signs for `checkpointText` at `timestamp` (POSIX seconds). */
export function cosignatureMessage(checkpointText: string, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0 || timestamp > MAX_TIMESTAMP) {
    throw invalid('cosignature_invalid', `cosignature timestamp ${timestamp} is not a non-negative integer`);
  }
  return new TextEncoder().encode(`${HEADER}time ${timestamp}\n${checkpointText}`);
}

/** A signer for a witness; `now` returns POSIX seconds (injected so tests and replays are exact). */
export function cosignatureSigner(key: SignerKey, now: () => number = () => Math.floor(Date.now() / 1000)): NoteSigner {
  requireCosignatureKey(key);
  return {
    name: key.name,
    keyId: key.keyId,
    sign(text) {
      const body = new TextDecoder().decode(text);
      // Witnesses only vouch for checkpoints; refuse to sign anything else under this key.
      parseCheckpoint(body);
      const timestamp = now();
      const sig = edSign(null, cosignatureMessage(body, timestamp), key.privateKey);
      const out = new Uint8Array(8 + sig.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(timestamp));
      out.set(sig, 8);
      return out;
    },
  };
}

export function cosignatureVerifier(key: VerifierKey): NoteVerifier {
  requireCosignatureKey(key);
  const publicKey = ed25519PublicKeyObject(key.publicKey);
  return {
    name: key.name,
    keyId: key.keyId,
    verify(text, signature) {
      if (signature.length !== 8 + 64) return false;
      const timestamp = readTimestamp(signature);
      if (timestamp === null) return false;
      const message = cosignatureMessage(new TextDecoder().decode(text), timestamp);
      return edVerify(null, message, publicKey, signature.subarray(8));
    },
  };
}

/** When the witness says it cosigned (POSIX seconds); check the signature verified first. */
export function cosignatureTimestamp(sig: NoteSignature): number {
  const timestamp = sig.signature.length === 72 ? readTimestamp(sig.signature) : null;
  if (timestamp === null) {
    throw invalid('cosignature_invalid', `signature by ${sig.name} is not a timestamped Ed25519 cosignature`);
  }
  return timestamp;
}

function readTimestamp(signature: Uint8Array): number | null {
  const t = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
  return t > BigInt(MAX_TIMESTAMP) ? null : Number(t);
}

function requireCosignatureKey(key: VerifierKey): void {
  if (key.type !== KEY_TYPE_COSIGNATURE) {
    throw invalid('note_key_invalid', `key ${key.name} has type 0x0${key.type}, witness cosignatures use type 0x04`);
  }
}
