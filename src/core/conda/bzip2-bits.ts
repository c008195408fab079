import { unprocessable, type ProvenaError } from '../errors.ts';

/**
 * Bit-level input for the bzip2 decoder: MSB-first, over a fixed window of the compressed file
 * that the stream layer tops up between blocks. Running past the window is an error, never a wait:
 * the stream layer guarantees the window holds a whole block (see `maxCompressedBlockBytes`), so
 * running dry means the file is truncated or the block is larger than bzip2 can ever write.
 */
export class BitReader {
  // public for the Huffman hot loop in bzip2-block.ts, which reads them into locals
  buf: Uint8Array;
  pos = 0;
  /** end of the unread input in `buf` */
  end = 0;
  /** bits already pulled from `buf`; only the low `held` bits are meaningful */
  acc = 0;
  held = 0;

  /** `capacity`: the window is allocated once and reused, so decoding makes no input garbage */
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }

  /** Bits still to read: those in the accumulator plus the unread bytes of the window. */
  get availableBits(): number {
    return this.held + 8 * (this.end - this.pos);
  }

  get bufferedBytes(): number {
    return this.end - this.pos;
  }

  /** Moves the unread bytes to the front of the window; returns the free space behind them. */
  compact(): number {
    if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.end -= this.pos;
      this.pos = 0;
    }
    return this.buf.length - this.end;
  }

  /** Appends as much of `chunk` as fits after `compact()`; returns how many bytes were taken. */
  fill(chunk: Uint8Array): number {
    const taken = Math.min(chunk.length, this.buf.length - this.end);
    this.buf.set(taken === chunk.length ? chunk : chunk.subarray(0, taken), this.end);
    this.end += taken;
    return taken;
  }

  /** Reads `n` bits, 1 ≤ n ≤ 24, as an unsigned number. */
  bits(n: number): number {
    while (this.held < n) {
      if (this.pos >= this.end) throw truncated();
      this.acc = (this.acc << 8) | this.buf[this.pos++];
      this.held += 8;
    }
    this.held -= n;
    return (this.acc >>> this.held) & ((1 << n) - 1);
  }

  bit(): number {
    return this.bits(1);
  }

  uint32(): number {
    return ((this.bits(16) << 16) | this.bits(16)) >>> 0;
  }

  /** Drops the rest of the current byte: bzip2 streams end on a byte boundary. */
  alignToByte(): void {
    this.held -= this.held & 7;
  }
}

export function corruptBzip2(detail: string): ProvenaError {
  return unprocessable('corrupt_package', `the bzip2 stream is corrupt: ${detail}`);
}

export function truncated(): ProvenaError {
  return corruptBzip2('it ends in the middle of a block (truncated file?)');
}

/** CRC-32 as bzip2 computes it: polynomial 0x04c11db7, most significant bit first (not zlib's). */
export const BZIP2_CRC_TABLE: Int32Array = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c;
  }
  return table;
})();
