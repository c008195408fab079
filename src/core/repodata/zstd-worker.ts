/**
 * zstd compression of a large repodata file on a worker thread. zstd-napi (Node < 22.15) and
 * node:zlib's sync path compress on the calling thread: a 1M-record repodata.json.zst is seconds of
 * CPU that would otherwise sit between an upload's requests on the server's event loop. The worker
 * compresses, hashes and writes `X.json.zst`; the caller hands it chunks and awaits each one's
 * acknowledgement (a few in flight), so memory stays bounded and a slow disk slows the reader.
 *
 * The worker is an inline CommonJS script (no loader, no build step: the same under tsx and from
 * dist/); it loads zstd the way zstd.ts does, from paths resolved here.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { zstdBackend } from './zstd.ts';

const require = createRequire(import.meta.url);

/** chunks handed over but not yet written: enough to keep the worker busy, bounded memory */
const IN_FLIGHT = 4;
/**
 * zstd's own compression threads (one frame all the same, and the same bytes for any count ≥ 1): the
 * compressor is what a large rebuild waits for, and another core does half of it. Two at most, so a
 * rebuild leaves the rest of a bigger machine to the server.
 */
const ZSTD_THREADS = Math.max(1, Math.min(2, availableParallelism()));

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const zlib = require('node:zlib');
const { level, threads, path, plainPath, napi } = workerData;
const stream = napi
  ? new (require(napi).CompressStream)({ compressionLevel: level, nbWorkers: threads })
  : zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_nbWorkers]: threads } });
const fd = fs.openSync(path, 'w');
const plainFd = plainPath ? fs.openSync(plainPath, 'w') : null;
const hash = createHash('sha256');
let size = 0;
let failed = false;
const writeAll = (f, buf) => {
  for (let off = 0; off < buf.length; ) off += fs.writeSync(f, buf, off, buf.length - off);
};
const closeAll = () => {
  fs.closeSync(fd);
  if (plainFd !== null) fs.closeSync(plainFd);
};
const fail = (e) => {
  if (failed) return;
  failed = true;
  try { closeAll(); } catch {}
  parentPort.postMessage({ error: String((e && e.stack) || e) });
};
stream.on('data', (buf) => {
  try {
    hash.update(buf);
    size += buf.length;
    writeAll(fd, buf);
  } catch (e) { fail(e); }
});
stream.on('error', fail);
stream.on('end', () => {
  if (failed) return;
  try { closeAll(); } catch (e) { return fail(e); }
  parentPort.postMessage({ done: true, sha256: hash.digest('hex'), size });
});
parentPort.on('message', (m) => {
  if (failed) return;
  if (m.end) return void stream.end();
  const chunk = Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength);
  try {
    if (plainFd !== null) writeAll(plainFd, chunk);
  } catch (e) { return fail(e); }
  // acknowledged once compressed and written: the caller's bound on what is in flight
  stream.write(chunk, (e) => (e ? fail(e) : parentPort.postMessage({ ack: true })));
});
`;

export interface ZstdSink {
  /** `give`: the chunk is the caller's no more, and moves to the worker without a copy when it can */
  write(chunk: Buffer, opts?: { give?: boolean }): Promise<void>;
  end(): Promise<{ sha256: string; size: number }>;
  destroy(): Promise<void>;
}

/**
 * Starts a worker that compresses what is written to it into `path` (created or truncated) and, with
 * `plainPath`, writes it there as it is too.
 */
export function zstdWorkerSink(path: string, level: number, plainPath?: string): ZstdSink {
  const napi = zstdBackend === 'zstd-napi' ? require.resolve('zstd-napi') : null;
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { level, threads: ZSTD_THREADS, path, plainPath: plainPath ?? null, napi } });
  let inFlight = 0;
  let failure: Error | undefined;
  let finished: ((r: { sha256: string; size: number }) => void) | undefined;
  let rejectEnd: ((e: Error) => void) | undefined;
  const waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const failAll = (e: Error) => {
    failure ??= e;
    for (const w of waiters.splice(0)) w.reject(failure);
    rejectEnd?.(failure);
  };
  worker.on('message', (m: { ack?: true; done?: true; sha256?: string; size?: number; error?: string }) => {
    if (m.ack) {
      inFlight--;
      waiters.shift()?.resolve();
    } else if (m.done) {
      finished?.({ sha256: m.sha256!, size: m.size! });
    } else if (m.error !== undefined) {
      failAll(new Error(`zstd worker: ${m.error}`));
    }
  });
  worker.on('error', (e) => failAll(e));
  let closing = false;
  worker.on('exit', (code) => {
    if (code !== 0 && !closing) failAll(new Error(`zstd worker exited with code ${code}`));
  });
  return {
    async write(chunk: Buffer, opts: { give?: boolean } = {}): Promise<void> {
      if (failure) throw failure;
      inFlight++;
      // a given chunk with an ArrayBuffer of its own moves (no copy of ~1 MB); else it is copied
      const buffer = chunk.buffer;
      const movable = opts.give === true && buffer instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength;
      worker.postMessage({ chunk }, movable ? [buffer] : []);
      if (inFlight < IN_FLIGHT) return;
      await new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    async end(): Promise<{ sha256: string; size: number }> {
      if (failure) throw failure;
      const result = new Promise<{ sha256: string; size: number }>((resolve, reject) => {
        finished = resolve;
        rejectEnd = reject;
      });
      worker.postMessage({ end: true });
      try {
        return await result;
      } finally {
        closing = true;
        await worker.terminate();
      }
    },
    async destroy(): Promise<void> {
      closing = true;
      await worker.terminate();
    },
  };
}
