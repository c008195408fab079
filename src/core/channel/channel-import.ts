import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parsePackageFilename } from '../conda/filename.ts';
import type { PackageRecord } from '../conda/types.ts';
import { isProvenaError } from '../errors.ts';
import type { Principal } from './access.ts';
import { type ChangeLog, fileEntry } from './log-entries.ts';
import type { StoredPackage } from './model.ts';
import { channelFileKey, packageBlobKey, type BlobStore, type Clock, type MetadataStore, type Spool } from './ports.ts';
import { placeStaticFiles } from './static-layout.ts';

/** One subdir of an existing channel: its repodata records and where each file is on local disk. */
export interface ImportSubdir {
  subdir: string;
  /** how many records `records()` yields (for progress) */
  count: number;
  /** `packages` and `packages.conda` of the source repodata, by filename, read as a stream */
  records(): AsyncIterable<readonly [string, Record<string, unknown>]>;
  /** the local path of a package file (it may not exist) */
  fileOf(filename: string): string;
}

export interface ImportReport {
  imported: number;
  /** already in the channel with the same bytes */
  identical: number;
  refused: { subdir: string; filename: string; reason: string }[];
  bytes: number;
  /** the log entries written, first and last index (null when none) */
  logRange: [number, number] | null;
}

export interface ImportProgress {
  /** one file handled (imported, skipped or refused) */
  file(subdir: string, filename: string, outcome: 'imported' | 'identical' | 'refused', reason?: string): void;
}

export interface ImportDeps {
  store: MetadataStore;
  blobs: BlobStore;
  log: ChangeLog;
  clock: Clock;
  spool: Spool;
  /** regenerates a subdir's repodata from the database (RepodataPublisher.refresh) */
  refresh(channel: string, subdir: string): Promise<void>;
  /** records per transaction (default 500) */
  batchSize?: number;
  /** files read and stored at once (default 8) */
  concurrency?: number;
}

const IMPORTER: Principal = { kind: 'admin' };

interface Candidate {
  filename: string;
  record: PackageRecord;
}

/** A file the channel already holds, as far as comparing it with a source record needs. */
interface Present {
  sha256: string;
  md5: string;
  size: number;
}

/**
 * Loads an existing channel's files (a mirror, a conda-index directory) into a channel: the repodata
 * records as the source has them (patched metadata and all), each file's bytes streamed once through
 * the spool while hashed and checked against the record's sha256/md5/size, so a corrupt or missing
 * file is refused by name and nothing of it is stored. Records are committed in batches (multi-row
 * inserts), with their `publish` log entries appended in bulk in the same transaction (the log stays complete); the repodata of each subdir is
 * regenerated once, at the end. A re-run skips every file already there with the same bytes.
 */
export class ChannelImport {
  private readonly batchSize: number;
  private readonly concurrency: number;

  constructor(private readonly deps: ImportDeps) {
    this.batchSize = deps.batchSize ?? 500;
    this.concurrency = deps.concurrency ?? 8;
  }

  async run(channel: string, subdirs: readonly ImportSubdir[], progress?: ImportProgress): Promise<ImportReport> {
    const report: ImportReport = { imported: 0, identical: 0, refused: [], bytes: 0, logRange: null };
    for (const source of subdirs) {
      const before = report.imported;
      await this.importSubdir(channel, source, report, progress);
      // a re-run that imported nothing leaves the subdir's files alone (unless they were never written)
      const written = await this.deps.blobs.stat(channelFileKey(channel, source.subdir, 'repodata.json'));
      if (report.imported > before || !written) await this.deps.refresh(channel, source.subdir);
    }
    return report;
  }

