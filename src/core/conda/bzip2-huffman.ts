import { corruptBzip2, type BitReader } from './bzip2-bits.ts';

/**
 * The entropy-coding part of a bzip2 block header: 2–6 canonical Huffman tables and, for every
 * run of 50 symbols, a selector saying which table codes it.
 */

const MAX_CODE_LENGTH = 20;
const MAX_GROUPS = 6;
/** bzip2 1.0.8 writes at most this many selectors and ignores any beyond it when reading. */
const MAX_SELECTORS = 18002;

export interface HuffmanTable {
  minLen: number;
  maxLen: number;
  /** limit[len]: the largest code of that length; a longer code is being read when above it */
  limit: Int32Array;
  /** code - base[len] is the index into `symbols` */
  base: Int32Array;
  /** symbols ordered by (code length, symbol value): the canonical order */
  symbols: Uint16Array;
  /**
   * Indexed by the next LOOKUP_BITS bits: `symbol << 5 | length` for codes of at most that many
   * bits (nearly all of them), 0 for longer ones. Decoding speed lives here.
   */
  lookup: Uint16Array;
}

export const LOOKUP_BITS = 10;

export interface CodingTables {
  tables: HuffmanTable[];
  /** table index for each group of 50 symbols */
  selectors: Uint8Array;
}

export function readCodingTables(r: BitReader, alphaSize: number): CodingTables {
  const groupCount = r.bits(3);
  if (groupCount < 2 || groupCount > MAX_GROUPS) throw corruptBzip2(`${groupCount} Huffman tables (2 to 6 allowed)`);
  const selectorCount = r.bits(15);
  if (selectorCount === 0) throw corruptBzip2('a block with no selectors');

  // selectors are sent move-to-front coded, each as a unary number
  const order = Array.from({ length: groupCount }, (_, i) => i);
  const selectors = new Uint8Array(Math.min(selectorCount, MAX_SELECTORS));
  for (let i = 0; i < selectorCount; i++) {
    let j = 0;
    while (r.bit() === 1) {
      if (++j >= groupCount) throw corruptBzip2('a selector names a Huffman table that does not exist');
    }
    if (i >= MAX_SELECTORS) continue;
    const table = order[j];
    order.splice(j, 1);
    order.unshift(table);
    selectors[i] = table;
  }

  const tables: HuffmanTable[] = [];
  const lengths = new Uint8Array(alphaSize);
  for (let t = 0; t < groupCount; t++) {
    // code lengths are delta coded: start value, then per symbol "1x" steps (10 = +1, 11 = -1), "0" ends
    let len = r.bits(5);
    for (let s = 0; s < alphaSize; s++) {
      for (;;) {
        if (len < 1 || len > MAX_CODE_LENGTH) throw corruptBzip2(`a Huffman code length of ${len}`);
        if (r.bit() === 0) break;
        len += r.bit() === 0 ? 1 : -1;
      }
      lengths[s] = len;
    }
    tables.push(buildTable(lengths, alphaSize));
  }
  return { tables, selectors };
}

function buildTable(lengths: Uint8Array, alphaSize: number): HuffmanTable {
  let minLen = MAX_CODE_LENGTH;
  let maxLen = 0;
  const counts = new Int32Array(MAX_CODE_LENGTH + 1);
  for (let s = 0; s < alphaSize; s++) {
    const len = lengths[s];
    counts[len]++;
    if (len < minLen) minLen = len;
    if (len > maxLen) maxLen = len;
  }
  const symbols = new Uint16Array(alphaSize);
  let next = 0;
  for (let len = minLen; len <= maxLen; len++) {
    for (let s = 0; s < alphaSize; s++) if (lengths[s] === len) symbols[next++] = s;
  }
  const limit = new Int32Array(MAX_CODE_LENGTH + 2);
  const base = new Int32Array(MAX_CODE_LENGTH + 2);
  let code = 0;
  let before = 0; // symbols with shorter codes
  for (let len = minLen; len <= maxLen; len++) {
    limit[len] = code + counts[len] - 1;
    base[len] = code - before;
    before += counts[len];
    code = (code + counts[len]) << 1;
  }
  const lookup = new Uint16Array(1 << LOOKUP_BITS);
  for (let i = 0; i < alphaSize; i++) {
    const symbol = symbols[i];
    const len = lengths[symbol];
    if (len > LOOKUP_BITS) break; // symbols are sorted by length
    const first = (i + base[len]) << (LOOKUP_BITS - len);
    lookup.fill((symbol << 5) | len, first, first + (1 << (LOOKUP_BITS - len)));
  }
  return { minLen, maxLen, limit, base, symbols, lookup };
}

/**
 * Decodes one symbol with `t`, bit by bit from the shortest code length. The block decoder uses
 * the lookup table inline instead and falls back to this near the end of the input.
 */
export function decodeSymbol(r: BitReader, t: HuffmanTable): number {
  const { maxLen, limit } = t;
  // top up so that the longest code can be peeked without further checks
  while (r.held < maxLen) {
    if (r.pos >= r.end) {
      // the last symbol of a stream may sit closer than maxLen bits to the end
      if (r.held >= t.minLen) break;
      throw corruptBzip2('it ends in the middle of a block (truncated file?)');
    }
    r.acc = (r.acc << 8) | r.buf[r.pos++];
    r.held += 8;
  }
  let len = t.minLen;
  for (;;) {
    if (len > r.held) throw corruptBzip2('it ends in the middle of a block (truncated file?)');
    const code = (r.acc >>> (r.held - len)) & ((1 << len) - 1);
    if (code <= limit[len]) {
      r.held -= len;
      const index = code - t.base[len];
      if (index < 0 || index >= t.symbols.length) throw corruptBzip2('an invalid Huffman code');
      return t.symbols[index];
    }
    if (++len > maxLen) throw corruptBzip2('an invalid Huffman code');
  }
}
