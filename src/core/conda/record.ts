import { unprocessable } from '../errors.ts';
import { buildProblem, packageNameProblem, versionProblem } from './filename.ts';
import { isKnownSubdir, KNOWN_SUBDIRS } from './platforms.ts';
import type { FileDigests, PackageFilename, PackageRecord } from './types.ts';

/**
 * `info/index.json` → repodata record, the way conda-index writes it (conda/conda-index
 * `conda_index/index/cache.py`, `extract_to_cache_unconditional`, read at 13bd599f): every
 * index.json key except a fixed list of build-machine descriptions, plus the file's md5, sha256
 * and size (which override any the package claims). Nothing else is added or normalised: a
 * package without `depends` gets a record without `depends` (conda and rattler read that as []).
 */

/**
 * Keys conda-index drops: they describe the machine or tool that built the package (`arch`,
 * `platform`, `machine`, `operatingsystem`, `target-triplet`), or are legacy build-time fields
 * (`has_prefix`, `mtime`, `ucs`, `requires_features`, `binstar`) that no solver reads; the subdir
 * already says what `arch`/`platform` did.
 */
export const DROPPED_INDEX_KEYS: ReadonlySet<string> = new Set([
  'arch',
  'binstar',
  'has_prefix',
  'machine',
  'mtime',
  'operatingsystem',
  'platform',
  'requires_features',
  'target-triplet',
  'ucs',
]);

function invalidField(field: string, why: string): never {
  throw unprocessable('index_json_invalid', `info/index.json field ${JSON.stringify(field)} ${why}`, { field });
}

function describe(value: unknown): string {
  return value === undefined ? 'it is missing' : `it is ${JSON.stringify(value)}`;
}

function requireString(index: Record<string, unknown>, field: string): string {
  const value = index[field];
  if (typeof value !== 'string') invalidField(field, `must be a string, but ${describe(value)}`);
  return value;
}

function requireStringList(index: Record<string, unknown>, field: string): void {
  const value = index[field];
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    invalidField(field, `must be a list of match-spec strings, but ${describe(value)}`);
  }
}

export function toPackageRecord(index: Record<string, unknown>, digests: FileDigests): PackageRecord {
  for (const [field, problemOf] of [
    ['name', packageNameProblem],
    ['version', versionProblem],
    ['build', buildProblem],
  ] as const) {
    const problem = problemOf(requireString(index, field));
    if (problem !== undefined) invalidField(field, `is not valid: ${problem}`);
  }
  const buildNumber = index.build_number;
  if (typeof buildNumber !== 'number' || !Number.isSafeInteger(buildNumber) || buildNumber < 0) {
    invalidField('build_number', `must be a non-negative integer, but ${describe(buildNumber)}`);
  }
  // solvers parse these as lists of match specs; anything else breaks every client of the channel
  requireStringList(index, 'depends');
  requireStringList(index, 'constrains');

  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(index)) {
    if (!DROPPED_INDEX_KEYS.has(key)) record[key] = value;
  }
  record.md5 = digests.md5;
  record.sha256 = digests.sha256;
  record.size = digests.size;
  return record as PackageRecord;
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false && value !== '';
}

/**
 * Checks that index.json describes the package its filename names, and returns the subdir the
 * package belongs in: index.json's own, else `expectedSubdir`, else `noarch` for a package with a
 * `noarch` field. Throws `filename_mismatch`, `unknown_subdir`, `subdir_mismatch` or `missing_subdir`.
 */
export function checkPackageIdentity(
  parsed: PackageFilename,
  index: Record<string, unknown>,
  expectedSubdir?: string,
): string {
  for (const field of ['name', 'version', 'build'] as const) {
    const actual = requireString(index, field);
    if (actual !== parsed[field]) {
      throw unprocessable(
        'filename_mismatch',
        `info/index.json names ${field} ${JSON.stringify(actual)} but the filename ${parsed.filename} says ` +
          `${JSON.stringify(parsed[field])}; rename the file or rebuild the package`,
        { field, expected: parsed[field], actual },
      );
    }
  }
  if (expectedSubdir !== undefined && !isKnownSubdir(expectedSubdir)) {
    throw unprocessable('unknown_subdir', `${JSON.stringify(expectedSubdir)} is not a subdir conda knows`, {
      subdir: expectedSubdir,
    });
  }
  const declared = index.subdir;
  if (declared === undefined || declared === null) {
    if (expectedSubdir !== undefined) return expectedSubdir;
    if (isSet(index.noarch)) return 'noarch';
    throw unprocessable(
      'missing_subdir',
      'info/index.json has no subdir and no noarch field, so the platform of this package is unknown; ' +
        'upload it to a platform subdir explicitly or rebuild it',
    );
  }
  if (typeof declared !== 'string') invalidField('subdir', `must be a string, but ${describe(declared)}`);
  if (!isKnownSubdir(declared)) {
    throw unprocessable(
      'unknown_subdir',
      `info/index.json has subdir ${JSON.stringify(declared)}, which conda does not know (known: ${KNOWN_SUBDIRS.join(', ')})`,
      { subdir: declared },
    );
  }
  if (expectedSubdir !== undefined && declared !== expectedSubdir) {
    throw unprocessable(
      'subdir_mismatch',
      `info/index.json has subdir ${JSON.stringify(declared)} but the package was sent to ${JSON.stringify(expectedSubdir)}`,
      { expected: expectedSubdir, actual: declared },
    );
  }
  return declared;
}
