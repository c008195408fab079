/**
 * current_repodata.json from a subdir read name by name (current-repodata.ts has the rules), so a
 * 400k-record subdir is never in memory: one name's records at a time, plus what is kept.
 *
 * - Pass over the records in (name, filename) order: each name's newest version (and pinned series).
 * - The dependencies of what is kept that nothing kept satisfies are looked up per name (`lookup`),
 *   like the features fallback; a wildcard name (rare) takes one more pass over the subdir.
 * The result equals `currentRepodata()` over the same records (tested on real subdirs).
 */
import type { PackageRecord } from '../conda/types.ts';
import { compareVersions } from '../conda/version.ts';
import type { MatchSpec } from './match-spec.ts';
import {
  candidatesOf,
  findMatches,
  groupsOf,
  hasFeatures,
  newestVersions,
  parseOrNull,
  sameVersion,
  type Candidate,
  type CurrentRepodataRecords,
  type CurrentVersionPins,
  type Groups,
} from './current-repodata.ts';
import { compareCodePoints } from './subdir-records.ts';

export interface NamedRecord {
  filename: string;
  record: PackageRecord;
}

export interface CurrentSource {
  /** every live record, ordered by (name, filename) */
  byName(): AsyncIterable<NamedRecord>;
  /** one name's live records, in any order */
  lookup(name: string): Promise<NamedRecord[]>;
  /**
   * Each name's `newestOfName` as stored with its shard (JSON), by name in code point order; null for a
   * name without a current one (its records are then looked up). Without pins, this replaces the pass
   * over every record; `undefined` (or too many nulls) means that pass.
   */
  keptParts?(): AsyncIterable<{ name: string; current: string | null }>;
}

/** A record current_repodata.json keeps on account of its own name, with its `.tar.bz2` twin's md5. */
export interface KeptPart {
  filename: string;
  record: PackageRecord;
  legacyMd5: string | null;
}

/**
 * What current_repodata.json keeps from one name's records alone (its newest version, no pins): stored
 * with the name's shard so a full rebuild reads these instead of every record. Order matters (it is the
 * order the pass over every record keeps them in).
 */
export function newestOfName(records: readonly NamedRecord[]): KeptPart[] {
  const g = groupOf(records);
  return [...newestVersions(g.groups, undefined)].map((c) => ({ filename: c.filename, record: c.record, legacyMd5: g.legacyMd5.get(c.filename) ?? null }));
}

function candidateOf(part: KeptPart): Candidate | undefined {
  return candidatesOf(part.filename.endsWith('.conda') ? { packages: new Map(), packagesConda: new Map([[part.filename, part.record]]) } : { packages: new Map([[part.filename, part.record]]), packagesConda: new Map() })[0];
}

/** Pass one from stored parts; null when too many names have none (a pass over every record is cheaper). */
async function keptFromParts(source: CurrentSource): Promise<Kept | null> {
  const kept: Kept = new Map();
  let missing = 0;
  let names = 0;
  for await (const { name, current } of source.keptParts!()) {
    names++;
    let parts: KeptPart[];
    if (current !== null) {
      parts = JSON.parse(current) as KeptPart[];
    } else {
      // a name changed since its shard was built (or never built with 0009): from its records
      if (++missing > 1000 && missing * 10 > names) return null;
      parts = newestOfName(await source.lookup(name));
    }
    for (const part of parts) {
      const c = candidateOf(part);
      if (c !== undefined) kept.set(c, part.legacyMd5);
    }
  }
  return kept;
}

/** One name's records the way current-repodata.ts takes a subdir; `.tar.bz2` md5s for the twins. */
interface NameGroup {
  groups: Groups;
  legacyMd5: Map<string, string | null>;
}

function groupOf(records: readonly NamedRecord[]): NameGroup {
  const sorted = [...records].sort((a, b) => compareCodePoints(a.filename, b.filename));
  const packages = new Map<string, PackageRecord>();
  const packagesConda = new Map<string, PackageRecord>();
  for (const r of sorted) (r.filename.endsWith('.conda') ? packagesConda : packages).set(r.filename, r.record);
  const legacyMd5 = new Map<string, string | null>();
  for (const filename of packagesConda.keys()) {
    const twin = packages.get(`${filename.slice(0, -'.conda'.length)}.tar.bz2`);
    legacyMd5.set(filename, (twin?.md5 as string | undefined) ?? null);
  }
  return { groups: groupsOf(candidatesOf({ packages, packagesConda })), legacyMd5 };
}

async function* nameGroups(records: AsyncIterable<NamedRecord>): AsyncGenerator<NameGroup> {
  let name: string | undefined;
  let batch: NamedRecord[] = [];
  for await (const r of records) {
    if (r.record.name !== name && batch.length > 0) {
      yield groupOf(batch);
      batch = [];
    }
    name = r.record.name;
    batch.push(r);
  }
  if (batch.length > 0) yield groupOf(batch);
}

