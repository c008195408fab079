/**
 * current_repodata on real channels, checked with properties derived independently of the code
 * under test: versions are compared and specs matched by rattler (Version, VersionSpec), not by
 * Provena's own version/spec code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Version, VersionSpec } from '@conda-org/rattler';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { currentRepodata } from '../../../src/core/repodata/current-repodata.ts';
import { readRepodata } from './shared-repodata.ts';

const FILES = [
  'conda-forge-subchannel-py39_linux-64_repodata.json',
  'conda-forge-subchannel-py39_noarch_repodata.json',
  'conda-forge-subchannel-py39_osx-arm64_repodata.json',
  'anaconda-r_linux-64_repodata.json',
  'anaconda-main_noarch_repodata.json',
  'pytorch_linux-64_repodata.json',
];

const versions = new Map<string, Version>();
const v = (text: string): Version => {
  let parsed = versions.get(text);
  if (parsed === undefined) versions.set(text, (parsed = new Version(text)));
  return parsed;
};

/** `name [version [build]]`, the form every dependency in these files has; null for anything else. */
function dependencyMatcher(dep: string): { name: string; test: (r: PackageRecord) => boolean } | null {
  if (/[[\]:#]/.test(dep)) return null;
  const [name, version, build, ...rest] = dep.trim().split(/\s+/);
  if (name === undefined || rest.length > 0) return null;
  const spec = version === undefined ? null : new VersionSpec(version, 'lenient');
  const glob = build === undefined ? null : new RegExp(`^${build.split('*').map((s) => s.replace(/[.+?^${}()|\\]/g, '\\$&')).join('.*')}$`);
  return {
    name,
    test: (r) => r.name === name && (spec === null || spec.matches(v(r.version))) && (glob === null || glob.test(r.build)),
  };
}

function hasFeatures(r: PackageRecord): boolean {
  return [r.track_features, r.features].some((f) => typeof f === 'string' && f.trim() !== '');
}

for (const file of FILES) {
  describe(`currentRepodata on ${file}`, () => {
    const raw = readRepodata(file);
    const packages = raw.packages;
    const packagesConda = raw['packages.conda'] ?? {};
    const result = currentRepodata({ packages, packagesConda });
    const out = [...result.packages.entries(), ...result.packagesConda.entries()];

    // What conda loads: each .conda, and a .tar.bz2 only without its .conda twin.
    const visible: [string, PackageRecord][] = [
      ...Object.entries(packagesConda),
      ...Object.entries(packages).filter(([fn]) => !Object.hasOwn(packagesConda, fn.replace(/\.tar\.bz2$/, '.conda'))),
    ];
    const byName = new Map<string, PackageRecord[]>();
    for (const [, r] of visible) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    const newest = new Map<string, Version>();
    for (const [name, records] of byName) {
      newest.set(name, records.map((r) => v(r.version)).reduce((a, b) => (b.compare(a) > 0 ? b : a)));
    }
    const isNewest = (r: PackageRecord) => v(r.version).equals(newest.get(r.name)!);

    it('is a real subset of the subdir', () => {
      assert.ok(out.length > 0 && out.length < visible.length, `${out.length} of ${visible.length}`);
    });

    it('lists every package name', () => {
      assert.deepEqual(new Set(out.map(([, r]) => r.name)), new Set(byName.keys()));
    });

    it('keeps every build of each name’s newest version', () => {
      const kept = new Set(out.map(([fn]) => fn));
      const missing = visible.filter(([fn, r]) => isNewest(r) && !kept.has(fn)).map(([fn]) => fn);
      assert.deepEqual(missing, []);
    });

    it('copies records unchanged, drops .tar.bz2 twins, and adds legacy_bz2_md5 to .conda', () => {
      for (const [fn, r] of result.packages) {
        assert.ok(!Object.hasOwn(packagesConda, fn.replace(/\.tar\.bz2$/, '.conda')), `${fn} has a .conda twin`);
        assert.deepEqual(r, packages[fn]);
      }
      for (const [fn, r] of result.packagesConda) {
        const twin = packages[fn.replace(/\.conda$/, '.tar.bz2')];
        assert.deepEqual(r, { ...packagesConda[fn], legacy_bz2_md5: twin?.md5 ?? null });
      }
    });

    it('satisfies within itself every dependency of the newest records that the subdir satisfies', () => {
      const outRecords = out.map(([, r]) => r);
      const unsatisfied: string[] = [];
      for (const r of outRecords.filter(isNewest)) {
        for (const dep of r.depends ?? []) {
          const m = dependencyMatcher(dep);
          if (m === null || !(byName.get(m.name) ?? []).some(m.test)) continue;
          if (!outRecords.some(m.test)) unsatisfied.push(`${r.name}-${r.version}-${r.build}: ${dep}`);
        }
      }
      assert.deepEqual(unsatisfied, []);
    });

    it('keeps nothing older than the newest unless a dependency or the feature rule needs it', () => {
      const outRecords = out.map(([, r]) => r);
      // versions a kept record's dependency asks for: the newest version in the subdir that satisfies it
      const requested = new Set<string>();
      for (const r of outRecords) {
        for (const dep of r.depends ?? []) {
          const m = dependencyMatcher(dep);
          if (m === null) continue;
          const best = (byName.get(m.name) ?? []).filter(m.test).map((x) => v(x.version));
          if (best.length > 0) requested.add(`${m.name} ${best.reduce((a, b) => (b.compare(a) > 0 ? b : a)).toString()}`);
        }
      }
      const featured = new Set(outRecords.filter(hasFeatures).map((r) => r.name));
      const unexplained = outRecords.filter((r) => {
        const top = newest.get(r.name)!;
        const prefixOfNewest = v(r.version).startsWith(top) || r.version.startsWith(top.toString());
        const asked = [...requested].some((q) => q.startsWith(`${r.name} `) && v(q.slice(r.name.length + 1)).equals(v(r.version)));
        const featureFallback = featured.has(r.name) && !hasFeatures(r);
        return !prefixOfNewest && !asked && !featureFallback;
      });
      assert.deepEqual(unexplained.map((r) => `${r.name}-${r.version}-${r.build}`), []);
      assert.ok(outRecords.some((r) => !isNewest(r)) || file.includes('noarch'), 'some dependency pulls in an older version');
    });
  });
}
