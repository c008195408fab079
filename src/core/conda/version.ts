/**
 * Conda's version ordering (conda `conda/models/version.py`, class VersionOrder), so that "newest"
 * means here what it means to conda, mamba and rattler.
 *
 * A version is `[epoch!]main[+local]`. `main` and `local` split into components at `.` and `_`
 * (a trailing `_` stays attached: `1.1_` sorts just above `1.1dev`, the openssl convention); each
 * component splits into runs of digits and non-digits. Digits compare as integers, strings
 * case-insensitively, strings below integers, `dev` below every other string, `post` above
 * everything, and a missing part counts as 0, so `1.1 == 1.1.0` and `1.1.a1 == 1.1.0a1`.
 */
import { invalid } from '../errors.ts';

/** One part of a component: an integer, `Infinity` for `post`, or a lower-case string (`DEV` for `dev`). */
export type VersionPart = number | bigint | string;

export interface ParsedVersion {
  /** lower-cased, `-` turned into `_` when that is what made it valid */
  readonly normalized: string;
  /** epoch first, then one array per component; non-numeric components start with a 0 */
  readonly version: readonly (readonly VersionPart[])[];
  readonly local: readonly (readonly VersionPart[])[];
}

const VALID = /^[*.+!_0-9a-z]+$/;
const RUNS = /[0-9]+|\*+|[^0-9*]+/g;
const DIGITS = /^[0-9]+$/;

// Sorting a large subdir compares the same few thousand strings millions of times.
const cache = new Map<string, ParsedVersion>();
const CACHE_LIMIT = 100_000;

function fail(version: string, why: string): never {
  throw invalid('invalid_version', `version "${version}" is not a conda version: ${why}`);
}

function toPart(run: string): VersionPart {
  if (DIGITS.test(run)) {
    // Dates and build counters can exceed 2^53; BigInt keeps them exact and still compares with numbers.
    if (run.length < 16) return Number(run);
    const big = BigInt(run);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }
  if (run === 'post') return Infinity;
  // Upper case sorts below every lower-case string and `_`, which is exactly conda's rule for dev.
  if (run === 'dev') return 'DEV';
  return run;
}

function splitComponents(original: string, pieces: string[]): VersionPart[][] {
  return pieces.map((piece) => {
    const runs = piece.match(RUNS);
    if (runs === null) fail(original, 'empty version component');
    const parts = runs.map(toPart);
    // Components are kept "in phase": one starting with letters gets a leading 0 (1.1.a1 == 1.1.0a1).
    return DIGITS.test(piece[0] ?? '') ? parts : [0, ...parts];
  });
}

function parseUncached(original: string): ParsedVersion {
  let text = original.trim().toLowerCase();
  if (text === '') fail(original, 'empty version string');
  let valid = VALID.test(text);
  if (!valid && text.includes('-') && !text.includes('_')) {
    text = text.replaceAll('-', '_');
    valid = VALID.test(text);
  }
  if (!valid) fail(original, 'invalid character(s)');

  const byEpoch = text.split('!');
  if (byEpoch.length > 2) fail(original, "duplicated epoch separator '!'");
  const epoch = byEpoch.length === 2 ? byEpoch[0]! : '0';
  if (!DIGITS.test(epoch)) fail(original, 'epoch must be an integer');

  const byLocal = byEpoch[byEpoch.length - 1]!.split('+');
  if (byLocal.length > 2) fail(original, "duplicated local version separator '+'");
  const main = byLocal[0]!;
  if (main === '') fail(original, "missing version before local version separator '+'");
  const local = byLocal.length === 2 ? byLocal[1]!.replaceAll('_', '.').split('.') : [];

  let pieces: string[];
  if (main.endsWith('_')) {
    pieces = main.slice(0, -1).replaceAll('_', '.').split('.');
    pieces[pieces.length - 1] += '_';
  } else {
    pieces = main.replaceAll('_', '.').split('.');
  }
  return {
    normalized: text,
    version: splitComponents(original, [epoch, ...pieces]),
    local: splitComponents(original, local),
  };
}

/** Parses a version string; throws `invalid_version` for strings conda would reject. */
export function parseVersion(version: string): ParsedVersion {
  const hit = cache.get(version);
  if (hit !== undefined) return hit;
  const parsed = parseUncached(version);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(version, parsed);
  return parsed;
}