  private async importSubdir(channel: string, source: ImportSubdir, report: ImportReport, progress?: ImportProgress): Promise<void> {
    const { subdir } = source;
    // what the channel holds already, by filename: only what a comparison needs (bounded per record)
    const existing = new Map<string, Present>();
    for await (const { filename, record } of this.deps.store.packages.scan(channel, subdir, { order: 'filename' })) {
      existing.set(filename, { sha256: record.sha256 ?? '', md5: record.md5 ?? '', size: record.size ?? -1 });
    }
    const refuse = (filename: string, reason: string) => {
      report.refused.push({ subdir, filename, reason });
      progress?.file(subdir, filename, 'refused', reason);
    };
    // read as a stream and checked in order; stored `concurrency` files at a time (their fsyncs and
    // requests overlap); committed `batchSize` records per transaction, so memory holds one batch
    let candidates: Candidate[] = [];
    const seen = new Set<string>();
    for await (const [filename, raw] of source.records()) {
      if (seen.has(filename)) {
        refuse(filename, 'the source lists it twice');
        continue;
      }
      seen.add(filename);
      const record = checkRecord(filename, raw, subdir);
      if (typeof record === 'string') {
        refuse(filename, record);
        continue;
      }
      const present = existing.get(filename);
      if (!present) {
        candidates.push({ filename, record });
      } else if (sameContent(present, record)) {
        report.identical++;
        progress?.file(subdir, filename, 'identical');
      } else {
        refuse(filename, `the channel holds another ${filename} (sha256 ${present.sha256}); remove it first to import this one`);
      }
      if (candidates.length >= this.batchSize) {
        await this.importBatch(channel, source, candidates, report, refuse, progress);
        candidates = [];
      }
    }
    if (candidates.length > 0) await this.importBatch(channel, source, candidates, report, refuse, progress);
  }

  private async importBatch(
    channel: string,
    source: ImportSubdir,
    candidates: readonly Candidate[],
    report: ImportReport,
    refuse: (filename: string, reason: string) => void,
    progress?: ImportProgress,
  ): Promise<void> {
    const { subdir } = source;
    const batch: StoredPackage[] = [];
    await eachConcurrently(candidates, this.concurrency, async ({ filename, record }) => {
      const stored = await this.storeFile(source.fileOf(filename), record).catch((e: unknown) => {
        if (isProvenaError(e)) return e.detail;
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return `${source.fileOf(filename)} does not exist`;
        if (code === 'EACCES' || code === 'EISDIR') return `cannot read ${source.fileOf(filename)} (${code})`;
        throw e;
      });
      if (typeof stored === 'string') return refuse(filename, stored);
      batch.push({
        channel,
        subdir,
        filename,
        sha256: stored.sha256,
        md5: stored.md5,
        size: stored.size,
        record: { ...record, sha256: stored.sha256, md5: stored.md5, size: stored.size },
        about: null,
        uploadedAt: this.deps.clock.now().toISOString(),
        uploadedBy: 'import',
        attestationsSha256: null,
      });
      report.bytes += stored.size;
    });
    // in source order, so the log reads like the repodata
    const order = new Map(candidates.map((c, i) => [c.filename, i]));
    batch.sort((a, b) => order.get(a.filename)! - order.get(b.filename)!);
    if (batch.length > 0) await this.commit(batch, report, refuse, progress);
  }

