import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PackageFormat } from '../../src/core/conda/types.ts';
import { bzip2Compress, tarStream, zstdCompress, type TarMember } from './archive-writers.ts';
import { zipArchive, type ZipEntry } from './zip-writer.ts';

/**
 * Real conda packages for tests, in both formats, laid out the way conda-package-handling writes
 * them: `.conda` = stored zip of `metadata.json`, `pkg-<dist>.tar.zst`, `info-<dist>.tar.zst`;
 * `.tar.bz2` = one bzip2 tar of `info/` then the files. Debian's `cph` and
 * conda-package-streaming read them (test/core/conda/package-factory.test.ts proves it).
 */

export interface PackageSpec {
  name: string;
  version: string;
  build: string;
  buildNumber?: number;
  subdir: string;
  depends?: string[];
  noarch?: string;
  /** info/about.json; `null` leaves it out */
  about?: Record<string, unknown> | null;
  /** extra or overriding index.json fields; a field set to `undefined` is removed */
  index?: Record<string, unknown>;
  /** package files by path, outside info/ */
  files?: Record<string, string | Buffer>;
  format: PackageFormat;

  // shapes for broken packages (see bad-packages.ts)
  /** info/index.json bytes as given instead of the JSON of the fields; `null` leaves it out */
  indexJsonBytes?: string | Buffer | null;
  /** members put first in the info tar, before index.json (`zeros` streams a bomb body) */
  leadingInfoMembers?: TarMember[];
  /** `.conda`: zip method of the info member */
  infoMethod?: 'stored' | 'deflated';
  /** `.conda`: extra zip entries, after the usual three */
  extraZipEntries?: ZipEntry[];
  /** `.tar.bz2`: package files before info/ (zlib's real package mixes them) */
  filesFirst?: boolean;
  /** compression level of the pkg member / the tar.bz2 */
  level?: number;
}

export function packageFilename(spec: Pick<PackageSpec, 'name' | 'version' | 'build' | 'format'>): string {
  return `${spec.name}-${spec.version}-${spec.build}${spec.format}`;
}

export function indexJsonOf(spec: PackageSpec): Record<string, unknown> {
  const index: Record<string, unknown> = {
    name: spec.name,
    version: spec.version,
    build: spec.build,
    build_number: spec.buildNumber ?? 0,
    subdir: spec.subdir,
    depends: spec.depends ?? [],
    license: 'BSD-3-Clause',
    timestamp: 1704067200000,
  };
  if (spec.noarch !== undefined) index.noarch = spec.noarch;
  for (const [key, value] of Object.entries(spec.index ?? {})) {
    if (value === undefined) delete index[key];
    else index[key] = value;
  }
  return index;
}

function bytes(value: string | Buffer): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');
}

function packageFiles(spec: PackageSpec): TarMember[] {
  return Object.entries(spec.files ?? {}).map(([path, data]) => ({ path, data: bytes(data) }));
}

/** The info/ members, in conda-build's order: index.json first. */
export function infoMembers(spec: PackageSpec): TarMember[] {
  const files = packageFiles(spec);
  const paths = files.map((f) => {
    const data = (f as { data: Buffer }).data;
    const sha256 = createHash('sha256').update(data).digest('hex');
    return { _path: f.path, path_type: 'hardlink', sha256, size_in_bytes: data.length };
  });
  const members: TarMember[] = [...(spec.leadingInfoMembers ?? [])];
  const indexBytes = spec.indexJsonBytes === undefined ? json(indexJsonOf(spec)) : spec.indexJsonBytes;
  if (indexBytes !== null) members.push({ path: 'info/index.json', data: bytes(indexBytes) });
  const about = spec.about === undefined ? { summary: `${spec.name}, a test package`, license: 'BSD-3-Clause' } : spec.about;
  if (about !== null) members.push({ path: 'info/about.json', data: json(about) });
  members.push({ path: 'info/paths.json', data: json({ paths, paths_version: 1 }) });
  members.push({ path: 'info/files', data: Buffer.from(files.map((f) => f.path + '\n').join('')) });
  return members;
}

export async function makePackage(spec: PackageSpec): Promise<Buffer> {
  const info = infoMembers(spec);
  const files = packageFiles(spec);
  if (spec.format === '.tar.bz2') {
    const order = spec.filesFirst ? [...files, ...info] : [...info, ...files];
    return bzip2Compress(tarStream(order), spec.level ?? 9);
  }
  const dist = `${spec.name}-${spec.version}-${spec.build}`;
  const infoZst = await zstdCompress(tarStream(info), 19);
  const pkgZst = await zstdCompress(tarStream(files), spec.level ?? 3);
  return zipArchive([
    { name: 'metadata.json', data: Buffer.from(JSON.stringify({ conda_pkg_format_version: 2 })) },
    { name: `pkg-${dist}.tar.zst`, data: pkgZst },
    { name: `info-${dist}.tar.zst`, data: infoZst, method: spec.infoMethod ?? 'stored' },
    ...(spec.extraZipEntries ?? []),
  ]);
}

/** Writes the package into `dir` under its conda filename and returns the path. */
export async function writePackage(dir: string, spec: PackageSpec): Promise<string> {
  const path = join(dir, packageFilename(spec));
  await writeFile(path, await makePackage(spec));
  return path;
}
