/**
 * current_repodata.json: the subset of a subdir conda tries first (conda-index
 * `conda_index/index/current_repodata.py`). The rules, in conda-index's order:
 *
 * 1. Look at what conda would load: every `.conda`, plus each `.tar.bz2` without a `.conda` twin.
 * 2. For every name keep all builds of its newest version (`name=<newest>`, a prefix match, so
 *    pre-releases of that version come along), plus the newest of each pinned series, if pinned.
 * 3. One pass over the kept records' dependencies: a dependency that no kept record satisfies
 *    but some record of the subdir does brings in all builds of the newest version satisfying it.
 *    Records added this way are not examined again.
 * 4. For names whose kept records carry `features`/`track_features`, also keep the newest record
 *    without them that is not newer than the newest kept one.
 * 5. Every kept `.conda` record gains `legacy_bz2_md5`: its `.tar.bz2` twin's md5, or null.
 */
import type { PackageRecord } from '../conda/types.ts';
import { comparePackagePreference, compareVersions, isValidVersion } from '../conda/version.ts';
import { parseMatchSpec, type MatchSpec } from './match-spec.ts';
import { getRecord, recordEntries, type SubdirRecords, compareCodePoints } from './subdir-records.ts';

export interface Candidate {
  filename: string;
  record: PackageRecord;
  /** as conda's index sees them: python 2/3 also depends on pip (add_pip_as_python_dependency) */
  depends: readonly string[];
}

export type Groups = Map<string, Candidate[]>;

/** Optional series to keep besides the newest, e.g. `{ python: ['3.9', '3.10'] }` (conda-index `-m`). */
export type CurrentVersionPins = ReadonlyMap<string, readonly string[]> | Readonly<Record<string, readonly string[]>>;

export interface CurrentRepodataRecords {
  packages: Map<string, PackageRecord>;
  packagesConda: Map<string, PackageRecord>;
}

export function candidatesOf(records: SubdirRecords): Candidate[] {
  const conda = recordEntries(records.packagesConda);
  const condaStems = new Set(conda.map(([fn]) => fn.slice(0, -'.conda'.length)));
  const legacy = recordEntries(records.packages).filter(([fn]) => !condaStems.has(fn.slice(0, -'.tar.bz2'.length)));
  const out: Candidate[] = [];
  for (const [filename, record] of [...conda, ...legacy]) {
    // conda skips records from a newer schema, and cannot rank versions it cannot parse
    if (Number(record.record_version ?? 0) > 1 || !isValidVersion(record.version)) continue;
    const depends = [...(record.depends ?? [])];
    if (record.name === 'python' && /^[23]\./.test(record.version)) depends.push('pip');
    out.push({ filename, record, depends });
  }
  return out;
}

export function groupsOf(candidates: Iterable<Candidate>): Groups {
  const groups: Groups = new Map();
  for (const c of candidates) {
    const group = groups.get(c.record.name);
    if (group === undefined) groups.set(c.record.name, [c]);
    else group.push(c);
  }
  // newest first; the sort is stable, as Python's is, so equal records keep their input order
  for (const group of groups.values()) group.sort((a, b) => comparePackagePreference(b.record, a.record));
  return groups;
}

export function findMatches(groups: Groups, spec: MatchSpec): Candidate[] {
  const pool = spec.name.includes('*') ? [...groups.values()].flat() : (groups.get(spec.name) ?? []);
  return pool.filter((c) => spec.matches(c.record));
}

export function parseOrNull(spec: string): MatchSpec | null {
  try {
    return parseMatchSpec(spec);
  } catch {
    return null; // conda-index would stop on it; a server keeps going and leaves that dependency alone
  }
}

/** Every record of `name` whose version starts with `version`, as `name=<version>` selects. */
export function sameVersion(groups: Groups, name: string, version: string): Candidate[] {
  const spec = parseOrNull(`${name}=${version}`);
  return spec === null ? [] : findMatches(groups, spec);
}

export function hasFeatures(record: PackageRecord): boolean {
  const present = (value: unknown): boolean =>
    typeof value === 'string' ? value.split(/[ ,]/).some((f) => f !== '') : Array.isArray(value) && value.length > 0;
  return present(record.track_features) || present(record.features);
}

export function newestVersions(all: Groups, pins: CurrentVersionPins | undefined): Set<Candidate> {
  const pinsOf = (name: string): readonly string[] =>
    (pins instanceof Map ? pins.get(name) : (pins as Record<string, readonly string[]> | undefined)?.[name]) ?? [];
  const kept = new Set<Candidate>();
  for (const [name, group] of all) {
    for (const c of sameVersion(all, name, group[0]!.record.version)) kept.add(c);
    for (const pin of pinsOf(name)) {
      const newestInSeries = sameVersion(all, name, pin)[0];
      if (newestInSeries === undefined) continue; // conda-index would crash; an unknown pin just keeps nothing
      for (const c of sameVersion(all, name, newestInSeries.record.version)) kept.add(c);
    }
  }
  return kept;
}

function addMissingDependencies(kept: Set<Candidate>, all: Groups): Set<Candidate> {
  const current = groupsOf(kept);
  const expanded = new Set(kept);
  const seen = new Set<string>();
  for (const c of kept) {
    for (const dep of c.depends) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      const spec = parseOrNull(dep);
      if (spec === null || findMatches(current, spec).length > 0) continue;
      const best = findMatches(all, spec)[0];
      if (best === undefined) continue;
      for (const extra of sameVersion(all, spec.name, best.record.version)) expanded.add(extra);
    }
  }
  return expanded;
}

function addFeaturelessFallbacks(kept: Set<Candidate>, all: Groups): Set<Candidate> {
  const expanded = new Set(kept);
  for (const [name, group] of groupsOf(kept)) {
    if (!group.some((c) => hasFeatures(c.record))) continue;
    const latest = group[0]!.record.version;
    const fallback = (all.get(name) ?? []).find(
      (c) => compareVersions(c.record.version, latest) <= 0 && !hasFeatures(c.record),
    );
    if (fallback !== undefined) expanded.add(fallback);
  }
  return expanded;
}

/** The records current_repodata.json lists for a subdir, by filename in filename order. */
export function currentRepodata(records: SubdirRecords, pins?: CurrentVersionPins): CurrentRepodataRecords {
  const all = groupsOf(candidatesOf(records));
  const kept = addFeaturelessFallbacks(addMissingDependencies(newestVersions(all, pins), all), all);
  const ordered = [...kept].sort((a, b) => compareCodePoints(a.filename, b.filename));
  const result: CurrentRepodataRecords = { packages: new Map(), packagesConda: new Map() };
  for (const { filename, record } of ordered) {
    if (filename.endsWith('.conda')) {
      const twin = getRecord(records.packages, `${filename.slice(0, -'.conda'.length)}.tar.bz2`);
      // conda-index stores the twin's md5 so clients that cached the .tar.bz2 see no change
      result.packagesConda.set(filename, { ...record, legacy_bz2_md5: twin?.md5 ?? null });
    } else {
      result.packages.set(filename, record);
    }
  }
  return result;
}
