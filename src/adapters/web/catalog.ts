/**
 * What the pages read: a channel's packages grouped by name and ordered as conda orders them, kept in
 * memory per subdir and reloaded when that subdir's repodata changes.
 *
 * Every change to a subdir's packages (upload, force-replace, remove, channel deletion) regenerates its
 * repodata.json before it is acknowledged, and repodata.json holds every record with its sha256 and
 * attestations_sha256; so the repodata's content ETag is a version stamp of the subdir. Reading the
 * stamp costs a map lookup, which keeps a page of 2,000 builds as cheap as serving the repodata itself.
 * Per-file facts that do not change while the file does (attestation facts, its publish log entry)
 * are fetched for the files a page shows and kept with the snapshot.
 */
import type { StoredPackage } from '../../core/channel/model.ts';
import { channelFileKey, type AttestationRecord, type BlobStore, type MetadataStore } from '../../core/channel/ports.ts';
import type { RepodataPublisher } from '../../core/channel/repodata-publisher.ts';
import { KNOWN_SUBDIRS } from '../../core/conda/platforms.ts';
import { comparePackagePreference } from '../../core/conda/version.ts';

/** Packages kept in memory over all snapshots; the least recently used subdirs are dropped beyond it. */
const MAX_CACHED_PACKAGES = 250_000;
/** Newest files per channel kept for the home page. */
const RECENT_PER_CHANNEL = 10;
/**
 * How long a channel's index is trusted on the in-memory check alone (this process's repodata stamps);
 * after that the subdirs are read from the database again, as ChannelCache does for another replica's changes.
 */
const RECHECK_MS = 1000;

let indexSerial = 0;

export interface FileFacts {
  attestation: AttestationRecord | null;
  /** the index of the file's publish entry in the transparency log; null before the log existed */
  logIndex: number | null;
}

interface SubdirSnapshot {
  stamp: string | null;
  packages: StoredPackage[];
  facts: Map<string, FileFacts>;
}

export interface PackageGroup {
  name: string;
  /** newest first, in conda's preference order (version, build number, arch over noarch, timestamp, build) */
  files: StoredPackage[];
  /** the preferred file: newest version's best build */
  latest: StoredPackage;
  /** the most recent upload of any file of this name */
  lastUpload: string;
  subdirs: string[];
}

export interface ChannelIndex {
  channel: string;
  /** unique per index built: what is derived from an index may be cached under it */
  serial: number;
  /** package names by most recent upload, newest first */
  groups: PackageGroup[];
  byName: Map<string, PackageGroup>;
  bySha256: Map<string, StoredPackage[]>;
  fileCount: number;
  subdirs: string[];
  /** newest uploads first */
  recent: StoredPackage[];
}

interface CachedIndex {
  stamps: string;
  index: ChannelIndex;
  /** the stamps of every known subdir as this process last published them, when all of the index's subdirs had one */
  published: string | null;
  checkedAt: number;
}

export class WebCatalog {
  readonly #snapshots = new Map<string, SubdirSnapshot>();
  readonly #indexes = new Map<string, CachedIndex>();
  #cachedPackages = 0;

  constructor(
    private readonly store: MetadataStore,
    private readonly repodata: RepodataPublisher,
    private readonly blobs: BlobStore,
  ) {}

  /** The channel's packages as of now; call only after access to the channel was checked. */
  async channel(channel: string): Promise<ChannelIndex> {
    const cached = this.#indexes.get(channel);
    const published = this.#publishedStamps(channel);
    const now = Date.now();
    // the hot path: nothing this process published for the channel changed since the index was built
    if (cached && cached.published === published && now - cached.checkedAt < RECHECK_MS) return cached.index;

    const subdirs = await this.store.packages.subdirs(channel);
    const snapshots: SubdirSnapshot[] = [];
    const stamps: string[] = [];
    let allPublished = true;
    for (const subdir of subdirs) {
      const snap = await this.#subdir(channel, subdir);
      snapshots.push(snap);
      stamps.push(`${subdir}=${snap.stamp ?? `unstamped:${Math.random()}`}`);
      if (!this.repodata.publishedFile(channelFileKey(channel, subdir, 'repodata.json'))) allPublished = false;
    }
    const key = stamps.join('\n');
    const index = cached && cached.stamps === key ? cached.index : buildIndex(channel, subdirs, snapshots);
    this.#indexes.set(channel, { stamps: key, index, published: allPublished ? published : null, checkedAt: now });
    return index;
  }

