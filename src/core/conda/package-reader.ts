import { stat } from 'node:fs/promises';
import { ProvenaError, unprocessable } from '../errors.ts';
import { readCondaMembers } from './conda-archive.ts';
import { resolveReadLimits, type ReadLimits } from './read-limits.ts';
import { readTarBz2Members } from './tar-bz2-archive.ts';
import type { PackageFormat, PackageMetadata } from './types.ts';

export { DEFAULT_READ_LIMITS, type ReadLimits } from './read-limits.ts';

/**
 * Reads a package's metadata from a file on disk, streaming and bounded: `info/index.json`
 * (required) and `info/about.json` (optional). Every failure caused by the file's content is a
 * `ProvenaError` (`corrupt_package`, `missing_index_json`, `index_json_invalid`,
 * `index_json_too_large`, `decompression_limit`, `unsafe_path`, `about_json_invalid`); all
 * file handles are closed on every path.
 */

const INDEX_JSON = 'info/index.json';
const ABOUT_JSON = 'info/about.json';
const WANTED = [INDEX_JSON, ABOUT_JSON];

export async function readPackageMetadata(
  path: string,
  format: PackageFormat,
  limits?: Partial<ReadLimits>,
): Promise<PackageMetadata> {
  const resolved = resolveReadLimits(limits);
  const size = await fileSize(path);
  let members: Map<string, Buffer>;
  if (format === '.conda') members = await readCondaMembers(path, WANTED, resolved);
  else if (format === '.tar.bz2') members = await readTarBz2Members(path, size, WANTED, resolved);
  else throw new ProvenaError('unknown_format', 'internal', `unknown package format ${JSON.stringify(format)}`);

  const indexBytes = members.get(INDEX_JSON);
  if (indexBytes === undefined) {
    throw unprocessable('missing_index_json', `the ${format} package has no ${INDEX_JSON} (as a regular file)`);
  }
  const index = parseJsonObject(indexBytes, INDEX_JSON, 'index_json_invalid');
  const aboutBytes = members.get(ABOUT_JSON);
  if (aboutBytes === undefined) return { index };
  return { index, about: parseJsonObject(aboutBytes, ABOUT_JSON, 'about_json_invalid') };
}

async function fileSize(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (info.isFile()) return info.size;
  } catch (err) {
    throw new ProvenaError('package_unreadable', 'internal', `cannot read the spooled package ${path}`, { cause: err });
  }
  throw new ProvenaError('package_unreadable', 'internal', `the spooled package ${path} is not a regular file`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function parseJsonObject(bytes: Buffer, member: string, code: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw unprocessable(code, `${member} is not valid UTF-8 JSON (${why}); rebuild the package`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw unprocessable(code, `${member} must hold a JSON object, but holds ${kind}`);
  }
  return value as Record<string, unknown>;
}