export function isValidVersion(version: string): boolean {
  try {
    parseVersion(version);
    return true;
  } catch {
    return false;
  }
}

function comparePart(a: VersionPart, b: VersionPart): number {
  const aText = typeof a === 'string';
  const bText = typeof b === 'string';
  if (aText && bText) return a === b ? 0 : a < b ? -1 : 1;
  if (aText) return -1; // strings sort below numbers (and below post, which is Infinity)
  if (bText) return 1;
  // eslint-disable-next-line eqeqeq -- number vs bigint must compare by value
  return a == b ? 0 : a < b ? -1 : 1;
}

function compareComponents(a: readonly (readonly VersionPart[])[], b: readonly (readonly VersionPart[])[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? [];
    const y = b[i] ?? [];
    const m = Math.max(x.length, y.length);
    for (let j = 0; j < m; j++) {
      const c = comparePart(x[j] ?? 0, y[j] ?? 0);
      if (c !== 0) return c;
    }
  }
  return 0;
}

export function compareParsedVersions(a: ParsedVersion, b: ParsedVersion): number {
  return compareComponents(a.version, b.version) || compareComponents(a.local, b.local);
}

/** -1, 0 or 1 as conda orders the two versions; 0 also for spellings of one version (`1.1`, `1.1.0`). */
export function compareVersions(a: string, b: string): number {
  return compareParsedVersions(parseVersion(a), parseVersion(b));
}

/**
 * Conda's prefix match, used by `name=1.2` and `1.2.*`: true when `version` agrees with `prefix`
 * on all of prefix's components but the last, and that last one is a prefix of version's
 * (`1.2.3` and `1.2rc1` start with `1.2`; `1.20` does not).
 */
export function versionStartsWith(version: ParsedVersion, prefix: ParsedVersion): boolean {
  let mine = version.version;
  let theirs = prefix.version;
  if (prefix.local.length > 0) {
    if (compareComponents(version.version, prefix.version) !== 0) return false;
    mine = version.local;
    theirs = prefix.local;
  }
  const last = theirs.length - 1;
  if (compareComponents(mine.slice(0, last), theirs.slice(0, last)) !== 0) return false;
  const mineLast = mine[last] ?? [];
  const theirsLast = theirs[last]!;
  const end = theirsLast.length - 1;
  if (compareComponents([mineLast.slice(0, end)], [theirsLast.slice(0, end)]) !== 0) return false;
  const a = mineLast[end] ?? 0;
  const b = theirsLast[end]!;
  if (typeof b === 'string') return typeof a === 'string' && a.startsWith(b);
  return typeof a !== 'string' && comparePart(a, b) === 0;
}

/** What conda's solver looks at, newest-first, when several builds share a name. */
export interface RankedRecord {
  version: string;
  build_number?: number;
  build?: string;
  subdir?: string;
  timestamp?: number;
}

// Timestamps are milliseconds in modern records and seconds in old ones; conda compares them as seconds.
function timestampSeconds(t: number | undefined): number {
  if (typeof t !== 'number' || !Number.isFinite(t)) return 0;
  return t > 253_402_300_799 ? t / 1000 : t;
}

/**
 * conda's `Resolve.version_key` within one channel: version, then build number, then an
 * architecture-specific build over a noarch one, then timestamp, then build string. Negative when
 * `a` is preferred less than `b`, so sorting with it puts the preferred record last.
 */
export function comparePackagePreference(a: RankedRecord, b: RankedRecord): number {
  const byVersion = compareVersions(a.version, b.version);
  if (byVersion !== 0) return byVersion;
  const byBuildNumber = (a.build_number ?? 0) - (b.build_number ?? 0);
  if (byBuildNumber !== 0) return Math.sign(byBuildNumber);
  const byArch = Number(b.subdir === 'noarch') - Number(a.subdir === 'noarch');
  if (byArch !== 0) return byArch;
  const byTime = timestampSeconds(a.timestamp) - timestampSeconds(b.timestamp);
  if (byTime !== 0) return Math.sign(byTime);
  const x = a.build ?? '';
  const y = b.build ?? '';
  return x === y ? 0 : x < y ? -1 : 1;
}
