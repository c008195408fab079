import { X509Certificate } from '@sigstore/core';

/** Just enough DER to build certificate-shaped test inputs for identity extraction (never verified). */
export function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

export const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
export const octets = (b: Buffer) => tlv(0x04, b);
export const utf8String = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
export const ia5String = (s: string) => tlv(0x16, Buffer.from(s, 'ascii'));

export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** One extension: SEQUENCE { OID, OCTET STRING { value } }. */
export const extension = (id: string, value: Buffer) => seq(oid(id), octets(value));

/** SAN extension value from general names, e.g. `tlv(0x86, uri)` for a URI, `tlv(0x81, email)` for an email. */
export const san = (...names: Buffer[]) => extension('2.5.29.17', seq(...names));

/** A certificate-shaped DER value holding these extensions; enough for `X509Certificate.extensions`. */
export function certificateWith(...extensions: Buffer[]): X509Certificate {
  return X509Certificate.parse(Buffer.from(seq(seq(tlv(0xa3, seq(...extensions))))));
}

export const FULCIO = (arc: number) => `1.3.6.1.4.1.57264.1.${arc}`;
