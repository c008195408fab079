import type { PackageRecord } from '../conda/types.ts';

export interface Channel {
  name: string;
  private: boolean;
  requireAttestations: boolean;
  /** the largest package this channel accepts, in bytes; null: the server's `max_package_size` */
  maxPackageBytes?: number | null;
  createdAt: string;
}

/** Scopes are ordered: an `admin` key may do what an `upload` key may, which may do what a `read` key may. */
export type KeyScope = 'read' | 'upload' | 'admin';
export const KEY_SCOPES: readonly KeyScope[] = ['read', 'upload', 'admin'];

export interface ApiKey {
  id: string;
  channel: string;
  scope: KeyScope;
  description: string | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** A package file as the channel holds it: its repodata record plus where it came from. */
export interface StoredPackage {
  channel: string;
  subdir: string;
  filename: string;
  sha256: string;
  md5: string;
  size: number;
  /** exactly what goes into repodata.json for this file */
  record: PackageRecord;
  /** `info/about.json`, kept for people (web UI), never served as repodata */
  about: Record<string, unknown> | null;
  uploadedAt: string;
  /** who published it: `admin`, `key:<id>`, or `publisher:<id>` */
  uploadedBy: string;
  /** sha256 of the served `.sigs` bytes when the package came with attestations */
  attestationsSha256: string | null;
}
