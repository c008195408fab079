/**
 * Signed notes (c2sp.org/signed-note): text, a blank line, then `— <name> <base64(keyid ‖ sig)>` lines.
 * Opening follows the spec's trust rules: unknown keys are ignored, a failing known key rejects the
 * whole note, and no verified known signature means the text must not be used.
 */
import { sign as edSign, verify as edVerify } from 'node:crypto';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { type SignerKey, type VerifierKey, KEY_TYPE_ED25519, ed25519PublicKeyObject, formatKeyId, isValidKeyName } from './note-keys.ts';
import { invalid, unprocessable } from '../errors.ts';

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes that follow the 4-byte key id. */
  sign(text: Uint8Array): Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The signature bytes after the key id. */
  signature: Uint8Array;
}

export interface OpenedNote {
  text: string;
  verified: NoteSignature[];
  /** Signatures by keys the caller did not name (other witnesses, rotated keys): kept, not trusted. */
  unverified: NoteSignature[];
}

/** More signatures than any real note carries (the spec requires accepting at least 16). */
export const MAX_NOTE_SIGNATURES = 100;
const DASH = '\u2014 ';

export function ed25519Signer(key: SignerKey): NoteSigner {
  if (key.type !== KEY_TYPE_ED25519) throw invalid('note_key_invalid', `key ${key.name} is not a plain Ed25519 note key`);
  return { name: key.name, keyId: key.keyId, sign: (text) => new Uint8Array(edSign(null, text, key.privateKey)) };
}

export function ed25519Verifier(key: VerifierKey): NoteVerifier {
  if (key.type !== KEY_TYPE_ED25519) throw invalid('note_key_invalid', `key ${key.name} is not a plain Ed25519 note key`);
  const publicKey = ed25519PublicKeyObject(key.publicKey);
  return {
    name: key.name,
    keyId: key.keyId,
    verify: (text, signature) => signature.length === 64 && edVerify(null, text, publicKey, signature),
  };
}

/** Signs `text` (which must end in a newline), keeping any `existing` signatures first. */
export function signNote(text: string, signers: readonly NoteSigner[], existing: readonly NoteSignature[] = []): string {
  checkText(text, 'note text');
  if (!text.endsWith('\n')) throw invalid('note_malformed', 'note text must end with a newline');
  const bytes = new TextEncoder().encode(text);
  const lines = existing.map(signatureLine);
  for (const s of signers) {
    if (!isValidKeyName(s.name)) throw invalid('note_key_invalid', `signer name ${JSON.stringify(s.name)} is not a valid key name`);
    lines.push(signatureLine({ name: s.name, keyId: s.keyId, signature: s.sign(bytes) }));
  }
  if (lines.length === 0) throw invalid('note_malformed', 'a signed note needs at least one signature');
  return `${text}\n${lines.join('')}`;
}

/** Parses without verifying: for relaying or adding cosignatures, never for trusting the text. */
export function parseNote(note: string | Uint8Array): { text: string; signatures: NoteSignature[] } {
  const s = typeof note === 'string' ? note : decodeUtf8(note);
  checkText(s, 'signed note');
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line separates the text from the signatures');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw malformed('the signature lines must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => {
    if (!line.startsWith(DASH)) throw malformed(`signature line ${i + 1} does not start with an em dash and a space`);
    const rest = line.slice(DASH.length);
    const space = rest.indexOf(' ');
    const name = rest.slice(0, Math.max(space, 0));
    if (space < 0 || !isValidKeyName(name)) throw malformed(`signature line ${i + 1} has no valid key name`);
    const raw = decodeBase64(rest.slice(space + 1));
    if (raw === null || raw.length < 5) throw malformed(`signature line ${i + 1} (${name}) is not base64 of a key id and a signature`);
    const keyId = Buffer.from(raw.buffer, raw.byteOffset, 4).readUInt32BE(0);
    return { name, keyId, signature: raw.subarray(4) };
  });
  return { text, signatures };
}

export function openNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures } = parseNote(note);
  const bytes = new TextEncoder().encode(text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    const matches = verifiers.filter((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (matches.length > 1) throw invalid('note_verifier_ambiguous', `two trusted keys share name ${sig.name} and id ${formatKeyId(sig.keyId)}`);
    if (matches.length === 0) {
      unverified.push(sig);
      continue;
    }
    if (!matches[0].verify(bytes, sig.signature)) {
      throw unprocessable('note_signature_invalid', `the signature by ${sig.name}+${formatKeyId(sig.keyId)} does not verify: the note was altered or signed by another key`);
    }
    const key = `${sig.name}+${sig.keyId}`;
    if (!seen.has(key)) verified.push(sig);
    seen.add(key);
  }
  if (verified.length === 0) throw unprocessable('note_unverified', noTrustedSignature(signatures, verifiers));
  return { text, verified, unverified };
}

export function signatureLine(sig: NoteSignature): string {
  const raw = new Uint8Array(4 + sig.signature.length);
  new DataView(raw.buffer).setUint32(0, sig.keyId);
  raw.set(sig.signature, 4);
  return `${DASH}${sig.name} ${encodeBase64(raw)}\n`;
}

function noTrustedSignature(signatures: readonly NoteSignature[], verifiers: readonly NoteVerifier[]): string {
  // Say why: a signature under a trusted name with another id usually means the log rotated its key.
  for (const sig of signatures) {
    const sameName = verifiers.find((v) => v.name === sig.name);
    if (sameName) {
      return `the note is signed by ${sig.name} with key id ${formatKeyId(sig.keyId)}, but the trusted key ${sig.name} has id ${formatKeyId(sameName.keyId)}`;
    }
  }
  const names = signatures.map((s) => `${s.name}+${formatKeyId(s.keyId)}`).join(', ');
  const trusted = verifiers.map((v) => `${v.name}+${formatKeyId(v.keyId)}`).join(', ') || 'none';
  return `no signature by a trusted key (signed by ${names}; trusted: ${trusted})`;
}

function checkText(s: string, what: string): void {
  // Control characters other than newline, and lone surrogates (not valid UTF-8), are forbidden.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(s)) throw malformed(`${what} contains a control character`);
  if (/\p{Cs}/u.test(s)) throw malformed(`${what} is not valid UTF-8`);
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw malformed('the signed note is not valid UTF-8');
  }
}

function malformed(detail: string) {
  return invalid('note_malformed', `malformed signed note: ${detail}`);
}
