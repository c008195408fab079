/**
 * Sharded repodata (CEP-16), as rattler/pixi read it (rattler_conda_types `repo_data/sharded.rs`)
 * and conda-index writes it (`ChannelIndex.index_subdir_shards`):
 *
 * - a shard per package name, `shards/<sha256 of the compressed bytes>.msgpack.zst` =
 *   zstd(msgpack({packages, "packages.conda", removed})) with `md5`/`sha256` as raw bytes;
 * - an index, `repodata_shards.msgpack.zst` = zstd(msgpack({info: {subdir, base_url,
 *   shards_base_url, created_at}, shards: {name: 32 raw bytes}, version: 1, repodata_version: 1})).
 *   rattler requires `info.subdir`, `info.base_url` and `info.shards_base_url` (strings);
 *   CEP-16 names the format field `version`, conda-index writes `repodata_version`: both are here.
 *
 * Maps are written with sorted keys, so equal content gives equal bytes and therefore the same
 * shard address: unchanged names keep their cached shards across regenerations.
 */
import { createHash } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import { invalid } from '../errors.ts';
import type { PackageRecord } from '../conda/types.ts';
import { sortedRecordEntries, compareCodePoints, type RecordsByFilename } from './subdir-records.ts';
import { SHARD_ZSTD_LEVEL, zstdCompress } from './zstd.ts';
import { ShardIndexEntries } from './shard-index-entries.ts';

export const SHARD_INDEX_FILENAME = 'repodata_shards.msgpack.zst';
const DIGEST_HEX = { md5: 32, sha256: 64 } as const;

export interface ShardInput {
  /** the `.tar.bz2` records of one package name */
  packages: RecordsByFilename;
  /** the `.conda` records of that name */
  packagesConda: RecordsByFilename;
  /** removed filenames of that name */
  removed?: readonly string[];
}

export interface BuiltShard {
  /** zstd(msgpack(shard)), served as is */
  bytes: Buffer;
  /** sha256 of `bytes`: the shard's address and its entry in the index */
  sha256: Uint8Array;
}

export interface ShardIndexInput {
  subdir: string;
  /** where the package files are, relative to the index or absolute (CEP-16 `info.base_url`) */
  baseUrl?: string;
  /** where the shards are, relative to the index or absolute */
  shardsBaseUrl?: string;
  createdAt: Date;
  /** package name → sha256 of its shard */
  shards: ReadonlyMap<string, Uint8Array>;
}

const MSGPACK_OPTIONS = { sortKeys: true, ignoreUndefined: true } as const;

// Hex digests cost twice their size in a shard; CEP-16 stores the raw bytes.
function shardRecord(filename: string, record: PackageRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { ...record };
  for (const field of ['md5', 'sha256'] as const) {
    const value = record[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value.length !== DIGEST_HEX[field] || !/^[0-9a-fA-F]+$/.test(value)) {
      throw invalid('invalid_digest', `${filename}: ${field} must be ${DIGEST_HEX[field]} hex characters`);
    }
    out[field] = new Uint8Array(Buffer.from(value, 'hex'));
  }
  return out;
}

function section(records: RecordsByFilename): Record<string, unknown> {
  // null prototype: a key such as "__proto__" stays data
  const out: Record<string, unknown> = Object.create(null);
  for (const [filename, record] of sortedRecordEntries(records)) out[filename] = shardRecord(filename, record);
  return out;
}

export function buildShard(input: ShardInput, level: number = SHARD_ZSTD_LEVEL): BuiltShard {
  const shard = {
    packages: section(input.packages),
    'packages.conda': section(input.packagesConda),
    removed: [...(input.removed ?? [])].sort(compareCodePoints),
  };
  const bytes = zstdCompress(encode(shard, MSGPACK_OPTIONS), level);
  return { bytes, sha256: new Uint8Array(createHash('sha256').update(bytes).digest()) };
}

/** The path of a shard relative to its subdir, under the default `./shards/` base. */
export function shardPath(sha256: Uint8Array): string {
  return `shards/${Buffer.from(sha256).toString('hex')}.msgpack.zst`;
}

export function buildShardIndex(input: ShardIndexInput, level: number = SHARD_ZSTD_LEVEL): Buffer {
  const entries = new ShardIndexEntries();
  for (const [name, sha256] of input.shards) entries.set(name, sha256);
  return zstdCompress(entries.encode(input), level);
}
