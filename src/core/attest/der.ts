import type { ASN1Obj } from '@sigstore/core';

/**
 * The DER encoding of a parsed ASN.1 value: the same bytes as `ASN1Obj.toDER()` (tag byte, minimal length,
 * then the children's encodings or the primitive value), written into one buffer. @sigstore/core's own
 * `toDER()` allocates and zero-fills two 1 KiB blocks per node, which made re-encoding a certificate to
 * check it is canonical cost more than verifying its signature.
 */
export function encodeDer(obj: ASN1Obj): Buffer {
  const contentLengths = new Map<ASN1Obj, number>();
  const out = Buffer.allocUnsafe(encodedLength(obj, contentLengths));
  const end = write(obj, out, 0, contentLengths);
  // Every byte was written; a mismatch would mean a bug here, never a property of the input.
  if (end !== out.length) throw new Error('DER encoder wrote fewer bytes than it counted');
  return out;
}

function encodedLength(obj: ASN1Obj, contentLengths: Map<ASN1Obj, number>): number {
  let content = 0;
  if (obj.subs.length > 0) {
    for (const sub of obj.subs) content += encodedLength(sub, contentLengths);
  } else {
    content = obj.value.length;
  }
  contentLengths.set(obj, content);
  return 1 + lengthOfLength(content) + content;
}

function lengthOfLength(n: number): number {
  if (n < 128) return 1;
  let bytes = 0;
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes++;
  return 1 + bytes;
}

function write(obj: ASN1Obj, out: Buffer, at: number, contentLengths: Map<ASN1Obj, number>): number {
  let pos = at;
  out[pos++] = obj.tag.toDER() & 0xff;
  const content = contentLengths.get(obj)!;
  if (content < 128) {
    out[pos++] = content;
  } else {
    const bytes = lengthOfLength(content) - 1;
    out[pos++] = 0x80 | bytes;
    for (let i = bytes - 1, v = content; i >= 0; i--, v = Math.floor(v / 256)) out[pos + i] = v % 256;
    pos += bytes;
  }
  if (obj.subs.length > 0) {
    for (const sub of obj.subs) pos = write(sub, out, pos, contentLengths);
  } else {
    out.set(obj.value, pos);
    pos += obj.value.length;
  }
  return pos;
}
