import zstd from 'zstd-napi/binding.js';
import { unprocessable } from '../errors.ts';
import type { DecompressionBudget } from './read-limits.ts';

/**
 * Streaming zstd decoding with an output bound, on zstd-napi's low-level context.
 *
 * zstd-napi's own `DecompressStream` decodes each input chunk to the end in one synchronous loop,
 * pushing every output buffer regardless of back-pressure: a 64 KiB chunk of a zstd bomb becomes
 * gigabytes in memory before anything downstream can object. Here each output buffer (at most
 * `ZSTD_DStreamOutSize`, 128 KiB) is charged to the budget and handed on before the next one is
 * decoded, so memory stays at one buffer plus zstd's window.
 */

const OUTPUT_SIZE = zstd.dStreamOutSize();

function corrupt(cause: unknown) {
  const why = cause instanceof Error ? cause.message : String(cause);
  return unprocessable('corrupt_package', `the zstd stream of the info member is corrupt: ${why}`);
}

export async function* decodeZstd(
  source: AsyncIterable<Uint8Array>,
  budget: DecompressionBudget,
): AsyncGenerator<Buffer, void, undefined> {
  const context = new zstd.DCtx();
  let inFrame = false;
  for await (const chunk of source) {
    let input = chunk;
    for (;;) {
      const output = Buffer.allocUnsafe(OUTPUT_SIZE);
      let pending: number;
      let produced: number;
      let consumed: number;
      try {
        [pending, produced, consumed] = context.decompressStream(output, input);
      } catch (err) {
        throw corrupt(err);
      }
      input = input.subarray(consumed);
      inFrame = pending !== 0;
      if (produced > 0) {
        budget.spend(produced);
        yield output.subarray(0, produced);
      }
      // a full output buffer may mean more output is waiting even when the input is used up
      if (input.length === 0 && (produced < OUTPUT_SIZE || !inFrame)) break;
    }
  }
  if (inFrame) throw corrupt('it ends in the middle of a frame (truncated?)');
}
