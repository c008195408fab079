import { createHash } from 'node:crypto';
import { subdirFiles, type ChannelFile } from '../repodata/channel-files.ts';
import type { PackageRecord } from '../conda/types.ts';
import { channelFileKey, type BlobStore, type MetadataStore, type PublishedChannelFile, type RepodataListener } from './ports.ts';

/** What this process last wrote under a key: a content ETag, and the bytes when they are small. */
export interface PublishedFile {
  etag: string;
  size: number;
  lastModified: Date;
  bytes: Buffer | null;
}

/** Generated files up to this size are answered from memory; the total is bounded too. */
const MEMORY_FILE_LIMIT = 1024 * 1024;
const MEMORY_TOTAL_LIMIT = 64 * 1024 * 1024;

export function contentEtag(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`;
}

/**
 * Keeps each subdir's served repodata files in step with the database. Refreshes of one subdir are
 * coalesced: while one runs, every caller that arrives waits for the single next run, which reads the
 * database after they committed; so a caller's own package is in the files when its promise resolves,
 * and 50 concurrent uploads cost a handful of rebuilds, not 50.
 */
export class RepodataPublisher {
  private readonly running = new Map<string, Promise<void>>();
  private readonly queued = new Map<string, Promise<void>>();
  private readonly emptyCache = new Map<string, Map<string, ChannelFile>>();
  private readonly published = new Map<string, PublishedFile>();
  private publishedBytes = 0;

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly listeners: readonly RepodataListener[] = [],
  ) {}

  refresh(channel: string, subdir: string): Promise<void> {
    const key = `${channel}/${subdir}`;
    const queued = this.queued.get(key);
    if (queued) return queued;
    const running = this.running.get(key);
    const next = (running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.queued.delete(key);
        const run = this.rebuild(channel, subdir).finally(() => {
          if (this.running.get(key) === run) this.running.delete(key);
        });
        this.running.set(key, run);
        return run;
      });
    this.queued.set(key, next);
    return next;
  }

  private async rebuild(channel: string, subdir: string): Promise<void> {
    const [stored, removed] = await Promise.all([
      this.store.packages.list(channel, subdir),
      this.store.packages.removed(channel, subdir),
    ]);
    const packages = new Map<string, PackageRecord>();
    const packagesConda = new Map<string, PackageRecord>();
    for (const pkg of stored) (pkg.filename.endsWith('.conda') ? packagesConda : packages).set(pkg.filename, pkg.record);
    const files = this.build(subdir, packages, packagesConda, removed);
    // immutable shards first, then the index that names them, then the full files: a reader that
    // follows an index always finds what it names
    const order = (f: ChannelFile) => (f.path.startsWith('shards/') ? 0 : f.path.startsWith('repodata_shards') ? 1 : 2);
    const published: PublishedChannelFile[] = [];
    for (const file of [...files].sort((a, b) => order(a) - order(b))) {
      const key = channelFileKey(channel, subdir, file.path);
      await this.blobs.putBytes(key, file.bytes);
      if (file.path.startsWith('shards/')) continue;
      // remembered after the swap: a reader may briefly get new bytes with the old ETag (harmless:
      // it revalidates), never old bytes with the new one
      this.remember(key, file.bytes);
      published.push({ path: file.path, key, sha256: createHash('sha256').update(file.bytes).digest('hex'), size: file.bytes.length });
    }
    for (const listener of this.listeners) await listener.subdirPublished(channel, subdir, published);
  }

  /** The file this process last published under `key`, if it did. */
  publishedFile(key: string): PublishedFile | undefined {
    return this.published.get(key);
  }

  private remember(key: string, bytes: Buffer): void {
    const old = this.published.get(key);
    if (old?.bytes) this.publishedBytes -= old.bytes.length;
    const keep = bytes.length <= MEMORY_FILE_LIMIT && this.publishedBytes + bytes.length <= MEMORY_TOTAL_LIMIT;
    if (keep) this.publishedBytes += bytes.length;
    this.published.set(key, { etag: contentEtag(bytes), size: bytes.length, lastModified: new Date(), bytes: keep ? bytes : null });
  }

  /** The subdir's files with paths relative to the subdir (`repodata.json`, `shards/<hex>.msgpack.zst`). */
  private build(
    subdir: string,
    packages: Map<string, PackageRecord>,
    packagesConda: Map<string, PackageRecord>,
    removed: string[],
  ): ChannelFile[] {
    return subdirFiles({ subdir, packages, packagesConda, removed, createdAt: new Date() }).map((f) => ({
      ...f,
      path: f.path.slice(subdir.length + 1),
    }));
  }

  /** What a subdir serves before anything was published to it: valid empty repodata. */
  emptyFile(subdir: string, path: string): ChannelFile | undefined {
    let files = this.emptyCache.get(subdir);
    if (!files) {
      files = new Map(this.build(subdir, new Map(), new Map(), []).map((f) => [f.path, f]));
      this.emptyCache.set(subdir, files);
    }
    return files.get(path);
  }

  /** Removes a deleted channel's generated files. */
  async forget(channel: string): Promise<void> {
    for (const [key, file] of this.published) {
      if (!key.startsWith(`channels/${channel}/`)) continue;
      if (file.bytes) this.publishedBytes -= file.bytes.length;
      this.published.delete(key);
    }
    for await (const key of this.blobs.list(`channels/${channel}/`)) await this.blobs.delete(key);
  }
}
