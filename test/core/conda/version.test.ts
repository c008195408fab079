import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Version } from '@conda-org/rattler';
import {
  comparePackagePreference,
  compareVersions,
  isValidVersion,
  parseVersion,
  versionStartsWith,
} from '../../../src/core/conda/version.ts';
import { isProvenaError } from '../../../src/core/errors.ts';
import { readRepodata, repodataFiles } from '../repodata/shared-repodata.ts';

function distinctVersions(): string[] {
  const versions = new Set<string>();
  for (const file of repodataFiles()) {
    const repodata = readRepodata(file);
    for (const section of [repodata.packages, repodata['packages.conda'] ?? {}]) {
      for (const record of Object.values(section)) versions.add(record.version);
    }
  }
  return [...versions].sort();
}

describe('compareVersions against rattler', () => {
  const versions = distinctVersions();
  const rattler = new Map(versions.map((v) => [v, new Version(v)]));
  const byRattler = (a: string, b: string) => rattler.get(a)!.compare(rattler.get(b)!);

  it('has many real versions to compare', () => {
    assert.ok(versions.length > 1500, `only ${versions.length} distinct versions`);
  });

  it('sorts every distinct version of the shared repodata in the same order', () => {
    // Both sorts are stable and start from the same order, so equal versions stay put in both.
    const ours = [...versions].sort(compareVersions);
    const theirs = [...versions].sort(byRattler);
    const firstDifference = ours.findIndex((v, i) => v !== theirs[i]);
    assert.equal(firstDifference, -1, `first difference at ${firstDifference}: ${ours[firstDifference]} vs ${theirs[firstDifference]}`);
  });

  it('finds the same equal spellings (1.0 == 1.0.0) as rattler', () => {
    const ours = [...versions].sort(compareVersions);
    for (let i = 0; i + 1 < ours.length; i++) {
      const a = ours[i]!;
      const b = ours[i + 1]!;
      assert.equal(compareVersions(a, b) === 0, byRattler(a, b) === 0, `${a} vs ${b}`);
    }
  });
});

describe('conda documented ordering (conda/models/version.py)', () => {
  // Each entry is [smaller-or-equal, relation, next], from VersionOrder's docstring.
  const chain: [string, '<' | '==', string][] = [
    ['0.4', '==', '0.4.0'],
    ['0.4.0', '<', '0.4.1.rc'],
    ['0.4.1.rc', '==', '0.4.1.RC'],
    ['0.4.1.RC', '<', '0.4.1'],
    ['0.4.1', '<', '0.5a1'],
    ['0.5a1', '<', '0.5b3'],
    ['0.5b3', '<', '0.5C1'],
    ['0.5C1', '<', '0.5'],
    ['0.5', '<', '0.9.6'],
    ['0.9.6', '<', '0.960923'],
    ['0.960923', '<', '1.0'],
    ['1.0', '<', '1.1dev1'],
    ['1.1dev1', '<', '1.1_'],
    ['1.1_', '<', '1.1a1'],
    ['1.1a1', '<', '1.1.0dev1'],
    ['1.1.0dev1', '==', '1.1.dev1'],
    ['1.1.dev1', '<', '1.1.a1'],
    ['1.1.a1', '<', '1.1.0rc1'],
    ['1.1.0rc1', '<', '1.1.0'],
    ['1.1.0', '==', '1.1'],
    ['1.1', '<', '1.1.0post1'],
    ['1.1.0post1', '==', '1.1.post1'],
    ['1.1.post1', '<', '1.1post1'],
    ['1.1post1', '<', '1996.07.12'],
    ['1996.07.12', '<', '1!0.4.1'],
    ['1!0.4.1', '<', '1!3.1.1.6'],
    ['1!3.1.1.6', '<', '2!0.4.1'],
    // openssl convention from the same docstring
    ['1.0.1_', '<', '1.0.1a'],
    ['1.0.1a', '<', '1.0.1'],
  ];
  for (const [a, relation, b] of chain) {
    it(`${a} ${relation} ${b}`, () => {
      const expected = relation === '==' ? 0 : -1;
      assert.equal(compareVersions(a, b), expected);
      assert.equal(compareVersions(b, a), expected === 0 ? 0 : 1);
    });
  }

  it('compares local versions only when the main versions are equal', () => {
    assert.equal(compareVersions('1.2.3+4.5', '1.2.3'), 1);
    assert.equal(compareVersions('1.2.3+4', '1.2.3+4.0'), 0);
    assert.equal(compareVersions('1.2.4', '1.2.3+9'), 1);
  });

  it('turns dashes into underscores only when there are no underscores', () => {
    assert.equal(compareVersions('1.0-rc1', '1.0_rc1'), 0);
    assert.equal(isValidVersion('1.0-rc1_2'), false);
  });

  it('compares numbers beyond 2^53 exactly', () => {
    assert.equal(compareVersions('99999999999999999999', '99999999999999999998'), 1);
    assert.equal(compareVersions('1.99999999999999999999', '1.99999999999999999999.0'), 0);
  });

  it('rejects what conda rejects', () => {
    for (const bad of ['', '  ', '1..2', '1!2!3', 'a!1', '+1', '1.0+', '1.0+1+2', '1 0', '1.0@', '1.0-rc_1']) {
      assert.throws(() => parseVersion(bad), (e) => isProvenaError(e) && e.code === 'invalid_version', bad);
    }
  });
});

describe('versionStartsWith (the `name=1.2` / `1.2.*` match)', () => {
  const starts = (v: string, p: string) => versionStartsWith(parseVersion(v), parseVersion(p));
  it('matches on component boundaries', () => {
    assert.equal(starts('1.2.3', '1.2'), true);
    assert.equal(starts('1.2', '1.2'), true);
    assert.equal(starts('1.20', '1.2'), false);
    assert.equal(starts('1.3', '1.2'), false);
  });
  it('includes pre-releases of the prefix version, as conda does', () => {
    assert.equal(starts('1.2rc1', '1.2'), true);
    assert.equal(starts('1.2.dev0', '1.2'), true);
  });
  it('matches string prefixes within the last part', () => {
    assert.equal(starts('1.2.rc1', '1.2.r'), true);
    assert.equal(starts('1.2.beta', '1.2.rc'), false);
  });
});

describe('comparePackagePreference (conda Resolve.version_key)', () => {
  const base = { version: '1.0', build_number: 0, build: 'h1_0', subdir: 'linux-64', timestamp: 1_700_000_000_000 };
  it('prefers a newer version over a higher build number', () => {
    assert.ok(comparePackagePreference({ ...base, version: '1.1' }, { ...base, build_number: 9 }) > 0);
  });
  it('breaks version ties by build number', () => {
    assert.ok(comparePackagePreference({ ...base, build_number: 2 }, { ...base, build_number: 1 }) > 0);
  });
  it('prefers an arch build over noarch, then the newer timestamp, then the build string', () => {
    assert.ok(comparePackagePreference(base, { ...base, subdir: 'noarch' }) > 0);
    assert.ok(comparePackagePreference({ ...base, timestamp: base.timestamp + 1 }, base) > 0);
    assert.ok(comparePackagePreference({ ...base, build: 'h2_0' }, base) > 0);
    assert.equal(comparePackagePreference(base, { ...base }), 0);
  });
  it('reads second and millisecond timestamps alike', () => {
    assert.equal(comparePackagePreference({ ...base, timestamp: 1_700_000_000 }, base), 0);
  });
});
