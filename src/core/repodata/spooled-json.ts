/**
 * Writes a repodata document to two local files at once, `X.json` and `X.json.zst`, from chunks, with
 * their sha256 and size: memory stays at a chunk plus the compressor's window whatever the subdir's
 * size. The caller moves the files into place (BlobStore.putFile) once both are complete.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { once } from 'node:events';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { zstdCompressStream } from './zstd.ts';
import { zstdWorkerSink } from './zstd-worker.ts';

export interface SpooledFile {
  path: string;
  sha256: string;
  size: number;
  /** the bytes, when the file is at most `keepBytes` long (served from memory) */
  bytes: Buffer | null;
}

class Digest extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }
}

async function write(stream: Writable, chunk: Buffer): Promise<void> {
  if (!stream.write(chunk)) await once(stream, 'drain');
}

async function close(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, 'close');
}

/** `chunks` are consumed: each must be a buffer nobody else holds (a large one moves to the compressor). */
export async function spoolJsonAndZst(
  chunks: AsyncIterable<Buffer>,
  jsonPath: string,
  zstPath: string,
  level: number,
  keepBytes: number,
  opts: { zstdInWorker?: boolean } = {},
): Promise<{ json: SpooledFile; zst: SpooledFile }> {
  if (opts.zstdInWorker === true) return spoolWithWorker(chunks, jsonPath, zstPath, level, keepBytes);
  const json = createWriteStream(jsonPath);
  const jsonDigest = createHash('sha256');
  let jsonSize = 0;
  const compressor = zstdCompressStream(level);
  const zstDigest = new Digest();
  const zstDone = pipeline(compressor, zstDigest, createWriteStream(zstPath));
  try {
    for await (const chunk of chunks) {
      jsonDigest.update(chunk);
      jsonSize += chunk.length;
      // both sinks honour backpressure: a slow disk or compressor slows the reader, never buffers it
      await Promise.all([write(json, chunk), write(compressor, chunk)]);
    }
    compressor.end();
    await Promise.all([close(json), zstDone]);
  } catch (e) {
    json.destroy();
    compressor.destroy();
    await zstDone.catch(() => undefined);
    await Promise.all([fs.rm(jsonPath, { force: true }), fs.rm(zstPath, { force: true })]);
    throw e;
  }
  return {
    json: { path: jsonPath, sha256: jsonDigest.digest('hex'), size: jsonSize, bytes: await keep(jsonPath, jsonSize, keepBytes) },
    zst: { path: zstPath, sha256: zstDigest.hash.digest('hex'), size: zstDigest.size, bytes: await keep(zstPath, zstDigest.size, keepBytes) },
  };
}

const keep = async (path: string, size: number, keepBytes: number) => (size <= keepBytes ? fs.readFile(path) : null);

/**
 * The same files, both written by a worker thread that also compresses (zstd-worker.ts): for the large
 * subdirs' rebuilds. This thread reads and hashes; each chunk then moves to the worker without a copy.
 */
async function spoolWithWorker(
  chunks: AsyncIterable<Buffer>,
  jsonPath: string,
  zstPath: string,
  level: number,
  keepBytes: number,
): Promise<{ json: SpooledFile; zst: SpooledFile }> {
  const jsonDigest = createHash('sha256');
  let jsonSize = 0;
  const zst = zstdWorkerSink(zstPath, level, jsonPath);
  let zstFacts: { sha256: string; size: number };
  try {
    for await (const chunk of chunks) {
      jsonDigest.update(chunk);
      jsonSize += chunk.length;
      // the chunks are ours alone (the document's generators make each anew): moved, not copied
      await zst.write(chunk, { give: true });
    }
    zstFacts = await zst.end();
  } catch (e) {
    await zst.destroy();
    await Promise.all([fs.rm(jsonPath, { force: true }), fs.rm(zstPath, { force: true })]);
    throw e;
  }
  return {
    json: { path: jsonPath, sha256: jsonDigest.digest('hex'), size: jsonSize, bytes: await keep(jsonPath, jsonSize, keepBytes) },
    zst: { path: zstPath, sha256: zstFacts.sha256, size: zstFacts.size, bytes: await keep(zstPath, zstFacts.size, keepBytes) },
  };
}
