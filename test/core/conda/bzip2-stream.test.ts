import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeBzip2 } from '../../../src/core/conda/bzip2-stream.ts';
import { DecompressionBudget } from '../../../src/core/conda/read-limits.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

/** Debian's bzip2 is the reference: whatever it writes, the decoder must give back byte for byte. */
function bzip2(data: Buffer, level = 9): Buffer {
  const run = spawnSync('bzip2', ['-c', `-${level}`], { input: data, maxBuffer: 1 << 28 });
  assert.equal(run.status, 0, String(run.stderr));
  return run.stdout;
}

/** Deterministic bytes: runs, text-like stretches and noise, so every decoder path is used. */
function sample(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  for (let i = 0; i < size; ) {
    const kind = next() % 4;
    const length = Math.min(size - i, 1 + (next() % 5000));
    for (let k = 0; k < length; k++, i++) {
      if (kind === 0) out[i] = next() & 0xff; // noise
      else if (kind === 1) out[i] = 0x61 + (next() % 6); // small alphabet
      else if (kind === 2) out[i] = 0x30 + (length & 7); // one long run
      else out[i] = (i >> 3) & 0xff; // slow ramp: runs of 8
    }
  }
  return out;
}

/** Feeds `data` in chunks of `chunk` bytes, as a file stream would. */
async function* pieces(data: Buffer, chunk = 65536): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
}

async function decode(data: Buffer, chunk?: number, limit = 2 ** 40): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of decodeBzip2(pieces(data, chunk), new DecompressionBudget(limit, 'the test stream'))) {
    parts.push(part);
  }
  return Buffer.concat(parts);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function refusal(data: Buffer): Promise<string> {
  try {
    await decode(data);
  } catch (err) {
    assert.ok(isProvenaError(err), String(err));
    assert.equal(err.code, 'corrupt_package');
    return err.detail;
  }
  assert.fail('decoded without error');
}

describe('decodeBzip2', { timeout: 120_000 }, () => {
  it('gives back what bzip2 compressed, at levels 1, 6 and 9, across many blocks', async () => {
    const original = sample(2_500_000, 7);
    for (const level of [1, 6, 9]) {
      const decoded = await decode(bzip2(original, level));
      assert.equal(sha(decoded), sha(original), `level ${level}`);
    }
  });

  it('handles the run-length edge cases: runs of 1–5, 255–260, very long runs, all byte values', async () => {
    const parts: Buffer[] = [];
    for (const run of [1, 2, 3, 4, 5, 6, 255, 256, 259, 260, 261, 1000, 100_000]) parts.push(Buffer.alloc(run, run & 0xff));
    parts.push(Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i & 0xff)));
    parts.push(Buffer.alloc(3_000_000)); // zeros: one block holds ~45 MB after the run-length pass
    const original = Buffer.concat(parts);
    for (const level of [1, 9]) assert.equal(sha(await decode(bzip2(original, level))), sha(original));
    assert.equal((await decode(bzip2(Buffer.from('x')))).toString(), 'x');
    assert.equal((await decode(bzip2(Buffer.alloc(0)))).length, 0);
  });

  it('does not depend on how the input is chunked', async () => {
    const original = sample(300_000, 11);
    const compressed = bzip2(original);
    for (const chunk of [1, 7, 4096, compressed.length]) {
      assert.equal(sha(await decode(compressed, chunk)), sha(original), `chunks of ${chunk}`);
    }
  });

  it('decodes concatenated streams (pbzip2) and ignores trailing bytes that are not a stream', async () => {
    const a = sample(200_000, 1);
    const b = sample(150_000, 2);
    const joined = Buffer.concat([bzip2(a), bzip2(b, 3)]);
    assert.equal(sha(await decode(joined)), sha(Buffer.concat([a, b])));
    const withGarbage = Buffer.concat([bzip2(a), Buffer.from('\n\0garbage after the end')]);
    assert.equal(sha(await decode(withGarbage)), sha(a));
  });

  it('refuses input that is not bzip2, is truncated, or fails its CRCs', async () => {
    assert.match(await refusal(Buffer.from('hello world, not bzip2')), /bzip2 header/);
    assert.match(await refusal(Buffer.from('BZ')), /too short/);
    assert.match(await refusal(Buffer.from('BZh0xxxxxxxxxxx')), /bzip2 header/);
    const compressed = bzip2(sample(500_000, 3));
    for (const cut of [10, 100, compressed.length >> 1, compressed.length - 5]) {
      assert.match(await refusal(compressed.subarray(0, cut)), /truncated|corrupt/, `cut at ${cut}`);
    }
    // the stored CRCs: the block CRC sits right after the 48-bit block magic at byte 4
    const badBlockCrc = Buffer.from(compressed);
    badBlockCrc[10] ^= 0x01;
    assert.match(await refusal(badBlockCrc), /fails its CRC check/);
    const badStreamCrc = Buffer.from(compressed);
    badStreamCrc[badStreamCrc.length - 2] ^= 0x10;
    assert.match(await refusal(badStreamCrc), /CRC|marker|corrupt/);
  });

  it('charges every byte to the budget and stops at the limit', async () => {
    const compressed = bzip2(Buffer.alloc(10_000_000));
    await assert.rejects(decode(compressed, undefined, 1_000_000), { code: 'decompression_limit' });
    assert.equal((await decode(compressed, undefined, 10_000_000)).length, 10_000_000);
  });

  it('closes its input when the reader stops early', async () => {
    let closed = false;
    async function* source() {
      try {
        yield bzip2(sample(2_000_000, 5), 1);
      } finally {
        closed = true;
      }
    }
    const stream = decodeBzip2(source(), new DecompressionBudget(2 ** 40, 'x'));
    const first = await stream.next();
    assert.equal(first.done, false);
    await stream.return();
    assert.equal(closed, true);
  });
});
