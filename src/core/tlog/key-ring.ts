/**
 * Turns configured key texts into signers and verifiers, choosing plain note signatures or witness
 * cosignatures from the key's type byte, so config can list the log key and witness keys side by side.
 */
import { type SignerKey, type VerifierKey, KEY_TYPE_COSIGNATURE, parseSignerKey, parseVerifierKey } from './note-keys.ts';
import { type NoteSigner, type NoteVerifier, ed25519Signer, ed25519Verifier } from './note.ts';
import { cosignatureSigner, cosignatureVerifier } from './cosignature.ts';

export function noteVerifier(key: string | VerifierKey): NoteVerifier {
  const k = typeof key === 'string' ? parseVerifierKey(key) : key;
  return k.type === KEY_TYPE_COSIGNATURE ? cosignatureVerifier(k) : ed25519Verifier(k);
}

export function noteSigner(key: string | SignerKey, now?: () => number): NoteSigner {
  const k = typeof key === 'string' ? parseSignerKey(key) : key;
  return k.type === KEY_TYPE_COSIGNATURE ? cosignatureSigner(k, now) : ed25519Signer(k);
}
