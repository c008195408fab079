/** The two package formats conda knows; `.conda` is the current one, `.tar.bz2` the old one. */
export type PackageFormat = '.conda' | '.tar.bz2';

/**
 * A repodata record: the package's `info/index.json` fields (minus the few conda-index drops)
 * plus `md5`, `sha256` and `size` of the file. Field order is irrelevant: repodata is written
 * with sorted keys.
 */
export interface PackageRecord {
  name: string;
  version: string;
  build: string;
  build_number: number;
  /** absent when index.json has none: conda-index copies index.json as is, clients read it as [] */
  depends?: string[];
  subdir?: string;
  md5: string;
  sha256: string;
  size: number;
  [field: string]: unknown;
}

/** What is read from inside a package before it is accepted. */
export interface PackageMetadata {
  /** `info/index.json`, parsed, as the package has it */
  index: Record<string, unknown>;
  /** `info/about.json`, parsed, if the package has one (summary, home, license_file, ...) */
  about?: Record<string, unknown>;
}

/** `name-version-build.ext`, split. */
export interface PackageFilename {
  filename: string;
  name: string;
  version: string;
  build: string;
  format: PackageFormat;
}

/** File facts measured while the bytes streamed in. */
export interface FileDigests {
  sha256: string;
  md5: string;
  size: number;
}