/** A kept candidate with the md5 of its `.tar.bz2` twin (for `.conda` files). */
type Kept = Map<Candidate, string | null>;

export async function currentRepodataStreaming(source: CurrentSource, pins?: CurrentVersionPins): Promise<CurrentRepodataRecords> {
  let kept = pins === undefined && source.keptParts !== undefined ? await keptFromParts(source) : null;
  if (kept === null) {
    kept = new Map();
    for await (const g of nameGroups(source.byName())) {
      for (const c of newestVersions(g.groups, pins)) kept.set(c, g.legacyMd5.get(c.filename) ?? null);
    }
  }

  const looked = new Map<string, NameGroup>();
  const lookup = async (name: string): Promise<NameGroup> => {
    let g = looked.get(name);
    if (g === undefined) {
      g = groupOf(await source.lookup(name));
      looked.set(name, g);
    }
    return g;
  };
  const addVersion = (g: NameGroup, name: string, version: string, into: Kept) => {
    for (const c of sameVersion(g.groups, name, version)) into.set(c, g.legacyMd5.get(c.filename) ?? null);
  };

  // missing dependencies: only of what pass one kept, not of what this adds (as current-repodata.ts)
  const current = groupsOf(kept.keys());
  const expanded: Kept = new Map(kept);
  const seen = new Set<string>();
  const wildcards: MatchSpec[] = [];
  for (const c of kept.keys()) {
    for (const dep of c.depends) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      const spec = parseOrNull(dep);
      if (spec === null || findMatches(current, spec).length > 0) continue;
      if (spec.name.includes('*')) {
        wildcards.push(spec);
        continue;
      }
      const g = await lookup(spec.name);
      const best = findMatches(g.groups, spec)[0];
      if (best !== undefined) addVersion(g, spec.name, best.record.version, expanded);
    }
  }
  if (wildcards.length > 0) await addWildcardMatches(source, wildcards, expanded);

  // features fallback, per name of what is kept now
  const withFallbacks: Kept = new Map(expanded);
  for (const [name, group] of groupsOf(expanded.keys())) {
    if (!group.some((c) => hasFeatures(c.record))) continue;
    const latest = group[0]!.record.version;
    const g = await lookup(name);
    const fallback = (g.groups.get(name) ?? []).find((c) => compareVersions(c.record.version, latest) <= 0 && !hasFeatures(c.record));
    if (fallback !== undefined) withFallbacks.set(fallback, g.legacyMd5.get(fallback.filename) ?? null);
  }
  return toRecords(withFallbacks);
}

/**
 * A wildcard spec matches across names; current-repodata.ts takes the first match in the order the
 * names first appear among the subdir's `.conda` files, then its other files (both by filename).
 */
async function addWildcardMatches(source: CurrentSource, specs: MatchSpec[], into: Kept): Promise<void> {
  const best = specs.map(() => undefined as { rank: [number, string]; c: Candidate; g: NameGroup } | undefined);
  for await (const g of nameGroups(source.byName())) {
    const [name, group] = [...g.groups][0] ?? [];
    if (name === undefined || group === undefined) continue;
    const condaFirst = group.filter((c) => c.filename.endsWith('.conda')).map((c) => c.filename).sort(compareCodePoints)[0];
    const legacyFirst = group.map((c) => c.filename).sort(compareCodePoints)[0]!;
    const rank: [number, string] = condaFirst !== undefined ? [0, condaFirst] : [1, legacyFirst];
    specs.forEach((spec, i) => {
      const match = findMatches(g.groups, spec)[0];
      if (match === undefined) return;
      const b = best[i];
      if (b === undefined || rank[0] < b.rank[0] || (rank[0] === b.rank[0] && compareCodePoints(rank[1], b.rank[1]) < 0)) best[i] = { rank, c: match, g };
    });
  }
  for (const b of best) {
    if (b === undefined) continue;
    for (const c of sameVersion(b.g.groups, b.c.record.name, b.c.record.version)) into.set(c, b.g.legacyMd5.get(c.filename) ?? null);
  }
}

function toRecords(kept: Kept): CurrentRepodataRecords {
  const ordered = [...kept].sort((a, b) => compareCodePoints(a[0].filename, b[0].filename));
  const result: CurrentRepodataRecords = { packages: new Map(), packagesConda: new Map() };
  for (const [{ filename, record }, legacyMd5] of ordered) {
    if (filename.endsWith('.conda')) result.packagesConda.set(filename, { ...record, legacy_bz2_md5: legacyMd5 });
    else result.packages.set(filename, record);
  }
  return result;
}
