/**
 * Zstandard for repodata: `repodata.json.zst`, `current_repodata.json.zst`, the shard index and the
 * shards. Node ≥ 22.15 has zstd in `node:zlib`; there it is used and the native addon is never
 * loaded. Older Node (the supported floor is 20.17) uses zstd-napi. Both write standard frames
 * that the `zstd` CLI, conda and rattler read.
 */
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import type * as NapiBinding from 'zstd-napi/binding.js';
import type * as Napi from 'zstd-napi';
import { invalid, tooLarge } from '../errors.ts';

/**
 * Level for repodata.json.zst. conda-index uses 16 (with up to 5 threads); measured here on one
 * core, 16 runs at ~3 MB/s and 9 at ~60 MB/s for a 7% larger file. Provena rebuilds repodata
 * after publishes, where a 270 MB subdir would take 90 s at 16 and 5 s at 9.
 */
export const REPODATA_ZSTD_LEVEL = 9;
/** zstd's default; conda-index uses it for shards, which are too small to gain from more. */
export const SHARD_ZSTD_LEVEL = 3;

/** The zstd parts of `node:zlib` that @types/node 20 does not describe yet. */
interface BuiltinZstd {
  zstdCompressSync(data: Uint8Array, options?: { params?: Record<number, number> }): Buffer;
  zstdDecompressSync(data: Uint8Array, options?: { maxOutputLength?: number }): Buffer;
  createZstdCompress(options?: { params?: Record<number, number> }): Transform;
  constants: { ZSTD_c_compressionLevel: number };
}

const candidate = zlib as unknown as Partial<BuiltinZstd>;
const builtin: BuiltinZstd | undefined =
  typeof candidate.zstdCompressSync === 'function' &&
  typeof candidate.zstdDecompressSync === 'function' &&
  typeof candidate.createZstdCompress === 'function'
    ? (candidate as BuiltinZstd)
    : undefined;

export const zstdBackend: 'node:zlib' | 'zstd-napi' = builtin === undefined ? 'zstd-napi' : 'node:zlib';

const require = createRequire(import.meta.url);
let napi: { lib: typeof Napi; binding: typeof NapiBinding } | undefined;
function loadNapi(): { lib: typeof Napi; binding: typeof NapiBinding } {
  napi ??= { lib: require('zstd-napi') as typeof Napi, binding: require('zstd-napi/binding.js') as typeof NapiBinding };
  return napi;
}

const compressors = new Map<number, Napi.Compressor>();

function levelParams(level: number): { params: Record<number, number> } {
  return { params: { [builtin!.constants.ZSTD_c_compressionLevel]: level } };
}

export function zstdCompress(bytes: Uint8Array, level: number = SHARD_ZSTD_LEVEL): Buffer {
  if (builtin !== undefined) return builtin.zstdCompressSync(bytes, levelParams(level));
  let compressor = compressors.get(level);
  if (compressor === undefined) {
    compressor = new (loadNapi().lib.Compressor)();
    compressor.setParameters({ compressionLevel: level });
    compressors.set(level, compressor);
  }
  return compressor.compress(bytes);
}

/** A Transform that compresses what is written to it (for large repodata written as a stream). */
export function zstdCompressStream(level: number = REPODATA_ZSTD_LEVEL): Transform {
  if (builtin !== undefined) return builtin.createZstdCompress(levelParams(level));
  return new (loadNapi().lib.CompressStream)({ compressionLevel: level });
}

function exceeded(maxOutput: number): Error {
  return tooLarge('zstd_output_too_large', `zstd data decompresses to more than ${maxOutput} bytes; refusing it`);
}

function corrupt(cause: unknown): Error {
  const why = cause instanceof Error ? cause.message : String(cause);
  return invalid('invalid_zstd', `not valid zstd data (${why})`);
}

/**
 * Decompresses all frames, refusing to produce more than `maxOutput` bytes: the frame header's
 * declared size is never trusted for allocation, so a small hostile input cannot exhaust memory.
 */
export function zstdDecompress(bytes: Uint8Array, maxOutput: number): Buffer {
  if (bytes.length === 0) throw corrupt('empty input');
  if (builtin !== undefined) {
    try {
      return builtin.zstdDecompressSync(bytes, { maxOutputLength: Math.max(1, maxOutput) });
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw exceeded(maxOutput);
      throw corrupt(e);
    }
  }
  const { binding } = loadNapi();
  const dctx = new binding.DCtx();
  const step = binding.dStreamOutSize();
  const chunks: Buffer[] = [];
  let total = 0;
  let input = bytes;
  let frameOpen = true;
  for (;;) {
    // One byte beyond the budget is enough to know the budget is exceeded.
    const out = Buffer.allocUnsafe(Math.min(step, maxOutput - total + 1));
    let result: [number, number, number];
    try {
      result = dctx.decompressStream(out, input);
    } catch (e) {
      throw corrupt(e);
    }
    const [remaining, produced, consumed] = result;
    total += produced;
    if (total > maxOutput) throw exceeded(maxOutput);
    chunks.push(out.subarray(0, produced));
    input = input.subarray(consumed);
    if (input.length === 0 && (produced < out.length || remaining === 0)) {
      frameOpen = remaining !== 0;
      break;
    }
  }
  if (frameOpen) throw corrupt('input ends in the middle of a frame');
  return Buffer.concat(chunks, total);
}
