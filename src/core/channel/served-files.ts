import { isKnownSubdir } from '../conda/platforms.ts';
import { notFound } from '../errors.ts';
import type { AccessControl, Principal } from './access.ts';
import { channelFileKey, packageBlobKey, sigsBlobKey, type BlobStore, type MetadataStore } from './ports.ts';
import { contentEtag, type RepodataPublisher } from './repodata-publisher.ts';
import { readSmallBlob } from './small-blob.ts';
import { hashedTargetOf, legacyTufTargetKey, tufTargetKey } from '../tuf/target-copies.ts';

/** What a channel URL answers with: stored bytes by key, or bytes made on the spot. */
export type ServedFile =
  | {
      source: 'blob';
      key: string;
      contentType: string;
      cacheControl: string;
      etag?: string;
      /** served when the key holds nothing yet (a subdir nobody published to) */
      fallback?: GeneratedFile;
    }
  | GeneratedFile;

export interface GeneratedFile {
  source: 'bytes';
  bytes: Uint8Array;
  contentType: string;
  cacheControl: string;
  etag: string;
}

/** Generated per subdir by the repodata publisher. */
const REPODATA_FILES: Record<string, string> = {
  'repodata.json': 'application/json',
  'repodata.json.zst': 'application/zstd',
  'current_repodata.json': 'application/json',
  'current_repodata.json.zst': 'application/zstd',
  'repodata_shards.msgpack.zst': 'application/zstd',
};

// Clients revalidate repodata with If-None-Match; a short max-age keeps a fresh upload visible quickly.
const REPODATA_CACHE = 'public, max-age=30';
const SHARD_INDEX_CACHE = 'public, max-age=30';
const IMMUTABLE = 'public, max-age=31536000, immutable';
// Package files never change under one name unless force-replaced, so clients may cache for a while.
const PACKAGE_CACHE = 'public, max-age=3600';
const NOTICES = new TextEncoder().encode('{"notices":[]}\n');

/** Resolves conda client URLs (`/NAME/SUBDIR/FILE`, `/NAME/notices.json`) to what is served. */
export class ServedFiles {
  constructor(
    private readonly store: MetadataStore,
    private readonly access: AccessControl,
    private readonly repodata: RepodataPublisher,
    private readonly blobs: BlobStore,
  ) {}

  async resolve(principal: Principal, channelName: string, subdir: string, file: string): Promise<ServedFile> {
    const channel = await this.access.require(principal, channelName, 'read');
    const privacy = channel.private ? 'private' : 'public';
    const cache = (policy: string) => (channel.private ? policy.replace('public', privacy) : policy);
    if (!isKnownSubdir(subdir)) throw notFound('subdir_not_found', `${subdir} is not a platform subdir conda knows`);

    const repodataType = REPODATA_FILES[file];
    if (repodataType !== undefined || file.startsWith('shards/')) {
      const key = channelFileKey(channel.name, subdir, file);
      const isShard = file.startsWith('shards/');
      const cacheControl = cache(isShard ? IMMUTABLE : file.startsWith('repodata_shards') ? SHARD_INDEX_CACHE : REPODATA_CACHE);
      const contentType = repodataType ?? 'application/zstd';
      // shards are immutable; the others are checked against the database (another replica may have published)
      const published = isShard ? undefined : await this.repodata.currentFile(channel.name, subdir, file);
      if (published?.bytes) return { source: 'bytes', bytes: published.bytes, contentType, cacheControl, etag: published.etag };
      const empty = this.repodata.emptyFile(subdir, file);
      const fallback: GeneratedFile | undefined = empty && {
        source: 'bytes',
        bytes: empty.bytes,
        contentType,
        cacheControl,
        etag: contentEtag(empty.bytes),
      };
      return { source: 'blob', key, contentType, cacheControl, fallback, etag: published?.etag };
    }

    // signed repodata (TUF consistent snapshots): an immutable copy under the file's sha256
    const hashed = hashedTargetOf(file);
    if (hashed) {
      let key = tufTargetKey(channel.name, subdir, hashed.sha256, hashed.file);
      // a copy pinned before copies moved next to the plain files
      const legacy = legacyTufTargetKey(channel.name, subdir, hashed.sha256, hashed.file);
      if ((await this.blobs.stat(key)) === null && (await this.blobs.stat(legacy)) !== null) key = legacy;
      return { source: 'blob', key, contentType: REPODATA_FILES[hashed.file]!, cacheControl: cache(IMMUTABLE), etag: `"${hashed.sha256}"` };
    }

    const sidecar = sidecarOf(file);
    if (sidecar) return this.sidecar(channel.name, subdir, sidecar, cache);

    const pkg = await this.store.packages.get(channel.name, subdir, file);
    if (!pkg) throw notFound('file_not_found', `${channel.name}/${subdir}/${file} does not exist`);
    return {
      source: 'blob',
      key: packageBlobKey(pkg.sha256),
      contentType: file.endsWith('.conda') ? 'application/octet-stream' : 'application/x-tar',
      cacheControl: cache(PACKAGE_CACHE),
      etag: `"${pkg.sha256}"`,
    };
  }

