/**
 * Writes a subdir's full repodata files (repodata.json, current_repodata.json and their .zst) from the
 * database into the blob store, and says what it wrote. The RepodataPublisher calls it under its lease
 * and records the result; this part only reads and writes bytes, so it can run in another process
 * (src/adapters/repodata/builder-process.ts) that has its own connection and its own CPU priority.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { currentRepodataStreaming } from '../repodata/current-stream.ts';
import { repodataChunks, repodataSegmentChunks } from '../repodata/repodata-json.ts';
import { segmentsOf, type FragmentOf, type SegmentSource } from '../repodata/segments.ts';
import { spoolJsonAndZst, type SpooledFile } from '../repodata/spooled-json.ts';
import { compareCodePoints } from '../repodata/subdir-records.ts';
import { REPODATA_ZSTD_LEVEL, SHARD_ZSTD_LEVEL } from '../repodata/zstd.ts';
import { channelFileKey, type BlobStore, type FileFacts, type MetadataStore } from './ports.ts';
import { secondsSince } from '../telemetry.ts';

export const FULL_FILES = ['repodata.json', 'repodata.json.zst', 'current_repodata.json', 'current_repodata.json.zst'] as const;
export type FullFile = (typeof FULL_FILES)[number];

export interface FullFilesRequest {
  channel: string;
  subdir: string;
  /** the generation the publisher builds (read under its lease): every change up to it is in the files */
  generation: number;
  /** at or above the publisher's `syncRecords`: zstd's default level, compression on a worker thread */
  large: boolean;
  /** also keep each file under its sha256 (TUF consistent snapshots), the plain name a link to it */
  hashedCopies: boolean;
}

export interface WrittenFullFiles {
  facts: Record<FullFile, FileFacts>;
  /** the bytes of the files small enough to answer from memory (the rest: null) */
  bytes: Record<FullFile, Buffer | null>;
  /** how long each stage took (s): what the bench reports */
  seconds: { repodata: number; current: number };
}

export interface FullFilesWriter {
  write(request: FullFilesRequest): Promise<WrittenFullFiles>;
}

/** Generated files up to this size are kept in memory to be answered from there. */
export const MEMORY_FILE_LIMIT = 1024 * 1024;
/** full files are written in pieces of about this many characters (bytes): few system calls, little memory */
const CHUNK = 1 << 20;
/** names whose segments are written from their records per query */
const STALE_BATCH = 500;
/**
 * zstd level of the full files of a large subdir: zstd's default, ~5× faster than the level small
 * subdirs get (measured: 9 is where most of a 400k-record rebuild went) for a file ~10% larger;
 * rattler and pixi read such subdirs through the shards anyway.
 */
const LARGE_SUBDIR_ZSTD_LEVEL = SHARD_ZSTD_LEVEL;

/**
 * Where a full file's bytes also live under their sha256, when a listener keeps such copies: the name
 * TUF consistent snapshots give a target (`SUBDIR/SHA256.repodata.json`, relative to the channel), so
 * a static bucket serves signed repodata as it is (src/core/tuf/target-copies.ts agrees).
 */
export const hashedFileKey = (channel: string, subdir: string, sha256: string, file: string) => channelFileKey(channel, subdir, `${sha256}.${file}`);

