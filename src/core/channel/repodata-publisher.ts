import { createHash, randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { subdirFiles, type ChannelFile } from '../repodata/channel-files.ts';
import { newestOfName } from '../repodata/current-stream.ts';
import { buildShard, shardPath, SHARD_INDEX_FILENAME } from '../repodata/shards.ts';
import { ShardIndexEntries } from '../repodata/shard-index-entries.ts';
import { segmentsOf } from '../repodata/segments.ts';
import { zstdCompress } from '../repodata/zstd.ts';
import { FULL_FILES, hashedFileKey, LocalFullFiles, MEMORY_FILE_LIMIT, type FullFilesWriter } from './full-files.ts';
import type { PackageRecord } from '../conda/types.ts';
import {
  channelFileKey,
  type BlobStore,
  type FileFacts,
  type MetadataStore,
  type PublishedChannelFile,
  type RepodataArtifact,
  type RepodataListener,
  type RepodataState,
} from './ports.ts';
import { noTelemetry, secondsSince, type Telemetry } from '../telemetry.ts';

/** What is in place under a key: a content ETag, and the bytes when they are small. */
export interface PublishedFile {
  etag: string;
  size: number;
  lastModified: Date;
  bytes: Buffer | null;
}

interface CachedFile extends PublishedFile {
  sha256: string;
  /** when the database last confirmed this is the version in place (ms) */
  checkedAt: number;
}

export interface RepodataPublisherOptions {
  /** subdirs with fewer live records get their full files rebuilt before an upload is acknowledged */
  syncRecords?: number;
  /** larger subdirs: full files rebuilt at most this often, bursts coalesced */
  debounceMs?: number;
  /** local directory for the full files while they are written (ideally on the blob store's filesystem) */
  spoolDir?: string;
  /** this replica's name in the leases (random by default) */
  owner?: string;
  /** a builder that stops renewing (a crashed replica) loses its lease after this long; renewed every third of it */
  leaseMs?: number;
  /** what a debounced rebuild that failed reports (it has no caller to throw to) */
  onError?: (err: unknown, channel: string, subdir: string) => void;
  /** writes the full files of subdirs at or above `syncRecords` (default: in this process) */
  fullFiles?: FullFilesWriter;
}

/** the total of generated files answered from memory is bounded */
const MEMORY_TOTAL_LIMIT = 64 * 1024 * 1024;
/** the fast 304 path trusts a cached ETag this long without asking the database (another replica may publish) */
const FRESH_MS = 1000;
/** how often a builder waiting for another replica's lease looks again */
const POLL_MS = 50;

/**
 * The shard index is rewritten on every upload and is mostly 32-byte hashes, which do not compress:
 * level 1 takes ~80 ms for 200k names where 3 takes ~200 ms, for a file ~1% larger.
 */
const SHARD_INDEX_ZSTD_LEVEL = 1;

export function contentEtag(bytes: Uint8Array): string {
  return etagOfSha256(createHash('sha256').update(bytes).digest('hex'));
}

function etagOfSha256(sha256: string): string {
  return `"${sha256.slice(0, 32)}"`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Keeps each subdir's served repodata in step with the database, at any subdir size and with any
 * number of replicas sharing one database and one blob store (docs/architecture.md, "Repodata"):
 *
 * - Every change bumps the subdir's generation and marks its package name in the change's own
 *   transaction (PackageRepo.insert/remove). `refresh` then brings the shard index up to that
 *   generation: only the changed names' shards are rebuilt (content-addressed, written before the
 *   index that names them), the index is rebuilt from the hashes kept in the database.
 * - The full files (repodata.json, current_repodata.json and their .zst) are streamed from the
 *   database page by page to spool files and swapped in: before the acknowledgement for a subdir below
 *   `syncRecords` records, debounced (at most every `debounceMs`) above it.
 * - One builder per (subdir, artifact) at a time, by a lease in the database; what it wrote is recorded
 *   by a compare-and-swap on the generation, which never moves backwards. A builder that lost its lease
 *   midway bumps the generation, so whoever builds next writes the newest version again.
 * - Within a process, concurrent refreshes of one subdir wait for the single running build and then
 *   check again, so 50 concurrent uploads cost a handful of builds, not 50.
 */
export class RepodataPublisher {
  private readonly inflight = new Map<string, Promise<boolean>>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly lastFullStart = new Map<string, number>();
  private readonly notifying = new Map<string, Promise<void>>();
  private readonly emptyCache = new Map<string, Map<string, ChannelFile>>();
  private readonly published = new Map<string, CachedFile>();
  /** per subdir, the shard index's names and hashes as of the index this process last recorded */
  private readonly indexCache = new Map<string, { entries: ShardIndexEntries; generation: number; sha256: string }>();
  private publishedBytes = 0;
  private readonly syncRecords: number;
  private readonly debounceMs: number;
  private readonly spoolDir: string;
  private readonly owner: string;
  private readonly leaseMs: number;
  private closed = false;
  /** whether a listener (signed repodata) keeps the full files' content-addressed copies and prunes them */
  private readonly hashedCopies: boolean;
  private readonly localFull: LocalFullFiles;

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly listeners: readonly RepodataListener[] = [],
    private readonly telemetry: Telemetry = noTelemetry,
    private readonly options: RepodataPublisherOptions = {},
  ) {
    this.syncRecords = options.syncRecords ?? 20_000;
    this.debounceMs = options.debounceMs ?? 2_000;
    this.spoolDir = options.spoolDir ?? os.tmpdir();
    this.owner = options.owner ?? `replica-${randomBytes(8).toString('hex')}`;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.hashedCopies = listeners.some((l) => l.keepsHashedCopies === true);
    this.localFull = new LocalFullFiles(store, blobs, this.spoolDir);
  }

  /**
   * Brings the subdir's shard index (always) and full files (below `syncRecords`) up to the generation
   * in the database now, i.e. including every change committed before the call; schedules the full
   * files of a larger subdir. Cheap when everything is in place already.
   */
  async refresh(channel: string, subdir: string): Promise<void> {
    let state = await this.store.repodata.get(channel, subdir);
    // a subdir nobody changed yet (noarch of a new channel): its empty files, once
    if (state === null) {
      await this.store.repodata.markChanged(channel, subdir, [], 0);
      state = (await this.store.repodata.get(channel, subdir))!;
    }
    const target = state.generation;
    await this.converge('index', channel, subdir, target);
    const now = (await this.store.repodata.get(channel, subdir))!;
    if (now.fullBuilt >= target) return;
    if (now.records < this.syncRecords) await this.converge('full', channel, subdir, target);
    else this.scheduleFull(channel, subdir);
  }

  /** Stops pending debounced rebuilds (a rebuild under way finishes). */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private scheduleFull(channel: string, subdir: string): void {
    const k = `${channel}/${subdir}`;
    if (this.closed || this.timers.has(k)) return;
    const wait = Math.max(0, (this.lastFullStart.get(k) ?? 0) + this.debounceMs - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(k);
      this.lastFullStart.set(k, Date.now());
      void (async () => {
        const state = await this.store.repodata.get(channel, subdir);
        if (state) await this.converge('full', channel, subdir, state.generation);
      })().catch((err) => this.options.onError?.(err, channel, subdir));
    }, wait);
    timer.unref();
    this.timers.set(k, timer);
  }

  /** Returns once the artifact is built at `target` or later, by this process or another. */
  private async converge(artifact: RepodataArtifact, channel: string, subdir: string, target: number): Promise<void> {
    const k = `${artifact}:${channel}/${subdir}`;
    for (;;) {
      const state = await this.store.repodata.get(channel, subdir);
      if (state === null || builtOf(state, artifact) >= target) return;
      const running = this.inflight.get(k);
      if (running) {
        await running.catch(() => undefined);
        continue;
      }
      const run = this.buildOnce(artifact, channel, subdir).finally(() => {
        if (this.inflight.get(k) === run) this.inflight.delete(k);
      });
      this.inflight.set(k, run);
      const built = await run;
      if (!built) await sleep(POLL_MS); // another replica holds the lease: it builds, or its lease runs out
    }
  }

  /** One build under the lease; false when another builder holds it. */
  private async buildOnce(artifact: RepodataArtifact, channel: string, subdir: string): Promise<boolean> {
    const repo = this.store.repodata;
    if (!(await repo.claim(channel, subdir, artifact, this.owner, Date.now(), Date.now() + this.leaseMs))) return false;
    const renew = setInterval(() => {
      void repo.claim(channel, subdir, artifact, this.owner, Date.now(), Date.now() + this.leaseMs).catch(() => undefined);
    }, this.leaseMs / 3);
    renew.unref();
    const started = process.hrtime.bigint();
    try {
      // read under the lease: everything committed up to `generation` is in what follows
      const state = (await repo.get(channel, subdir))!;
      if (builtOf(state, artifact) >= state.generation) return true;
      if (artifact === 'index') await this.buildIndex(channel, subdir, state);
      else await this.buildFull(channel, subdir, state);
      this.telemetry.repodataGenerated(secondsSince(started));
      return true;
    } finally {
      clearInterval(renew);
      await repo.release(channel, subdir, artifact, this.owner);
    }
  }

  private async buildIndex(channel: string, subdir: string, state: RepodataState): Promise<void> {
    const repo = this.store.repodata;
    const generation = state.generation;
    const k = `${channel}/${subdir}`;
    const entries = await this.indexEntries(channel, subdir, state);
    // out of the cache until this build is recorded: a build that fails midway leaves no half-known map
    this.indexCache.delete(k);
    for (const name of await repo.changedNames(channel, subdir, state.indexBuilt)) {
      const { records, removed } = await this.store.packages.listByName(channel, subdir, name);
      const packages = new Map<string, PackageRecord>();
      const packagesConda = new Map<string, PackageRecord>();
      for (const r of records) (r.filename.endsWith('.conda') ? packagesConda : packages).set(r.filename, r.record);
      const shard = buildShard({ packages, packagesConda, removed });
      const key = channelFileKey(channel, subdir, shardPath(shard.sha256));
      // immutable and content-addressed: an existing shard already holds these bytes
      if ((await this.blobs.stat(key)) === null) await this.blobs.putBytes(key, shard.bytes);
      // with it, what current_repodata.json takes from this name alone: full rebuilds read that, not every record
      const current = JSON.stringify(newestOfName(records));
      // and its part of repodata.json as bytes: what a full rebuild copies (segments.ts)
      await repo.setSegments(channel, subdir, name, generation, segmentsOf(records));
      if (await repo.setShard(channel, subdir, name, Buffer.from(shard.sha256).toString('hex'), generation, current)) {
        entries.set(name, shard.sha256);
      } else {
        // a newer build recorded this name's shard (a replica whose lease outlived ours): name what it wrote
        const hex = (await repo.shardHashes(channel, subdir)).get(name);
        if (hex !== undefined) entries.set(name, Buffer.from(hex, 'hex'));
      }
    }
    const bytes = zstdCompress(entries.encode({ subdir, createdAt: new Date() }), SHARD_INDEX_ZSTD_LEVEL);
    const key = channelFileKey(channel, subdir, SHARD_INDEX_FILENAME);
    await this.blobs.putBytes(key, bytes);
    const facts = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
    if (!(await repo.markBuilt(channel, subdir, 'index', this.owner, generation, facts))) {
      await repo.bump(channel, subdir); // we may have overwritten a newer index: have it written again
      return;
    }
    this.indexCache.set(k, { entries, generation, sha256: facts.sha256 });
    this.remember(key, facts, bytes);
    await this.notify(channel, subdir);
  }

  /**
   * The subdir's name → shard hash map as of the index last recorded (`state.indexBuilt`), so a build
   * patches only the names changed since instead of reading every name's hash (O(names) per upload).
   * Ours is current when the recorded index is the one we wrote from it; when another replica built
   * since, only the names changed after our generation are read again (by the `changed` index); a
   * shard's address depends on its content alone, so names not changed since kept their hashes.
   */
  private async indexEntries(channel: string, subdir: string, state: RepodataState): Promise<ShardIndexEntries> {
    const cached = this.indexCache.get(`${channel}/${subdir}`);
    if (cached !== undefined && state.indexBuilt >= cached.generation) {
      const ours = state.indexBuilt === cached.generation && state.indexFile?.sha256 === cached.sha256;
      if (ours) return cached.entries;
      for (const [name, hex] of await this.store.repodata.shardHashes(channel, subdir, cached.generation)) cached.entries.set(name, Buffer.from(hex, 'hex'));
      // names only ever gain a shard: another count means the channel was deleted and made anew meanwhile
      if ((await this.store.repodata.shardCount(channel, subdir)) === cached.entries.size) return cached.entries;
    }
    const entries = new ShardIndexEntries();
    for (const [name, hex] of await this.store.repodata.shardHashes(channel, subdir)) entries.set(name, Buffer.from(hex, 'hex'));
    return entries;
  }

  private async buildFull(channel: string, subdir: string, state: RepodataState): Promise<void> {
    const large = state.records >= this.syncRecords;
    // large subdirs go to the configured writer (a builder process of its own, when the server has one)
    const writer = large && this.options.fullFiles !== undefined ? this.options.fullFiles : this.localFull;
    const written = await writer.write({ channel, subdir, generation: state.generation, large, hashedCopies: this.hashedCopies });
    if (!(await this.store.repodata.markBuilt(channel, subdir, 'full', this.owner, state.generation, written.facts))) {
      await this.store.repodata.bump(channel, subdir);
      return;
    }
    // remembered after the swap: a reader may briefly get new bytes with the old ETag (harmless:
    // it revalidates), never old bytes with the new one
    for (const name of FULL_FILES) this.remember(channelFileKey(channel, subdir, name), written.facts[name], written.bytes[name]);
    await this.notify(channel, subdir);
  }

  /** Tells the listeners of the subdir's files as recorded now; one notification at a time per subdir. */
  private async notify(channel: string, subdir: string): Promise<void> {
    if (this.listeners.length === 0) return;
    const k = `${channel}/${subdir}`;
    const previous = this.notifying.get(k) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const state = await this.store.repodata.get(channel, subdir);
      if (!state) return;
      const files: PublishedChannelFile[] = [];
      for (const name of FULL_FILES) {
        const f = state.fullFiles?.[name];
        const key = this.hashedCopies && f ? hashedFileKey(channel, subdir, f.sha256, name) : channelFileKey(channel, subdir, name);
        if (f) files.push({ path: name, key, ...f });
      }
      if (state.indexFile) files.push({ path: SHARD_INDEX_FILENAME, key: channelFileKey(channel, subdir, SHARD_INDEX_FILENAME), ...state.indexFile });
      for (const listener of this.listeners) await listener.subdirPublished(channel, subdir, files);
    });
    this.notifying.set(k, next);
    try {
      await next;
    } finally {
      if (this.notifying.get(k) === next) this.notifying.delete(k);
    }
  }

  /**
   * The version in place under `key` as this process last saw it, whatever its age (the web catalog's
   * change stamps). For answering a request use `currentFile`, or `freshFile` where no await is possible.
   */
  publishedFile(key: string): PublishedFile | undefined {
    return this.published.get(key);
  }

  /** As publishedFile, but only when the database confirmed it within the last second. */
  freshFile(key: string): PublishedFile | undefined {
    const f = this.published.get(key);
    return f && Date.now() - f.checkedAt <= FRESH_MS ? f : undefined;
  }

  /**
   * The version of a generated file in place now, checked against the database (one primary-key
   * read), so a replica never answers with an ETag another replica has replaced. Undefined when
   * nothing was recorded (the blob store, or the empty fallback, answers).
   */
  async currentFile(channel: string, subdir: string, file: string): Promise<PublishedFile | undefined> {
    const key = channelFileKey(channel, subdir, file);
    const state = await this.store.repodata.get(channel, subdir);
    const facts = file === SHARD_INDEX_FILENAME ? state?.indexFile : state?.fullFiles?.[file];
    if (!facts) return undefined;
    const cached = this.published.get(key);
    if (cached && cached.sha256 === facts.sha256) {
      cached.checkedAt = Date.now();
      return cached;
    }
    // written by another replica (or before this process started): its ETag from the recorded hash
    this.remember(key, facts, null);
    return this.published.get(key);
  }

  private remember(key: string, facts: FileFacts, bytes: Buffer | null): void {
    const old = this.published.get(key);
    if (old?.bytes) this.publishedBytes -= old.bytes.length;
    const keep = bytes !== null && bytes.length <= MEMORY_FILE_LIMIT && this.publishedBytes + bytes.length <= MEMORY_TOTAL_LIMIT;
    if (keep) this.publishedBytes += bytes.length;
    const now = Date.now();
    this.published.set(key, {
      etag: etagOfSha256(facts.sha256),
      sha256: facts.sha256,
      size: facts.size,
      lastModified: new Date(now),
      bytes: keep ? bytes : null,
      checkedAt: now,
    });
  }

  /** What a subdir serves before anything was published to it: valid empty repodata. */
  emptyFile(subdir: string, file: string): ChannelFile | undefined {
    let files = this.emptyCache.get(subdir);
    if (!files) {
      const built = subdirFiles({ subdir, packages: new Map(), packagesConda: new Map(), removed: [], createdAt: new Date() });
      files = new Map(built.map((f) => [f.path.slice(subdir.length + 1), { ...f, path: f.path.slice(subdir.length + 1) }]));
      this.emptyCache.set(subdir, files);
    }
    return files.get(file);
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

function builtOf(state: RepodataState, artifact: RepodataArtifact): number {
  return artifact === 'index' ? state.indexBuilt : state.fullBuilt;
}