  /**
   * The attestation sidecars, byte-identical to what was uploaded: `.v0.sigs` (prefix.dev) and `.sigs`
   * (draft CEP) are the JSON array around the bundle, `.sigs.SHA256` the same bytes under an immutable
   * name, `.sigstore` the single bundle. A package without attestations has none (404).
   */
  private async sidecar(channel: string, subdir: string, s: Sidecar, cache: (policy: string) => string): Promise<ServedFile> {
    const pkg = await this.store.packages.get(channel, subdir, s.packageFile);
    const sha = pkg?.attestationsSha256;
    if (!sha || (s.kind === 'pinned' && s.sha256 !== sha)) {
      throw notFound('attestation_not_found', `${channel}/${subdir}/${s.packageFile} has no attestation${s.kind === 'pinned' ? ' with that sha256' : ''}`);
    }
    const key = sigsBlobKey(sha);
    const etag = `"${sha}"`;
    if (s.kind === 'bundle') {
      const sigs = await readSmallBlob(this.blobs, key, 'the attestation');
      // the array is `[` + the bundle as uploaded + `]`: strip the brackets, never re-serialise
      const bytes = sigs.subarray(1, sigs.length - 1);
      return { source: 'bytes', bytes, contentType: 'application/json', cacheControl: cache('public, max-age=300'), etag: contentEtag(bytes) };
    }
    const cacheControl = s.kind === 'pinned' ? cache(IMMUTABLE) : s.kind === 'sigs' ? 'no-cache' : cache('public, max-age=300');
    return { source: 'blob', key, contentType: 'application/json', cacheControl, etag };
  }

  /**
   * conda's most frequent request, answered from memory: an anonymous revalidation of a public
   * channel's repodata whose current ETag this process knows. Returns the validator and caching
   * policy when the client's copy is current; null whenever anything would need a lookup, so the
   * caller takes the ordinary path. Same outcome as resolve() for that case, minus the framework.
   */
  currentValidator(channelName: string, subdir: string, file: string): { etag: string; cacheControl: string } | null {
    if (REPODATA_FILES[file] === undefined) return null;
    const channel = this.access.channels.peek(channelName);
    if (!channel || channel.private || !isKnownSubdir(subdir)) return null;
    // only an ETag the database confirmed within the last second: another replica may have published since
    const published = this.repodata.freshFile(channelFileKey(channel.name, subdir, file));
    if (!published) return null;
    return { etag: published.etag, cacheControl: file.startsWith('repodata_shards') ? SHARD_INDEX_CACHE : REPODATA_CACHE };
  }

  async notices(principal: Principal, channelName: string): Promise<ServedFile> {
    const channel = await this.access.require(principal, channelName, 'read');
    return {
      source: 'bytes',
      bytes: NOTICES,
      contentType: 'application/json',
      cacheControl: channel.private ? 'private, max-age=3600' : 'public, max-age=3600',
      etag: contentEtag(NOTICES),
    };
  }
}

type Sidecar =
  | { kind: 'v0' | 'sigs' | 'bundle'; packageFile: string }
  | { kind: 'pinned'; packageFile: string; sha256: string };

function sidecarOf(file: string): Sidecar | null {
  const pinned = /^(.+)\.sigs\.([0-9a-f]{64})$/.exec(file);
  if (pinned) return { kind: 'pinned', packageFile: pinned[1]!, sha256: pinned[2]! };
  if (file.endsWith('.v0.sigs')) return { kind: 'v0', packageFile: file.slice(0, -'.v0.sigs'.length) };
  if (file.endsWith('.sigs')) return { kind: 'sigs', packageFile: file.slice(0, -'.sigs'.length) };
  if (file.endsWith('.sigstore')) return { kind: 'bundle', packageFile: file.slice(0, -'.sigstore'.length) };
  return null;
}
