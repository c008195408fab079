import { BZIP2_CRC_TABLE, corruptBzip2, type BitReader } from './bzip2-bits.ts';
import { decodeSymbol, LOOKUP_BITS, readCodingTables } from './bzip2-huffman.ts';

/**
 * One bzip2 block: Huffman-coded move-to-front symbols with zero-run coding, over the
 * Burrows–Wheeler transform of the data, over a first run-length pass. The block is decoded into
 * `tt` (at most 900 000 entries, allocated once per stream), and its output is then produced
 * lazily, a buffer at a time, by `BlockOutput`: a block can expand to ~46 MB through the final
 * run-length pass, and nothing of that is held in memory at once.
 */

const RUN_A = 0;
const RUN_B = 1;
const SYMBOLS_PER_GROUP = 50;
const LOOKUP_MASK = (1 << LOOKUP_BITS) - 1;

/**
 * Reads a block (after its 48-bit magic) into `tt`, low byte = data byte, and prepares the
 * inverse BWT links in the upper 24 bits. `maxLength` is the stream's block size (level × 100k).
 */
export function decodeBlock(r: BitReader, tt: Uint32Array, maxLength: number): BlockOutput {
  const expectedCrc = r.uint32();
  if (r.bit() === 1) throw corruptBzip2('it uses randomised blocks (bzip2 0.9.0), which are not supported');
  const origPtr = r.bits(24);

  // which byte values occur: 16 flags for ranges of 16, then 16 flags per range present
  const byteOf = new Uint8Array(256);
  let used = 0;
  const ranges = r.bits(16);
  for (let i = 0; i < 16; i++) {
    if ((ranges & (0x8000 >>> i)) === 0) continue;
    const flags = r.bits(16);
    for (let j = 0; j < 16; j++) if (flags & (0x8000 >>> j)) byteOf[used++] = i * 16 + j;
  }
  if (used === 0) throw corruptBzip2('a block that uses no byte values');
  const endOfBlock = used + 1;
  const { tables, selectors } = readCodingTables(r, used + 2);

  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i++) mtf[i] = i;
  const counts = new Int32Array(256);
  let length = 0;
  let run = 0;
  let runWeight = 1;
  let group = -1;
  let left = 0;
  let table = tables[0];
  // the bit reader's state lives in locals in this loop: it runs once per symbol
  const { buf, end } = r;
  let { pos, acc, held } = r;
  for (;;) {
    if (left === 0) {
      if (++group >= selectors.length) throw corruptBzip2('a block has more symbol groups than selectors');
      table = tables[selectors[group]];
      left = SYMBOLS_PER_GROUP;
    }
    left--;
    // fast path: keep ≥ 20 bits in hand and look the code up; the general decoder handles the rest
    while (held < 20 && pos < end) {
      acc = (acc << 8) | buf[pos++];
      held += 8;
    }
    const entry = held >= 20 ? table.lookup[(acc >>> (held - LOOKUP_BITS)) & LOOKUP_MASK] : 0;
    let symbol: number;
    if (entry !== 0) {
      held -= entry & 31;
      symbol = entry >>> 5;
    } else {
      r.pos = pos;
      r.acc = acc;
      r.held = held;
      symbol = decodeSymbol(r, table);
      ({ pos, acc, held } = r);
    }
    if (symbol === RUN_A || symbol === RUN_B) {
      // zero runs are written in bijective base 2: RUNA adds 1×weight, RUNB 2×weight
      run += (symbol + 1) * runWeight;
      runWeight *= 2;
      if (run > maxLength) throw corruptBzip2('a run longer than the block');
      continue;
    }
    if (run > 0) {
      if (length + run > maxLength) throw corruptBzip2('a block longer than its declared block size');
      const value = byteOf[mtf[0]];
      counts[value] += run;
      tt.fill(value, length, length + run);
      length += run;
      run = 0;
      runWeight = 1;
    }
    if (symbol === endOfBlock) break;
    if (length >= maxLength) throw corruptBzip2('a block longer than its declared block size');
    // symbol n > 1 stands for move-to-front position n - 1
    let position = symbol - 1;
    const index = mtf[position];
    // short moves by hand, long ones (incompressible data) as one memmove
    if (position < 16) for (; position > 0; position--) mtf[position] = mtf[position - 1];
    else mtf.copyWithin(1, 0, position);
    mtf[0] = index;
    const value = byteOf[index];
    counts[value]++;
    tt[length++] = value;
  }
  r.pos = pos;
  r.acc = acc;
  r.held = held;
  if (origPtr >= length) throw corruptBzip2('the BWT origin pointer lies outside the block');

  // inverse BWT: link each position to the next one in output order
  const starts = new Int32Array(256);
  for (let b = 0, sum = 0; b < 256; b++) {
    starts[b] = sum;
    sum += counts[b];
  }
  for (let i = 0; i < length; i++) {
    const b = tt[i] & 0xff;
    tt[starts[b]++] |= i << 8;
  }
  return new BlockOutput(tt, length, tt[origPtr] >>> 8, expectedCrc);
}

/** Walks the BWT links and undoes the first run-length pass (4 equal bytes, then a count). */
export class BlockOutput {
  private remaining: number;
  private repeat = 0;
  private last = -1;
  private same = 0;
  private crc = -1;

  constructor(
    private readonly tt: Uint32Array,
    length: number,
    private position: number,
    readonly expectedCrc: number,
  ) {
    this.remaining = length;
  }

  /** Fills `out` from the start; returns how many bytes were written, 0 once the block is done. */
  read(out: Uint8Array): number {
    const tt = this.tt;
    const capacity = out.length;
    let { remaining, repeat, last, same, crc, position } = this;
    let n = 0;
    while (n < capacity) {
      if (repeat > 0) {
        out[n++] = last;
        crc = (crc << 8) ^ BZIP2_CRC_TABLE[((crc >>> 24) ^ last) & 0xff];
        repeat--;
        continue;
      }
      if (remaining === 0) break;
      position = tt[position];
      const b = position & 0xff;
      position >>>= 8;
      remaining--;
      if (same === 4) {
        repeat = b;
        same = 0;
        continue;
      }
      if (b === last) same++;
      else {
        last = b;
        same = 1;
      }
      out[n++] = b;
      crc = (crc << 8) ^ BZIP2_CRC_TABLE[((crc >>> 24) ^ b) & 0xff];
    }
    this.remaining = remaining;
    this.repeat = repeat;
    this.last = last;
    this.same = same;
    this.crc = crc;
    this.position = position;
    return n;
  }

  /** The CRC of everything read so far; equals `expectedCrc` once the block is done, if intact. */
  get actualCrc(): number {
    return ~this.crc >>> 0;
  }
}
