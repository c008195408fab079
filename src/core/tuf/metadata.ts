import { createHash } from 'node:crypto';
import { Metadata, MetaFile, MetadataKind, Root, Snapshot, TargetFile, Targets, Timestamp, type Key } from '@tufjs/models';
import type { TufSigner } from './signer.ts';

/**
 * The TUF documents of one channel, made with @tufjs/models. Targets are every subdir's generated
 * files (`SUBDIR/repodata.json`, ...), named relative to the channel URL; consistent snapshots are
 * on, so clients fetch `N.snapshot.json`, `N.targets.json` and `SUBDIR/SHA256.repodata.json`, which
 * stay valid while newer versions are written.
 */
export const SPEC_VERSION = '1.0.31';

/** How long each role's signature is good for, in seconds. */
export interface ExpiryPolicy {
  root: number;
  targets: number;
  snapshot: number;
  timestamp: number;
}

export const DEFAULT_EXPIRY: ExpiryPolicy = {
  root: 365 * 86400,
  targets: 30 * 86400,
  snapshot: 30 * 86400,
  timestamp: 6 * 3600,
};

export interface TargetEntry {
  sha256: string;
  length: number;
}

export function expiresAt(now: Date, seconds: number): string {
  // whole seconds, as the specification's examples write it
  return new Date(Math.floor(now.getTime() / 1000) * 1000 + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface RootKeys {
  root: readonly Key[];
  rootThreshold: number;
  targets: readonly Key[];
  snapshot: readonly Key[];
  timestamp: readonly Key[];
}

export function buildRoot(version: number, expires: string, keys: RootKeys): Root {
  const allKeys: Record<string, unknown> = {};
  const roles: Record<string, unknown> = {};
  for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
    for (const key of keys[role]) allKeys[key.keyID] = key.toJSON();
    const keyids = [...new Set(keys[role].map((k) => k.keyID))];
    roles[role] = { keyids, threshold: role === 'root' ? keys.rootThreshold : 1 };
  }
  // through the library's own parser: the same checks as a root read from a file
  return Root.fromJSON({ _type: 'root', spec_version: SPEC_VERSION, version, expires, consistent_snapshot: true, keys: allKeys, roles } as never);
}

export function buildTargets(version: number, expires: string, files: ReadonlyMap<string, TargetEntry>): Targets {
  const targets = new Targets({ version, specVersion: SPEC_VERSION, expires });
  for (const [path, f] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    targets.addTarget(new TargetFile({ path, length: f.length, hashes: { sha256: f.sha256 } }));
  }
  return targets;
}

export function buildSnapshot(version: number, expires: string, targets: { version: number; body: string }): Snapshot {
  return new Snapshot({ version, specVersion: SPEC_VERSION, expires, meta: { 'targets.json': metaFileOf(targets) } });
}

export function buildTimestamp(version: number, expires: string, snapshot: { version: number; body: string }): Timestamp {
  return new Timestamp({ version, specVersion: SPEC_VERSION, expires, snapshotMeta: metaFileOf(snapshot) });
}

/** A role's document pinned by version, length and hash, so a swapped body of the same version is caught. */
function metaFileOf(doc: { version: number; body: string }): MetaFile {
  const bytes = Buffer.from(doc.body, 'utf8');
  return new MetaFile({ version: doc.version, length: bytes.length, hashes: { sha256: createHash('sha256').update(bytes).digest('hex') } });
}

/** Signs `signed` with each signer and returns the document as served. */
export function signDocument(signed: Root | Targets | Snapshot | Timestamp, signers: readonly TufSigner[], existing?: Metadata<Root>): string {
  const md = existing ?? new Metadata(signed);
  for (const s of signers) md.sign((data) => s.sign(data), true);
  return `${JSON.stringify(md.toJSON())}\n`;
}

export function parseRoot(body: string): Metadata<Root> {
  return Metadata.fromJSON(MetadataKind.Root, JSON.parse(body));
}

export function parseTargets(body: string): Metadata<Targets> {
  return Metadata.fromJSON(MetadataKind.Targets, JSON.parse(body));
}

export function parseTimestamp(body: string): Metadata<Timestamp> {
  return Metadata.fromJSON(MetadataKind.Timestamp, JSON.parse(body));
}

export function parseSnapshot(body: string): Metadata<Snapshot> {
  return Metadata.fromJSON(MetadataKind.Snapshot, JSON.parse(body));
}

/** The target map of a targets document, by path. */
export function targetEntries(targets: Targets): Map<string, TargetEntry> {
  const out = new Map<string, TargetEntry>();
  for (const [path, t] of Object.entries(targets.targets)) out.set(path, { sha256: t.hashes.sha256 ?? '', length: t.length });
  return out;
}
