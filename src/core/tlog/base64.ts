/**
 * Standard base64 (RFC 4648 §4) with canonical-form checking. Node's decoder silently skips junk and
 * accepts missing padding; signed formats must not, or two different texts would carry the same bytes.
 */
import { invalid } from '../errors.ts';

const SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes canonical base64 or returns null (callers raise the error that names what was wrong). */
export function decodeBase64(text: string): Uint8Array | null {
  if (!SHAPE.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  // Non-zero bits in the last character's unused low bits would decode the same: refuse them.
  if (bytes.toString('base64') !== text) return null;
  return new Uint8Array(bytes);
}

export function decodeBase64OrThrow(text: string, code: string, what: string): Uint8Array {
  const bytes = decodeBase64(text);
  if (bytes === null) throw invalid(code, `${what} is not canonical standard base64: ${JSON.stringify(text)}`);
  return bytes;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
