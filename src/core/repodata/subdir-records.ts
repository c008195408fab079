/**
 * The records of one subdir as the repodata writers take them: filename → record, split by
 * format the way repodata.json splits them (`packages` holds `.tar.bz2`, `packages.conda` holds
 * `.conda`). A plain object or a Map is accepted, since callers build them either way.
 */
import type { PackageRecord } from '../conda/types.ts';

export type RecordsByFilename = ReadonlyMap<string, PackageRecord> | Readonly<Record<string, PackageRecord>>;

export interface SubdirRecords {
  /** `.tar.bz2` files */
  packages: RecordsByFilename;
  /** `.conda` files */
  packagesConda: RecordsByFilename;
}

/**
 * Orders strings by Unicode code point, as Python's `sorted()` and `json.dumps(sort_keys=True)`
 * do. JavaScript's default sort compares UTF-16 units, which differs for characters beyond the BMP.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates (U+D800–U+DFFF) above U+E000–U+FFFF: they stand for code points ≥ U+10000.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

export function recordEntries(records: RecordsByFilename): [string, PackageRecord][] {
  return records instanceof Map ? [...records.entries()] : Object.entries(records as Record<string, PackageRecord>);
}

/** Entries ordered by filename, the order repodata.json lists them in. */
export function sortedRecordEntries(records: RecordsByFilename): [string, PackageRecord][] {
  return recordEntries(records).sort((x, y) => compareCodePoints(x[0], y[0]));
}

export function getRecord(records: RecordsByFilename, filename: string): PackageRecord | undefined {
  return records instanceof Map
    ? records.get(filename)
    : Object.hasOwn(records, filename)
      ? (records as Record<string, PackageRecord>)[filename]
      : undefined;
}

/**
 * The package name in `name-version-build.ext` (the name may contain dashes; version and build
 * may not). Used for `removed` entries, which are filenames without a record.
 */
export function packageNameOfFilename(filename: string): string {
  const stem = filename.replace(/\.(conda|tar\.bz2)$/, '');
  const parts = stem.split('-');
  return parts.length >= 3 ? parts.slice(0, -2).join('-') : stem;
}
