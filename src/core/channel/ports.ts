import type { RepodataSegment, SegmentFormat, StoredSegment } from '../repodata/segments.ts';
import type { Readable } from 'node:stream';
import type { ApiKey, Channel, KeyScope, StoredPackage } from './model.ts';
import type { TrustedPublisher } from '../publish/publisher.ts';
import type { TrustedPublishingRepo } from '../publish/upload-tokens.ts';
import type { LogRepo } from '../tlog/log-repo.ts';
import type { PackageRecord } from '../conda/types.ts';
import type { TufRepo } from '../tuf/tuf-repo.ts';

/** Metadata: channels, keys, packages. One implementation per database, same behaviour. */
export interface MetadataStore {
  readonly channels: ChannelRepo;
  readonly keys: ApiKeyRepo;
  readonly packages: PackageRepo;
  /** the transparency log's sequence, entries, stored hashes and checkpoints */
  readonly log: LogRepo;
  /** Trusted Publishers per channel (shared by attestation checks and Trusted Publishing) */
  readonly publishers: PublisherRepo;
  /** verified attestation facts per package file */
  readonly attestations: AttestationRepo;
  /** Trusted Publishing: id-token replay claims and minted upload tokens */
  readonly trustedPublishing: TrustedPublishingRepo;
  /** repodata generations, shard hashes and builder leases per subdir (core/channel/repodata-publisher.ts) */
  readonly repodata: RepodataStateRepo;
  /** signed repodata (TUF): each channel's metadata versions and documents */
  readonly tuf: TufRepo;
  /** Runs `fn` in one database transaction; the commit is the acknowledgement. */
  transaction<T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface ChannelRepo {
  /** Returns false when a channel of that name exists already. */
  create(channel: Channel): Promise<boolean>;
  get(name: string): Promise<Channel | null>;
  list(): Promise<Channel[]>;
  update(name: string, changes: Partial<Pick<Channel, 'private' | 'requireAttestations' | 'maxPackageBytes'>>): Promise<Channel | null>;
  /** Deletes the channel with its keys and packages; returns the sha256 of every file it held. */
  delete(name: string): Promise<string[] | null>;
}

export interface ApiKeyRepo {
  create(key: ApiKey, secretHash: string): Promise<void>;
  /** The key whose secret hashes to `secretHash`, whatever its state (callers check expiry/revocation). */
  findBySecretHash(secretHash: string): Promise<ApiKey | null>;
  get(id: string): Promise<ApiKey | null>;
  list(channel?: string): Promise<ApiKey[]>;
  revoke(id: string, at: string): Promise<boolean>;
}

export type InsertOutcome = 'inserted' | 'replaced' | 'exists';

export interface PackageRepo {
  get(channel: string, subdir: string, filename: string): Promise<StoredPackage | null>;
  /**
   * Adds a file to the channel. Without `replace`, an existing live file of that name wins and the
   * outcome is `exists` (nothing changes). Re-adding a removed filename takes it out of `removed`.
   */
  insert(pkg: StoredPackage, opts: { replace: boolean }): Promise<InsertOutcome>;
  /**
   * Adds many new files at once (multi-row inserts, for `provena import`): as `insert` without
   * `replace` for each, an existing live filename wins. Returns the packages that were added.
   */
  insertMany(pkgs: readonly StoredPackage[]): Promise<Set<StoredPackage>>;
  /** Takes a file out of `packages` and puts its filename into `removed`. */
  remove(channel: string, subdir: string, filename: string): Promise<StoredPackage | null>;
  // insert and remove also mark the name's shard stale and bump the subdir's repodata generation
  // (RepodataStateRepo.markChanged) in the same transaction: no committed change goes unpublished
  list(channel: string, subdir: string): Promise<StoredPackage[]>;
  /** One package name's live records (with their repodata.json text) and removed filenames in a subdir: what its shard and segments hold. */
  listByName(channel: string, subdir: string, name: string): Promise<{ records: (SubdirRecord & RecordFragment)[]; removed: string[] }>;
  /**
   * A subdir's live records in pages (bounded memory), ordered by filename in code point order, or by
   * (name, filename); `format` keeps one of repodata.json's two sections.
   */
  scan(channel: string, subdir: string, opts: { order: 'filename' | 'name'; format?: 'conda' | 'tar.bz2'; pageSize?: number }): AsyncIterable<SubdirRecord>;
  /** The named names' live records as repodata.json writes them, grouped by name; `format`: one section. */
  fragmentsOfNames(channel: string, subdir: string, names: readonly string[], format?: SegmentFormat): Promise<(RecordFragment & { name: string })[]>;
  removed(channel: string, subdir: string): Promise<string[]>;
  /** Subdirs of a channel that hold at least one live or removed file. */
  subdirs(channel: string): Promise<string[]>;
  /** Whether any live package anywhere still refers to this content. */
  isReferenced(sha256: string): Promise<boolean>;
  count(channel: string): Promise<number>;
}

/** A record as the repodata writers read it: the parsed record of one file. */
export interface SubdirRecord {
  filename: string;
  record: PackageRecord;
}

/** A record as a full rebuild reads it: its compact repodata.json text (record-fragment.ts). */
export interface RecordFragment {
  filename: string;
  fragment: string;
}

export type RepodataArtifact = 'index' | 'full';

/** The facts of a generated file in place: what its ETag and signed metadata are made from. */
export interface FileFacts {
  sha256: string;
  size: number;
}

export interface RepodataState {
  /** bumped by every change to the subdir's records */
  generation: number;
  records: number;
  indexBuilt: number;
  fullBuilt: number;
  indexFile: FileFacts | null;
  /** by path relative to the subdir */
  fullFiles: Record<string, FileFacts> | null;
}

/**
 * Bookkeeping that lets any number of replicas keep repodata in step with the records without two
 * of them writing conflicting versions: a generation per subdir, bumped in the transaction of each
 * change; a lease per artifact (shard index, full files) so one builder at a time writes; and a
 * compare-and-swap that records which generation is in place (never moving backwards).
 */
export interface RepodataStateRepo {
  /** In the change's transaction: bumps the generation, adjusts the record count, marks the names changed. */
  markChanged(channel: string, subdir: string, names: readonly string[], recordDelta: number): Promise<number>;
  get(channel: string, subdir: string): Promise<RepodataState | null>;
  /** Names changed after generation `since` (or whose shard was never built). */
  changedNames(channel: string, subdir: string, since: number): Promise<string[]>;
  /** Records a name's shard built from the records as of `generation`; false when a newer build is recorded. */
  /** `current`: what current_repodata.json takes from this name alone (JSON, current-stream.ts `newestOfName`) */
  setShard(channel: string, subdir: string, name: string, sha256: string, generation: number, current?: string | null): Promise<boolean>;
  /**
   * Each name's stored current_repodata part, by name in code point order, in pages; null where there is
   * none or it predates the name's last change.
   */
  currentParts(channel: string, subdir: string, pageSize?: number): AsyncIterable<{ name: string; current: string | null }>;
  /**
   * Replaces a name's repodata segments (core/repodata/segments.ts) with those made from its records as
   * of `generation`; false, and nothing written, when segments of a newer generation are recorded.
   */
  setSegments(channel: string, subdir: string, name: string, generation: number, segments: readonly RepodataSegment[]): Promise<boolean>;
  /** Names whose segments were never written or predate the name's last change. */
  staleSegmentNames(channel: string, subdir: string): Promise<string[]>;
  /** One section's segments ordered by their first filename (code point order), in pages. */
  segments(channel: string, subdir: string, format: SegmentFormat, pageSize?: number): AsyncIterable<StoredSegment>;
  /** Every name with a built shard, and its hex sha256; with `changedSince`, only names changed after that generation. */
  shardHashes(channel: string, subdir: string, changedSince?: number): Promise<Map<string, string>>;
  /** How many names have a built shard (a cheap check that a kept name → hash map still matches). */
  shardCount(channel: string, subdir: string): Promise<number>;
  /** Takes the artifact's lease until `untilMs` if it is free, expired or already ours. */
  claim(channel: string, subdir: string, artifact: RepodataArtifact, owner: string, nowMs: number, untilMs: number): Promise<boolean>;
  release(channel: string, subdir: string, artifact: RepodataArtifact, owner: string): Promise<void>;
  /**
   * Compare-and-swap: records that `generation` of the artifact is in place, with its files' facts,
   * only while the lease is `owner`'s and no newer generation is recorded. False: another builder won.
   */
  markBuilt(
    channel: string,
    subdir: string,
    artifact: RepodataArtifact,
    owner: string,
    generation: number,
    files: FileFacts | Record<string, FileFacts>,
  ): Promise<boolean>;
  /** Bumps the generation without a change: makes whoever builds next write the files again. */
  bump(channel: string, subdir: string): Promise<number>;
  /** Subdirs whose shard index or full files are older than their generation. */
  behind(): Promise<{ channel: string; subdir: string }[]>;
}

export interface PublisherRepo {
  add(publisher: TrustedPublisher): Promise<void>;
  list(channel: string): Promise<TrustedPublisher[]>;
  get(id: string): Promise<TrustedPublisher | null>;
  remove(id: string): Promise<boolean>;
}

/** What was verified for one package file's attestation; the `.sigs` bytes are a blob by `sigsSha256`. */
export interface AttestationRecord {
  channel: string;
  subdir: string;
  filename: string;
  sigsSha256: string;
  bundleSha256: string;
  verified: Record<string, unknown>;
  verifiedAt: string;
}

export interface AttestationRepo {
  put(record: AttestationRecord): Promise<void>;
  get(channel: string, subdir: string, filename: string): Promise<AttestationRecord | null>;
  remove(channel: string, subdir: string, filename: string): Promise<void>;
}

export interface BlobStat {
  size: number;
  /** strong validator for HTTP (`"..."`), stable while the bytes are */
  etag: string;
  lastModified: Date;
}

export interface ByteRange {
  start: number;
  /** inclusive */
  end: number;
}

/**
 * Bytes by key. Packages live under content-addressed keys (`pkgs/`, `sigs/`), the log under `log/`;
 * everything a static conda channel holds (repodata, shards, and each live package and its sidecars
 * at its channel path) under `channels/NAME/SUBDIR/...`, so the store's `channels/` is itself a
 * channel a web server or CDN can serve (docs/configuration.md, "Serving reads from the bucket").
 * Every write is atomic: a reader sees the old bytes or the new, never a mix.
 */
export interface BlobStore {
  /** Makes a local file durable under `key`, consuming it (moved or copied, then removed). */
  putFile(key: string, localPath: string): Promise<void>;
  putBytes(key: string, bytes: Uint8Array): Promise<void>;
  stat(key: string): Promise<BlobStat | null>;
  /**
   * Opens the bytes as they are now: the stat and every stream of the handle describe the same version,
   * even if the key is replaced meanwhile. Null when the key is absent. Close it if no stream is taken.
   */
  open(key: string): Promise<BlobHandle | null>;
  delete(key: string): Promise<void>;
  /** Keys under a prefix, for housekeeping. */
  list(prefix: string): AsyncIterable<string>;
  /**
   * Makes `toKey` hold the bytes `fromKey` holds now, atomically replacing what it held (a hard link
   * on files, a server-side copy in a bucket): how a package appears at its static channel path
   * without being sent again. Fails when `fromKey` is absent.
   */
  link(fromKey: string, toKey: string): Promise<void>;
  /** Removes what a crash mid-write left behind, where the store has such leftovers; before serving. */
  removeStaleTemporaries?(): Promise<number>;
}

export interface BlobHandle {
  readonly stat: BlobStat;
  /** Streams the bytes (or a range); the handle closes itself when the stream ends or fails. */
  stream(range?: ByteRange): Readable;
  close(): Promise<void>;
}

/** Somewhere to spool an upload on local disk while it is hashed and inspected. */
export interface Spool {
  /** A fresh path on local disk that nobody else uses; the caller writes and removes it. */
  path(): string;
}

export interface Clock {
  now(): Date;
}

/** One of a subdir's generated files as just published, named by what signed metadata (TUF) records. */
export interface PublishedChannelFile {
  /** relative to the subdir: `repodata.json`, `repodata.json.zst`, `current_repodata.json`, `repodata_shards.msgpack.zst` */
  path: string;
  /** the blob key the bytes are under */
  key: string;
  sha256: string;
  size: number;
}

/**
 * Told of every new version of a subdir's files, after they are all in place and before the refresh
 * that made them resolves. Signed repodata hangs off this; a failure fails the refresh.
 */
export interface RepodataListener {
  subdirPublished(channel: string, subdir: string, files: readonly PublishedChannelFile[]): Promise<void>;
  /**
   * Set by a listener that wants each full file also under `SUBDIR/SHA256.FILE` (signed repodata): the
   * publisher then writes it there first, links the plain name to it and passes that key; the listener
   * deletes the copies it no longer needs. Without such a listener no copies are made.
   */
  readonly keepsHashedCopies?: boolean;
}

export const packageBlobKey = (sha256: string) => `pkgs/sha256/${sha256.slice(0, 2)}/${sha256}`;
export const sigsBlobKey = (sha256: string) => `sigs/sha256/${sha256.slice(0, 2)}/${sha256}`;
export const channelFileKey = (channel: string, subdir: string, file: string) => `channels/${channel}/${subdir}/${file}`;

export type { KeyScope };
