/**
 * Entry bundles (c2sp.org/tlog-tiles "Log entries"): the entries behind one level-0 tile, each
 * prefixed by its length as a big-endian uint16 — hence the 65,535-byte ceiling on a log entry.
 */
import { invalid, tooLarge, unprocessable } from '../errors.ts';

export const MAX_ENTRY_BYTES = 0xffff;

export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const [i, e] of entries.entries()) {
    if (e.length > MAX_ENTRY_BYTES) {
      throw tooLarge('entry_too_large', `entry ${i} is ${e.length} bytes; log entries are limited to ${MAX_ENTRY_BYTES}`);
    }
    total += 2 + e.length;
  }
  if (entries.length > 256) throw invalid('entry_bundle_malformed', `a bundle holds at most 256 entries, got ${entries.length}`);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of entries) {
    view.setUint16(at, e.length);
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/** Splits a bundle; `width` (from the path) is how many entries it must hold, no more, no fewer. */
export function decodeEntryBundle(data: Uint8Array, width: number): Uint8Array[] {
  const bad = (why: string) => unprocessable('entry_bundle_malformed', `entry bundle of width ${width}: ${why}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    if (entries.length === width) throw bad(`${data.length - at} bytes follow the last entry`);
    if (at + 2 > data.length) throw bad(`a length prefix is cut off at byte ${at}`);
    const len = view.getUint16(at);
    if (at + 2 + len > data.length) throw bad(`entry ${entries.length} claims ${len} bytes, only ${data.length - at - 2} remain`);
    entries.push(data.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  if (entries.length !== width) throw bad(`it holds ${entries.length} entries`);
  return entries;
}
