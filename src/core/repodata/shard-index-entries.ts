/**
 * The `shards` map of a CEP-16 shard index, kept ready to encode: each name's msgpack key and its
 * 32-byte hash laid out once, in the order `encode(…, {sortKeys: true})` writes them (Array#sort's
 * default, UTF-16 code units), so changing one name's hash patches 32 bytes in place and encoding the
 * index is a copy, not a msgpack encode and sort of every name (~0.5 s at 200k names).
 * `buildShardIndex` writes the same bytes (test/core/repodata/shard-index-entries.test.ts).
 */
import { encode } from '@msgpack/msgpack';
import { invalid } from '../errors.ts';

const BIN8 = 0xc4;
const HASH_BYTES = 32;

export interface ShardIndexInfo {
  subdir: string;
  baseUrl?: string;
  shardsBaseUrl?: string;
  createdAt: Date;
}

const FORMAT_VERSION = 1;
const MSGPACK_OPTIONS = { sortKeys: true, ignoreUndefined: true } as const;

/** `2024-05-08T12:00:00Z`: RFC 3339 in UTC to the second, as conda-index writes `created_at`. */
function rfc3339Seconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function mapHeader(size: number): Buffer {
  if (size < 16) return Buffer.from([0x80 | size]);
  if (size < 0x10000) return Buffer.from([0xde, size >> 8, size & 0xff]);
  const out = Buffer.alloc(5);
  out[0] = 0xdf;
  out.writeUInt32BE(size, 1);
  return out;
}

export class ShardIndexEntries {
  private readonly hashes = new Map<string, Uint8Array>();
  /** each name's msgpack key, encoded once */
  private readonly keys = new Map<string, Buffer>();
  /** names in encoding order */
  private names: string[] = [];
  /** where each name's hash sits in `body`; empty while `body` is stale */
  private offsets = new Map<string, number>();
  private body: Buffer | null = Buffer.alloc(0);
  /** names added since `names` was last sorted */
  private added: string[] = [];

  get size(): number {
    return this.hashes.size;
  }

  get(name: string): Uint8Array | undefined {
    return this.hashes.get(name);
  }

  set(name: string, sha256: Uint8Array): void {
    if (sha256.length !== HASH_BYTES) throw invalid('invalid_digest', `shard of ${name}: sha256 must be ${HASH_BYTES} bytes`);
    const known = this.hashes.has(name);
    this.hashes.set(name, new Uint8Array(sha256));
    if (!known) {
      this.added.push(name);
      this.body = null;
    } else if (this.body !== null) {
      this.body.set(sha256, this.offsets.get(name)!);
    }
  }

  /** msgpack of the whole index (not compressed). */
  encode(info: ShardIndexInfo): Buffer {
    const body = this.layout();
    return Buffer.concat([
      Buffer.from([0x84]),
      encode('info'),
      encode({ base_url: info.baseUrl ?? './', created_at: rfc3339Seconds(info.createdAt), shards_base_url: info.shardsBaseUrl ?? './shards/', subdir: info.subdir }, MSGPACK_OPTIONS),
      encode('repodata_version'),
      encode(FORMAT_VERSION),
      encode('shards'),
      mapHeader(this.hashes.size),
      body,
      encode('version'),
      encode(FORMAT_VERSION),
    ]);
  }

  private layout(): Buffer {
    if (this.body !== null) return this.body;
    if (this.added.length > 0) {
      // few names arrive at a time: insert them into the sorted list; many (a first load): sort once
      if (this.added.length > 64) this.names = [...this.names, ...this.added].sort();
      else for (const name of this.added.sort()) this.names.splice(insertionPoint(this.names, name), 0, name);
      this.added = [];
    }
    const parts: Buffer[] = [];
    const offsets = new Map<string, number>();
    let at = 0;
    for (const name of this.names) {
      let key = this.keys.get(name);
      if (key === undefined) {
        const encoded = encode(name);
        key = Buffer.concat([Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength), Buffer.from([BIN8, HASH_BYTES])]);
        this.keys.set(name, key);
      }
      const hash = this.hashes.get(name)!;
      parts.push(key, Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength));
      at += key.byteLength;
      offsets.set(name, at);
      at += HASH_BYTES;
    }
    this.body = Buffer.concat(parts, at);
    this.offsets = offsets;
    return this.body;
  }
}

/** first index whose name sorts after `name`, in Array#sort's default order */
function insertionPoint(sorted: readonly string[], name: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
