/**
 * Streams a real, valid `.conda` of any size to disk with bounded memory (a few MiB), for the
 * ingest benchmark (500 MB) and as the download-benchmark file (10 MB).
 *
 * Layout follows conda-package-handling 2.x: stored zip with `metadata.json`, then
 * `pkg-<n>-<v>-<b>.tar.zst` (one big incompressible payload file), then
 * `info-<n>-<v>-<b>.tar.zst` LAST (index.json, paths.json, about.json, files). Info last is
 * the realistic worst case for a streaming ingester: it must get through the whole payload
 * before it sees index.json.
 *
 * Payload bytes are AES-128-CTR keystream (deterministic per seed, incompressible, ~GB/s),
 * so zstd stores them as raw blocks and the file size ≈ requested size.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { CompressStream, compress } from 'zstd-napi';
import { StoredZipWriter } from './zip-writer.ts';

const CHUNK = 1 << 20;
const PAYLOAD_PATH = 'share/provena-bench/payload.bin';
const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');

export interface BigPackageOptions {
  dir: string;
  sizeBytes: number;
  name?: string;
  version?: string;
  build?: string;
  buildNumber?: number;
  /** different seeds give different bytes (and so a different sha256) */
  seed?: string;
}

export interface GeneratedPackage {
  path: string;
  filename: string;
  subdir: 'noarch';
  size: number;
  sha256: string;
}

export async function writeBigConda(opts: BigPackageOptions): Promise<GeneratedPackage> {
  const name = opts.name ?? 'provena-bench-big';
  const version = opts.version ?? '1.0.0';
  const build = opts.build ?? '0';
  const stem = `${name}-${version}-${build}`;
  const filename = `${stem}.conda`;
  const path = join(opts.dir, filename);
  // Leave room for zip/tar/zstd overhead so the file lands close to sizeBytes.
  const payloadSize = Math.max(1024, opts.sizeBytes - 8192);
  const payloadHash = createHash('sha256');

  const fh = await open(path, 'w');
  try {
    const zip = new StoredZipWriter(fh);
    await zip.addBuffer('metadata.json', Buffer.from(JSON.stringify({ conda_pkg_format_version: 2 })));
    await zip.addStream(`pkg-${stem}.tar.zst`, pkgMember(payloadSize, opts.seed ?? stem, payloadHash));
    const info = await infoMember({
      name,
      version,
      build,
      buildNumber: opts.buildNumber ?? 0,
      payloadSha256: payloadHash.digest('hex'),
      payloadSize,
    });
    await zip.addBuffer(`info-${stem}.tar.zst`, info);
    await zip.finish();
    // Flush now, untimed: otherwise the kernel writes these dirty pages back ~30 s later, in the
    // middle of whichever measurement is running then.
    await fh.datasync();
  } finally {
    await fh.close();
  }
  // Hash in a second pass: the zip headers were patched in place, so a hash taken while
  // streaming would be of different bytes. Reading back from page cache costs ~1 s / 500 MB.
  const { sha256, size } = await hashFile(path);
  return { path, filename, subdir: 'noarch', size, sha256 };
}

export async function hashFile(path: string): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
    h.update(chunk);
    size += chunk.length;
  }
  return { sha256: h.digest('hex'), size };
}

/** zstd-compressed tar with one big payload file, yielded chunk by chunk with backpressure. */
async function* pkgMember(
  payloadSize: number,
  seed: string,
  payloadHash: ReturnType<typeof createHash>,
): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  const zstd = new CompressStream({ compressionLevel: 1 });
  pack.on('error', (e: Error) => zstd.destroy(e));
  pack.pipe(zstd);

  const feed = (async () => {
    const key = createHash('sha256').update(seed).digest().subarray(0, 16);
    const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
    const zeros = Buffer.alloc(CHUNK);
    let settle!: (err?: Error | null) => void;
    const entryDone = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    // tar-stream calls back once all of the entry's bytes are accepted (or on error)
    const entry = pack.entry(
      { name: PAYLOAD_PATH, size: payloadSize, mode: 0o644, mtime: FIXED_MTIME, type: 'file' },
      (err) => settle(err),
    );
    for (let left = payloadSize; left > 0; ) {
      const n = Math.min(CHUNK, left);
      const chunk = cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
      payloadHash.update(chunk);
      left -= n;
      if (!entry.write(chunk)) await new Promise<void>((r) => entry.once('drain', () => r()));
    }
    entry.end(undefined); // streamx types want an argument; undefined writes nothing
    await entryDone;
    pack.finalize();
  })();
  feed.catch((e: Error) => zstd.destroy(e));

  for await (const out of zstd as AsyncIterable<Buffer>) yield out;
  await feed;
}

interface InfoFacts {
  name: string;
  version: string;
  build: string;
  buildNumber: number;
  payloadSha256: string;
  payloadSize: number;
}

/** The small `info-*.tar.zst` member, built in memory. */
async function infoMember(f: InfoFacts): Promise<Buffer> {
  const index = {
    arch: null,
    build: f.build,
    build_number: f.buildNumber,
    depends: [],
    license: 'Apache-2.0',
    name: f.name,
    noarch: 'generic',
    platform: null,
    subdir: 'noarch',
    timestamp: FIXED_MTIME.getTime(),
    version: f.version,
  };
  const paths = {
    paths: [{ _path: PAYLOAD_PATH, path_type: 'hardlink', sha256: f.payloadSha256, size_in_bytes: f.payloadSize }],
    paths_version: 1,
  };
  const about = { summary: 'Provena benchmark payload (random bytes)', license: 'Apache-2.0' };
  const files: Record<string, string> = {
    'info/index.json': JSON.stringify(index, null, 2),
    'info/paths.json': JSON.stringify(paths, null, 2),
    'info/about.json': JSON.stringify(about, null, 2),
    'info/files': `${PAYLOAD_PATH}\n`,
  };
  const pack = tar.pack();
  for (const [name, text] of Object.entries(files)) {
    pack.entry({ name, mode: 0o644, mtime: FIXED_MTIME }, text);
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) parts.push(chunk);
  return compress(Buffer.concat(parts), { compressionLevel: 19 });
}
