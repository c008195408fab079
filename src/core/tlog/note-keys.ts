/**
 * Key texts for signed notes (c2sp.org/signed-note §Verifier keys; the signer form is Go's
 * golang.org/x/mod/sumdb/note). Operators paste these into config, so parsing is strict and every
 * error says which part is wrong.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { invalid } from '../errors.ts';

/** Signature type bytes from c2sp.org/signed-note: plain Ed25519, and Ed25519 witness cosignatures. */
export const KEY_TYPE_ED25519 = 0x01;
export const KEY_TYPE_COSIGNATURE = 0x04;
export type NoteKeyType = typeof KEY_TYPE_ED25519 | typeof KEY_TYPE_COSIGNATURE;

export interface VerifierKey {
  name: string;
  keyId: number;
  type: NoteKeyType;
  /** 32-byte Ed25519 public key */
  publicKey: Uint8Array;
}

export interface SignerKey extends VerifierKey {
  /** 32-byte Ed25519 seed (RFC 8032 private key) */
  seed: Uint8Array;
  privateKey: KeyObject;
}

const SIGNER_PREFIX = 'PRIVATE+KEY+';
// DER prefixes that wrap a raw 32-byte Ed25519 seed / public key, so node:crypto can import them.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** Key names: non-empty, no Unicode spaces, no '+' (it separates the parts of key texts). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s\u0085+]/u.test(name) && !/[\u0000-\u001f\p{Cs}]/u.test(name);
}

/** key ID = SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4], big-endian. */
export function keyId(name: string, type: number, publicKey: Uint8Array): number {
  const digest = createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, type)).update(publicKey).digest();
  return digest.readUInt32BE(0);
}

export function formatKeyId(id: number): string {
  return id.toString(16).padStart(8, '0');
}

export function formatVerifierKey(key: Pick<VerifierKey, 'name' | 'type' | 'publicKey'>): string {
  const id = keyId(key.name, key.type, key.publicKey);
  return `${key.name}+${formatKeyId(id)}+${encodeBase64(concat(key.type, key.publicKey))}`;
}

export function parseVerifierKey(text: string): VerifierKey {
  const { name, id, type, material } = splitKeyText(text, 'verifier key', 'note_key_invalid');
  const key: VerifierKey = { name, keyId: id, type, publicKey: material };
  checkId(key, text);
  return key;
}

export function formatSignerKey(key: Pick<SignerKey, 'name' | 'type' | 'seed'>): string {
  const publicKey = ed25519PublicFromSeed(key.seed);
  const id = keyId(key.name, key.type, publicKey);
  return `${SIGNER_PREFIX}${key.name}+${formatKeyId(id)}+${encodeBase64(concat(key.type, key.seed))}`;
}

export function parseSignerKey(text: string): SignerKey {
  // Never echo a signer key into an error: it is a secret.
  if (!text.startsWith(SIGNER_PREFIX)) throw invalid('note_key_invalid', 'signer key must start with PRIVATE+KEY+');
  const { name, id, type, material } = splitKeyText(text.slice(SIGNER_PREFIX.length), 'signer key', 'note_key_invalid', true);
  const key = signerKeyFromSeed(name, type, material);
  if (key.keyId !== id) {
    throw invalid('note_key_invalid', `signer key for ${name} says key id ${formatKeyId(id)} but its key has id ${formatKeyId(key.keyId)}`);
  }
  return key;
}

export function signerKeyFromSeed(name: string, type: NoteKeyType, seed: Uint8Array): SignerKey {
  if (!isValidKeyName(name)) throw invalid('note_key_invalid', `key name ${JSON.stringify(name)} is empty or has spaces or '+'`);
  if (seed.length !== 32) throw invalid('note_key_invalid', `an Ed25519 seed is 32 bytes, got ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = ed25519PublicFromSeed(seed);
  return { name, type, seed: new Uint8Array(seed), privateKey, publicKey, keyId: keyId(name, type, publicKey) };
}

/** A signer key from an Ed25519 KeyObject (e.g. one loaded from the data directory as PEM). */
export function signerKeyFromPrivateKey(name: string, type: NoteKeyType, privateKey: KeyObject): SignerKey {
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw invalid('note_key_invalid', `note keys are Ed25519, got ${privateKey.asymmetricKeyType ?? privateKey.type}`);
  }
  const d = privateKey.export({ format: 'jwk' }).d;
  return signerKeyFromSeed(name, type, new Uint8Array(Buffer.from(d ?? '', 'base64url')));
}

export function generateSignerKey(name: string, type: NoteKeyType = KEY_TYPE_ED25519): SignerKey {
  return signerKeyFromSeed(name, type, new Uint8Array(randomBytes(32)));
}

export function verifierKeyOf(key: SignerKey): VerifierKey {
  return { name: key.name, keyId: key.keyId, type: key.type, publicKey: key.publicKey };
}

export function ed25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' });
}

function ed25519PublicFromSeed(seed: Uint8Array): Uint8Array {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_ED25519.length));
}

function splitKeyText(text: string, what: string, code: string, secret = false) {
  const shown = secret ? what : `${what} ${JSON.stringify(text)}`;
  // The base64 part may itself contain '+', so only the first two '+' separate fields.
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (second < 0) throw invalid(code, `${shown} must be name+keyid+base64`);
  const name = text.slice(0, first);
  const hex = text.slice(first + 1, second);
  if (!isValidKeyName(name)) throw invalid(code, `${shown}: key name is empty or has spaces or '+'`);
  if (!/^[0-9a-f]{8}$/.test(hex)) throw invalid(code, `${shown}: key id must be 8 lowercase hex digits`);
  const data = decodeBase64(text.slice(second + 1));
  if (data === null || data.length === 0) throw invalid(code, `${shown}: key data is not canonical base64`);
  const type = data[0];
  if (type !== KEY_TYPE_ED25519 && type !== KEY_TYPE_COSIGNATURE) {
    throw invalid(code, `${shown}: key type 0x${type.toString(16).padStart(2, '0')} is not supported (0x01 Ed25519, 0x04 cosignature)`);
  }
  const material = data.subarray(1);
  if (material.length !== 32) throw invalid(code, `${shown}: an Ed25519 key is 32 bytes, got ${material.length}`);
  return { name, id: Number.parseInt(hex, 16), type: type as NoteKeyType, material: new Uint8Array(material) };
}

function checkId(key: VerifierKey, text: string): void {
  const want = keyId(key.name, key.type, key.publicKey);
  if (want !== key.keyId) {
    throw invalid('note_key_invalid', `verifier key ${JSON.stringify(text)} says key id ${formatKeyId(key.keyId)} but its key has id ${formatKeyId(want)}`);
  }
}

function concat(type: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + bytes.length);
  out[0] = type;
  out.set(bytes, 1);
  return out;
}