  /** The file's bytes, hashed on their way to the spool, checked, then made durable in the blob store. */
  private async storeFile(file: string, record: PackageRecord): Promise<{ sha256: string; md5: string; size: number } | string> {
    const spooled = this.deps.spool.path();
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    let size = 0;
    try {
      await pipeline(
        createReadStream(file, { highWaterMark: 1024 * 1024 }),
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            sha256.update(chunk);
            md5.update(chunk);
            size += chunk.length;
            done(null, chunk);
          },
        }),
        createWriteStream(spooled),
      );
      const got = { sha256: sha256.digest('hex'), md5: md5.digest('hex'), size };
      const mismatch = digestMismatch(record, got);
      if (mismatch) return mismatch;
      const key = packageBlobKey(got.sha256);
      const there = await this.deps.blobs.stat(key);
      if (there?.size !== got.size) await this.deps.blobs.putFile(key, spooled);
      return got;
    } finally {
      await fs.rm(spooled, { force: true });
    }
  }

  private async commit(
    batch: StoredPackage[],
    report: ImportReport,
    refuse: (filename: string, reason: string) => void,
    progress?: ImportProgress,
  ): Promise<void> {
    const now = this.deps.clock.now();
    const outcomes = await this.deps.store.transaction(async (tx) => {
      // the records in multi-row inserts, then their entries in one bulk append: taken in the
      // transaction of the publishes they record, both or neither
      const inserted = await tx.packages.insertMany(batch);
      const published = batch.filter((pkg) => inserted.has(pkg));
      const entries = published.map((pkg) => fileEntry('publish', pkg, IMPORTER, now));
      const log = this.deps.log;
      const indexes = log.appendMany ? await log.appendMany(tx, entries) : await sequentially(entries, (e) => log.append(tx, e));
      const indexOf = new Map(published.map((pkg, i) => [pkg, indexes[i]!]));
      return batch.map((pkg) => ({ pkg, index: indexOf.get(pkg) ?? null }));
    });
    await eachConcurrently(outcomes, this.concurrency, async ({ pkg, index }) => {
      if (index === null) {
        // someone published that filename meanwhile (an upload on a running server)
        return refuse(pkg.filename, `${pkg.filename} was published to the channel while importing; left as it is`);
      }
      await placeStaticFiles(this.deps.blobs, pkg);
      report.imported++;
      report.logRange = report.logRange ? [Math.min(report.logRange[0], index), Math.max(report.logRange[1], index)] : [index, index];
      progress?.file(pkg.subdir, pkg.filename, 'imported');
    });
  }
}

/** The record, or why it cannot be imported: the filename must parse and agree with the record. */
function checkRecord(filename: string, raw: Record<string, unknown>, subdir: string): PackageRecord | string {
  let parsed;
  try {
    parsed = parsePackageFilename(filename);
  } catch (e) {
    if (isProvenaError(e)) return e.detail;
    throw e;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'its repodata record is not an object';
  for (const field of ['name', 'version', 'build'] as const) {
    if (raw[field] !== parsed[field]) {
      return `the record's ${field} is ${JSON.stringify(raw[field])} but the filename says ${JSON.stringify(parsed[field])}`;
    }
  }
  if (raw.subdir !== undefined && raw.subdir !== subdir) return `the record's subdir is ${JSON.stringify(raw.subdir)}, not ${subdir}`;
  if (raw.build_number !== undefined && !Number.isSafeInteger(raw.build_number)) return 'the record\'s build_number is not an integer';
  for (const [field, pattern] of [['sha256', /^[0-9a-f]{64}$/], ['md5', /^[0-9a-f]{32}$/]] as const) {
    if (raw[field] !== undefined && (typeof raw[field] !== 'string' || !pattern.test(raw[field] as string))) {
      return `the record's ${field} is not a hex digest`;
    }
  }
  if (raw.size !== undefined && !Number.isSafeInteger(raw.size)) return "the record's size is not an integer";
  if (raw.sha256 === undefined && raw.md5 === undefined) return 'the record has neither sha256 nor md5 to check the file against';
  return raw as PackageRecord;
}

function digestMismatch(record: PackageRecord, got: { sha256: string; md5: string; size: number }): string | null {
  if (record.size !== undefined && record.size !== got.size) return `size mismatch: the repodata says ${record.size} bytes, the file has ${got.size}`;
  if (record.sha256 !== undefined && record.sha256 !== got.sha256) {
    return `sha256 mismatch: the repodata says ${record.sha256}, the file hashes to ${got.sha256}`;
  }
  if (record.md5 !== undefined && record.md5 !== got.md5) return `md5 mismatch: the repodata says ${record.md5}, the file hashes to ${got.md5}`;
  return null;
}

function sameContent(present: Present, record: PackageRecord): boolean {
  if (record.sha256 !== undefined) return present.sha256 === record.sha256;
  return present.md5 === record.md5 && (record.size === undefined || present.size === record.size);
}

async function sequentially<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

async function eachConcurrently<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