/** Writes the files in this process. */
export class LocalFullFiles implements FullFilesWriter {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly spoolDir: string = os.tmpdir(),
  ) {}

  async write({ channel, subdir, generation, large, hashedCopies }: FullFilesRequest): Promise<WrittenFullFiles> {
    await fs.mkdir(this.spoolDir, { recursive: true });
    const spoolPath = (name: string) => path.join(this.spoolDir, `repodata-${randomBytes(8).toString('hex')}-${name}`);
    const spooled: Partial<Record<FullFile, SpooledFile>> = {};
    const level = large ? LARGE_SUBDIR_ZSTD_LEVEL : REPODATA_ZSTD_LEVEL;
    // large subdirs compress on a worker thread: the reader keeps its thread meanwhile
    const spoolOptions = { zstdInWorker: large };
    try {
      const removed = [...new Set(await this.store.packages.removed(channel, subdir))].sort(compareCodePoints);
      // a document and its .zst, spooled side by side
      const spool = async (file: 'repodata.json' | 'current_repodata.json', chunks: AsyncIterable<Buffer>) => {
        const done = await spoolJsonAndZst(chunks, spoolPath(file), spoolPath(`${file}.zst`), level, MEMORY_FILE_LIMIT, spoolOptions);
        spooled[file] = done.json;
        spooled[`${file}.zst`] = done.zst;
      };
      let started = process.hrtime.bigint();
      // each name's stored part of the document, concatenated: nothing parsed, nothing serialised
      await this.writeStaleSegments(channel, subdir, generation);
      await spool('repodata.json', repodataSegmentChunks({ subdir, removed, source: this.segmentSource(channel, subdir), chunkSize: CHUNK }));
      const repodataSeconds = secondsSince(started);
      started = process.hrtime.bigint();
      const current = await currentRepodataStreaming({
        byName: () => this.store.packages.scan(channel, subdir, { order: 'name' }),
        lookup: async (name) => (await this.store.packages.listByName(channel, subdir, name)).records,
        keptParts: () => this.store.repodata.currentParts(channel, subdir),
      });
      await spool('current_repodata.json', repodataChunks({ subdir, removed, packages: current.packages, packagesConda: current.packagesConda, chunkSize: CHUNK }));
      const currentSeconds = secondsSince(started);
      const facts = {} as Record<FullFile, FileFacts>;
      const bytes = {} as Record<FullFile, Buffer | null>;
      for (const name of FULL_FILES) {
        const file = spooled[name]!;
        await this.place(channel, subdir, name, file, hashedCopies);
        facts[name] = { sha256: file.sha256, size: file.size };
        bytes[name] = file.bytes;
      }
      return { facts, bytes, seconds: { repodata: repodataSeconds, current: currentSeconds } };
    } finally {
      // what putFile did not consume (a failure on the way)
      await Promise.all(Object.values(spooled).map((f) => fs.rm(f.path, { force: true })));
    }
  }

  /**
   * Segments of names changed since theirs were written, from their records (the upload that changed a
   * name writes them; this catches a builder that stopped midway, and rows from before 0011).
   */
  private async writeStaleSegments(channel: string, subdir: string, generation: number): Promise<void> {
    const stale = await this.store.repodata.staleSegmentNames(channel, subdir);
    for (let i = 0; i < stale.length; i += STALE_BATCH) {
      const names = stale.slice(i, i + STALE_BATCH);
      const byName = new Map<string, FragmentOf[]>(names.map((n) => [n, []]));
      for (const r of await this.store.packages.fragmentsOfNames(channel, subdir, names)) byName.get(r.name)!.push(r);
      // one transaction a batch: one commit (fsync) per 500 names, not per name
      await this.store.transaction(async (tx) => {
        for (const [name, records] of byName) await tx.repodata.setSegments(channel, subdir, name, generation, segmentsOf(records));
      });
    }
  }

  private segmentSource(channel: string, subdir: string): SegmentSource {
    const store = this.store;
    return {
      segments: (format) => store.repodata.segments(channel, subdir, format),
      async *fragments(format, names) {
        const records = await store.packages.fragmentsOfNames(channel, subdir, names, format);
        yield* records.sort((a, b) => compareCodePoints(a.filename, b.filename));
      },
    };
  }

  private async place(channel: string, subdir: string, name: FullFile, file: SpooledFile, hashedCopies: boolean): Promise<void> {
    const plain = channelFileKey(channel, subdir, name);
    if (!hashedCopies) return this.blobs.putFile(plain, file.path);
    // under its content address first (what signed repodata names), then at its plain name by a
    // link: TUF's consistent snapshot costs no copy of a 250 MB file
    const hashed = hashedFileKey(channel, subdir, file.sha256, name);
    const existed = (await this.blobs.stat(hashed)) !== null;
    if (!existed) await this.blobs.putFile(hashed, file.path);
    try {
      await this.blobs.link(hashed, plain);
    } catch (e) {
      if (!existed) throw e;
      // the same bytes from an older version, pruned since we looked: from our spool file then
      await this.blobs.putFile(hashed, file.path);
      await this.blobs.link(hashed, plain);
    }
  }
}
