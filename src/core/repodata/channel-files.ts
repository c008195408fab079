/**
 * Every file one subdir serves, built from its records: what conda (current_repodata.json(.zst),
 * repodata.json(.zst)) and rattler/pixi (repodata_shards.msgpack.zst + shards/) fetch. The caller
 * stores them and swaps them in atomically; nothing here knows about HTTP or storage.
 *
 * Caching: the repodata files and the shard index change whenever a package is published or
 * yanked; conda makes no request at all within `max-age`, so a short one (30 s) bounds how long a
 * new upload stays invisible, while the ETag makes each revalidation a cheap 304. CEP-16 suggests
 * 60 s to an hour for the index; Provena uses the same 30 s so both client families see a publish
 * at the same time. Shards are content-addressed and never change: cached for a year, immutable.
 */
import type { PackageRecord } from '../conda/types.ts';
import { currentRepodata, type CurrentVersionPins } from './current-repodata.ts';
import type { JsonStyle } from './python-json.ts';
import { serializeRepodata } from './repodata-json.ts';
import { buildShard, buildShardIndex, shardPath, SHARD_INDEX_FILENAME } from './shards.ts';
import { compareCodePoints, packageNameOfFilename, recordEntries, type RecordsByFilename } from './subdir-records.ts';
import { REPODATA_ZSTD_LEVEL, zstdCompress } from './zstd.ts';

export const MUTABLE_MAX_AGE_SECONDS = 30;
export const IMMUTABLE_MAX_AGE_SECONDS = 31_536_000;

export interface ChannelFile {
  /** relative to the channel root: `<subdir>/repodata.json`, `<subdir>/shards/<hex>.msgpack.zst` */
  path: string;
  bytes: Buffer;
  contentType: string;
  cacheControl: string;
}

export interface SubdirFilesInput {
  subdir: string;
  /** `.tar.bz2` records by filename */
  packages: RecordsByFilename;
  /** `.conda` records by filename */
  packagesConda: RecordsByFilename;
  removed?: readonly string[];
  /** absolute URL of this subdir's package files when they are not served next to repodata (CEP-15) */
  packagesBaseUrl?: string;
  /** the shard index's `created_at` */
  createdAt: Date;
  /** private channels must not be kept by shared caches */
  private?: boolean;
  /** JSON layout; conda-index's default is `compact` */
  style?: JsonStyle;
  /** extra series current_repodata keeps, e.g. `{ python: ['3.9'] }` */
  currentPins?: CurrentVersionPins;
  /** zstd level of the `.json.zst` files (an offline `provena index` may trade time for size) */
  zstdLevel?: number;
}

interface NameGroup {
  packages: Map<string, PackageRecord>;
  packagesConda: Map<string, PackageRecord>;
  removed: string[];
}

function groupByName(input: SubdirFilesInput, removed: readonly string[]): Map<string, NameGroup> {
  const groups = new Map<string, NameGroup>();
  const groupOf = (name: string): NameGroup => {
    let group = groups.get(name);
    if (group === undefined) {
      group = { packages: new Map(), packagesConda: new Map(), removed: [] };
      groups.set(name, group);
    }
    return group;
  };
  for (const [filename, record] of recordEntries(input.packages)) groupOf(record.name).packages.set(filename, record);
  for (const [filename, record] of recordEntries(input.packagesConda)) groupOf(record.name).packagesConda.set(filename, record);
  // A name whose files were all yanked keeps a shard listing them, so clients drop what they cached.
  for (const filename of removed) groupOf(packageNameOfFilename(filename)).removed.push(filename);
  return groups;
}

export function subdirFiles(input: SubdirFilesInput): ChannelFile[] {
  const scope = input.private === true ? 'private' : 'public';
  const mutable = `${scope}, max-age=${MUTABLE_MAX_AGE_SECONDS}`;
  const immutable = `${scope}, max-age=${IMMUTABLE_MAX_AGE_SECONDS}, immutable`;
  const removed = [...new Set(input.removed ?? [])].sort(compareCodePoints);
  const header = {
    subdir: input.subdir,
    removed,
    style: input.style,
    ...(input.packagesBaseUrl === undefined ? {} : { baseUrl: input.packagesBaseUrl }),
  };
  const at = (name: string): string => `${input.subdir}/${name}`;
  const files: ChannelFile[] = [];
  const addJson = (name: string, bytes: Buffer): void => {
    files.push({ path: at(name), bytes, contentType: 'application/json', cacheControl: mutable });
    files.push({
      path: at(`${name}.zst`),
      bytes: zstdCompress(bytes, input.zstdLevel ?? REPODATA_ZSTD_LEVEL),
      contentType: 'application/zstd',
      cacheControl: mutable,
    });
  };

  addJson('repodata.json', serializeRepodata({ ...header, packages: input.packages, packagesConda: input.packagesConda }));
  addJson('current_repodata.json', serializeRepodata({ ...header, ...currentRepodata(input, input.currentPins) }));

  const index = new Map<string, Uint8Array>();
  const written = new Set<string>();
  // by name, so the same records always give the same list of files
  const groups = [...groupByName(input, removed)].sort((x, y) => compareCodePoints(x[0], y[0]));
  for (const [name, group] of groups) {
    const shard = buildShard(group);
    index.set(name, shard.sha256);
    const path = shardPath(shard.sha256);
    if (written.has(path)) continue; // identical content shares one address
    written.add(path);
    files.push({ path: at(path), bytes: shard.bytes, contentType: 'application/zstd', cacheControl: immutable });
  }
  files.push({
    path: at(SHARD_INDEX_FILENAME),
    bytes: buildShardIndex({
      subdir: input.subdir,
      createdAt: input.createdAt,
      shards: index,
      ...(input.packagesBaseUrl === undefined ? {} : { baseUrl: input.packagesBaseUrl }),
    }),
    contentType: 'application/zstd',
    cacheControl: mutable,
  });
  return files;
}