  /** The repodata stamps this process published for the channel's subdirs: a few map lookups. */
  #publishedStamps(channel: string): string {
    let out = '';
    for (const subdir of KNOWN_SUBDIRS) out += `${this.repodata.publishedFile(channelFileKey(channel, subdir, 'repodata.json'))?.etag ?? '-'},`;
    return out;
  }

  /** Attestation facts and log entry of each file (fetched once per file version, then kept). */
  async facts(files: readonly StoredPackage[], latestEntryFor: (p: StoredPackage) => Promise<number | null>): Promise<Map<StoredPackage, FileFacts>> {
    const out = new Map<StoredPackage, FileFacts>();
    for (const pkg of files) {
      const snap = this.#snapshots.get(snapKey(pkg.channel, pkg.subdir));
      const cacheKey = `${pkg.filename}\u0000${pkg.sha256}\u0000${pkg.attestationsSha256 ?? ''}`;
      let f = snap?.facts.get(cacheKey);
      if (!f) {
        const attestation = pkg.attestationsSha256 ? await this.store.attestations.get(pkg.channel, pkg.subdir, pkg.filename) : null;
        f = { attestation, logIndex: await latestEntryFor(pkg) };
        // an attestation row that does not match the file (replaced meanwhile) is not kept
        if (!attestation || attestation.sigsSha256 === pkg.attestationsSha256) snap?.facts.set(cacheKey, f);
      }
      out.set(pkg, f);
    }
    return out;
  }

  async #subdir(channel: string, subdir: string): Promise<SubdirSnapshot> {
    const key = snapKey(channel, subdir);
    // the stamp is read before the packages: a change in between makes the next stamp differ
    const stamp = await this.#stamp(channel, subdir);
    const cached = this.#snapshots.get(key);
    if (cached && stamp !== null && cached.stamp === stamp) {
      // least recently used last
      this.#snapshots.delete(key);
      this.#snapshots.set(key, cached);
      return cached;
    }
    const packages = await this.store.packages.list(channel, subdir);
    const snap: SubdirSnapshot = { stamp, packages, facts: new Map() };
    if (cached) this.#cachedPackages -= cached.packages.length;
    this.#snapshots.delete(key);
    if (stamp !== null) {
      this.#snapshots.set(key, snap);
      this.#cachedPackages += packages.length;
      this.#evict();
    }
    return snap;
  }

  async #stamp(channel: string, subdir: string): Promise<string | null> {
    const fileKey = channelFileKey(channel, subdir, 'repodata.json');
    const published = this.repodata.publishedFile(fileKey);
    if (published) return published.etag;
    // written by another process (or before this one started): the stored file's validator
    return (await this.blobs.stat(fileKey))?.etag ?? null;
  }

  #evict(): void {
    for (const [key, snap] of this.#snapshots) {
      if (this.#cachedPackages <= MAX_CACHED_PACKAGES || this.#snapshots.size <= 1) break;
      this.#snapshots.delete(key);
      this.#cachedPackages -= snap.packages.length;
      this.#indexes.delete(key.slice(0, key.indexOf('/')));
    }
  }
}

function snapKey(channel: string, subdir: string): string {
  return `${channel}/${subdir}`;
}

/** Newest first in conda's order; broken versions (never accepted at upload) sort last rather than throw. */
function preferenceDesc(a: StoredPackage, b: StoredPackage): number {
  try {
    return comparePackagePreference(rank(b), rank(a)) || (a.subdir < b.subdir ? -1 : a.subdir > b.subdir ? 1 : 0) || (a.filename < b.filename ? -1 : 1);
  } catch {
    return a.filename < b.filename ? -1 : 1;
  }
}

function rank(p: StoredPackage) {
  const r = p.record;
  return {
    version: String(r.version),
    build_number: typeof r.build_number === 'number' ? r.build_number : 0,
    build: String(r.build),
    subdir: p.subdir,
    timestamp: typeof r['timestamp'] === 'number' ? (r['timestamp'] as number) : undefined,
  };
}

function buildIndex(channel: string, subdirs: string[], snapshots: SubdirSnapshot[]): ChannelIndex {
  const byName = new Map<string, StoredPackage[]>();
  const bySha256 = new Map<string, StoredPackage[]>();
  let fileCount = 0;
  const all: StoredPackage[] = [];
  for (const snap of snapshots) {
    for (const pkg of snap.packages) {
      fileCount++;
      all.push(pkg);
      const name = String(pkg.record.name);
      const list = byName.get(name);
      if (list) list.push(pkg);
      else byName.set(name, [pkg]);
      const same = bySha256.get(pkg.sha256);
      if (same) same.push(pkg);
      else bySha256.set(pkg.sha256, [pkg]);
    }
  }
  const groups: PackageGroup[] = [];
  for (const [name, files] of byName) {
    files.sort(preferenceDesc);
    let lastUpload = '';
    const subdirSet = new Set<string>();
    for (const f of files) {
      if (f.uploadedAt > lastUpload) lastUpload = f.uploadedAt;
      subdirSet.add(f.subdir);
    }
    groups.push({ name, files, latest: files[0]!, lastUpload, subdirs: [...subdirSet].sort() });
  }
  groups.sort((a, b) => (a.lastUpload < b.lastUpload ? 1 : a.lastUpload > b.lastUpload ? -1 : a.name < b.name ? -1 : 1));
  const recent = all.sort((a, b) => (a.uploadedAt < b.uploadedAt ? 1 : a.uploadedAt > b.uploadedAt ? -1 : 0)).slice(0, RECENT_PER_CHANNEL);
  return {
    channel,
    serial: ++indexSerial,
    groups,
    byName: new Map(groups.map((g) => [g.name, g])),
    bySha256,
    fileCount,
    subdirs: subdirs.filter((s) => snapshots[subdirs.indexOf(s)]!.packages.length > 0),
    recent,
  };
}
