/**
 * Where blob keys live in the bucket. Everything under `channels/` is the static channel and goes
 * straight under the prefix (`PREFIX/NAME/SUBDIR/repodata.json`, `PREFIX/NAME/SUBDIR/FILE.conda`), so a
 * web server or CDN pointed at `PREFIX/` serves conda clients; every other key (content-addressed
 * packages and attestations, the transparency log) goes under `PREFIX/_provena/`, which no channel
 * name can collide with (channel names start with a letter or digit).
 */
export const INTERNAL_DIR = '_provena/';
const CHANNELS = 'channels/';

export class BucketLayout {
  /** '' or a prefix ending in `/` */
  readonly prefix: string;

  constructor(prefix: string) {
    const trimmed = prefix.replace(/^\/+|\/+$/g, '');
    this.prefix = trimmed === '' ? '' : `${trimmed}/`;
  }

  objectKey(key: string): string {
    checkKey(key);
    return key.startsWith(CHANNELS) ? this.prefix + key.slice(CHANNELS.length) : this.prefix + INTERNAL_DIR + key;
  }

  /** The blob key an object key stands for; null for objects outside the prefix. */
  blobKey(objectKey: string): string | null {
    if (!objectKey.startsWith(this.prefix)) return null;
    const rest = objectKey.slice(this.prefix.length);
    return rest.startsWith(INTERNAL_DIR) ? rest.slice(INTERNAL_DIR.length) : CHANNELS + rest;
  }

  /** The object prefix to list so that every blob key starting with `prefix` is among the results. */
  listPrefix(prefix: string): string {
    if (prefix.startsWith(CHANNELS)) return this.prefix + prefix.slice(CHANNELS.length);
    if (CHANNELS.startsWith(prefix)) return this.prefix; // '' or a part of 'channels/': both halves
    return this.prefix + INTERNAL_DIR + prefix;
  }
}

/** The same rule as the file store: no empty, `.` or `..` segments, no NUL. */
export function checkKey(key: string): void {
  if (key.split('/').some((seg) => seg === '' || seg === '.' || seg === '..') || key.includes('\0')) {
    throw new Error(`unsafe blob key ${JSON.stringify(key)}`);
  }
}

/**
 * Headers stored with an object, for whoever serves the bucket directly: the types and caching the
 * server itself answers with (served-files.ts). Internal objects get none.
 */
export function objectHeaders(key: string): { ContentType: string; CacheControl?: string } {
  if (!key.startsWith(CHANNELS)) return { ContentType: 'application/octet-stream' };
  const file = key.slice(key.lastIndexOf('/') + 1);
  // signed repodata (TUF): versioned metadata never changes; timestamp.json and root.json must be fresh
  if (/^channels\/[^/]+\/tuf\//.test(key)) return { ContentType: 'application/json', CacheControl: /^\d+\./.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache' };
  if (key.includes('/shards/')) return { ContentType: 'application/zstd', CacheControl: 'public, max-age=31536000, immutable' };
  if (/^(current_)?repodata/.test(file)) {
    return { ContentType: file.endsWith('.zst') ? 'application/zstd' : 'application/json', CacheControl: 'public, max-age=30' };
  }
  if (/\.sigs\.[0-9a-f]{64}$/.test(file)) return { ContentType: 'application/json', CacheControl: 'public, max-age=31536000, immutable' };
  if (file.endsWith('.sigs') && !file.endsWith('.v0.sigs')) return { ContentType: 'application/json', CacheControl: 'no-cache' };
  if (file.endsWith('.sigstore') || file.endsWith('.v0.sigs') || file.endsWith('.json')) return { ContentType: 'application/json', CacheControl: 'public, max-age=300' };
  if (file.endsWith('.tar.bz2')) return { ContentType: 'application/x-tar', CacheControl: 'public, max-age=3600' };
  return { ContentType: 'application/octet-stream', CacheControl: 'public, max-age=3600' };
}
