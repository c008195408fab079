import { spawn } from 'node:child_process';
import { once } from 'node:events';
import tar from 'tar-stream';
import { CompressStream } from 'zstd-napi';

/**
 * Tar, zstd and bzip2 writers for test packages, all streaming, so a test can build a package
 * that decompresses to hundreds of MiB (a bomb) without ever holding that much.
 */

export type TarMember =
  | { path: string; data: Buffer }
  /** `size` zero bytes, streamed: the body of a decompression bomb */
  | { path: string; zeros: number };

const MTIME = new Date('2024-01-01T00:00:00Z');
const ZERO_CHUNK = Buffer.alloc(1 << 20);

export async function* tarStream(members: readonly TarMember[]): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  const writing = (async () => {
    for (const member of members) {
      const size = 'data' in member ? member.data.length : member.zeros;
      const header = { name: member.path, size, mode: 0o644, mtime: MTIME, uname: 'conda', gname: 'conda' };
      let sink!: ReturnType<typeof pack.entry>;
      const written = new Promise<void>((resolve, reject) => {
        sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      });
      if ('data' in member) sink.write(member.data);
      else {
        for (let left = member.zeros; left > 0; left -= ZERO_CHUNK.length) {
          const piece = left >= ZERO_CHUNK.length ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, left);
          if (!sink.write(piece)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
        }
      }
      sink.end(undefined);
      await written;
    }
    pack.finalize();
  })();
  for await (const chunk of pack) yield chunk as Buffer;
  await writing;
}

export async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return Buffer.concat(parts);
}

export function tarArchive(members: readonly TarMember[]): Promise<Buffer> {
  return collect(tarStream(members));
}

export async function zstdCompress(chunks: AsyncIterable<Buffer>, compressionLevel = 3): Promise<Buffer> {
  const compressor = new CompressStream({ compressionLevel });
  const out: Buffer[] = [];
  compressor.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = once(compressor, 'end');
  for await (const chunk of chunks) {
    if (!compressor.write(chunk)) await once(compressor, 'drain');
  }
  compressor.end();
  await ended;
  return Buffer.concat(out);
}

/** Compresses with Debian's `bzip2`, the reference implementation conda packages were made with. */
export async function bzip2Compress(chunks: AsyncIterable<Buffer>, level = 9): Promise<Buffer> {
  const child = spawn('bzip2', ['-c', `-${level}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  const exited = once(child, 'close');
  for await (const chunk of chunks) {
    if (!child.stdin.write(chunk)) await once(child.stdin, 'drain');
  }
  child.stdin.end();
  const [code] = await exited;
  if (code !== 0) throw new Error(`bzip2 exited with ${code}`);
  return Buffer.concat(out);
}

export async function* chunksOf(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}
