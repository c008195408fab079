import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Version, VersionSpec } from '@conda-org/rattler';
import { isProvenaError } from '../../../src/core/errors.ts';
import { parseMatchSpec } from '../../../src/core/repodata/match-spec.ts';
import { parseVersionSpec } from '../../../src/core/repodata/version-spec.ts';
import { readRepodata, repodataFiles } from './shared-repodata.ts';

function realSpecsAndVersions(): { specs: Set<string>; versions: Set<string>; depends: Set<string> } {
  const specs = new Set<string>();
  const versions = new Set<string>();
  const depends = new Set<string>();
  for (const file of repodataFiles()) {
    const raw = readRepodata(file);
    for (const record of [...Object.values(raw.packages), ...Object.values(raw['packages.conda'] ?? {})]) {
      versions.add(record.version);
      for (const dep of [...(record.depends ?? []), ...((record.constrains as string[] | undefined) ?? [])]) {
        depends.add(dep);
        const version = dep.split(' ')[1];
        if (version !== undefined) specs.add(version);
      }
    }
  }
  return { specs, versions, depends };
}

describe('version specs against rattler', () => {
  const { specs, versions } = realSpecsAndVersions();
  const rattlerVersions = [...versions].map((v) => [v, new Version(v)] as const);

  it('agrees on every real spec × every real version', () => {
    let checked = 0;
    const disagreements: string[] = [];
    for (const spec of specs) {
      // rattler reads an inner `*` (as in `1.*.*`) as a prefix; conda matches it as a glob over
      // the text ("1.12" has one dot, so `1.*.*` does not match it). Provena follows conda.
      if (spec.replace(/\*+$/, '').includes('*')) continue;
      const theirs = new VersionSpec(spec, 'lenient');
      const ours = parseVersionSpec(spec);
      for (const [text, version] of rattlerVersions) {
        checked++;
        if (ours(text) !== theirs.matches(version)) disagreements.push(`${spec} ~ ${text}`);
      }
    }
    assert.ok(checked > 1_000_000, `only ${checked} pairs`);
    assert.deepEqual(disagreements.slice(0, 10), []);
  });

  it('matches inner-star globs against the text, as conda does', () => {
    const spec = parseVersionSpec('1.*.*');
    assert.equal(spec('1.2.3'), true);
    assert.equal(spec('1.12'), false);
    assert.equal(spec('2.1.1'), false);
  });
});

describe('version spec grammar (conda VersionSpec)', () => {
  const cases: [string, string, boolean][] = [
    ['>=1.2,<2', '1.9.9', true],
    ['>=1.2,<2', '2.0a1', true], // pre-releases of 2 sort below 2
    ['>=1.2,<2.0a0', '2.0a1', false],
    ['1.2.*', '1.2.7', true],
    ['1.2.*', '1.20', false],
    ['1.2*', '1.2.7', true],
    ['=1.2', '1.2.1', true],
    ['==1.2', '1.2.0', true],
    ['==1.2', '1.2.1', false],
    ['!=1.2.*', '1.2.1', false],
    ['!=1.2.*', '1.3', true],
    ['~=1.4.2', '1.4.9', true],
    ['~=1.4.2', '1.5', false],
    ['~=1.4.2', '1.4.1', false],
    ['1.5|(1.6|1.7),1.8', '1.6', false],
    ['1.5|(1.6|1.7),1.8', '1.5', true],
    ['(1.6|1.7),>=1.7', '1.7', true],
    ['^1\\.[0-9]$', '1.7', true],
    ['^1\\.[0-9]$', '1.10', false],
    ['*', 'anything', true],
    ['2.7', '2.7.0', true],
  ];
  for (const [spec, version, expected] of cases) {
    it(`${spec} ${expected ? 'matches' : 'does not match'} ${version}`, () => {
      assert.equal(parseVersionSpec(spec)(version), expected);
    });
  }

  it('refuses regexes and globs that could backtrack for ever (they come from uploaded metadata)', () => {
    assert.throws(() => parseVersionSpec('^(1+)+$'), (e) => isProvenaError(e) && e.code === 'unsafe_regex');
    assert.throws(() => parseVersionSpec('^(1)\\1$'), (e) => isProvenaError(e) && e.code === 'unsafe_regex');
    assert.throws(() => parseMatchSpec('foo[build="^(a|aa)*$"]'), (e) => isProvenaError(e) && e.code === 'unsafe_regex');
    assert.throws(() => parseMatchSpec(`foo * ${'a*'.repeat(9)}b`), (e) => isProvenaError(e) && e.code === 'unsafe_glob');
    assert.equal(parseMatchSpec('foo * ^py3\\d+_0$').matches({ name: 'foo', version: '1', build: 'py311_0' }), true);
  });

  it('refuses malformed specs', () => {
    for (const bad of ['>=', '<>1', '>=1,', '(1.2', '1.2)', '^1.2', '~=1.*', '>= 1.2']) {
      assert.throws(() => parseVersionSpec(bad), (e) => isProvenaError(e), bad);
    }
  });
});

describe('parseMatchSpec', () => {
  const record = (name: string, version: string, build: string, build_number = 0) => ({ name, version, build, build_number });

  it('parses every dependency string in the shared repodata', () => {
    const { depends } = realSpecsAndVersions();
    const failures = [...depends].filter((d) => {
      try {
        parseMatchSpec(d);
        return false;
      } catch {
        return true;
      }
    });
    assert.ok(depends.size > 2000);
    assert.deepEqual(failures, []);
  });

  it('splits name, version and build the conda way', () => {
    const python = parseMatchSpec('python >=3.9,<3.10.0a0 *_cpython');
    assert.equal(python.name, 'python');
    assert.equal(python.matches(record('python', '3.9.18', 'h0755675_0_cpython')), true);
    assert.equal(python.matches(record('python', '3.9.18', 'h0755675_0_pypy')), false);
    assert.equal(python.matches(record('python', '3.10.0', 'h0755675_0_cpython')), false);

    const abi = parseMatchSpec('python_abi 3.9.* *_cp39');
    assert.equal(abi.matches(record('python_abi', '3.9', '4_cp39')), true);
    assert.equal(abi.matches(record('python_abi', '3.9', '4_pypy39_pp73')), false);

    const exact = parseMatchSpec('libzlib 1.2.13 hd590300_5');
    assert.equal(exact.matches(record('libzlib', '1.2.13', 'hd590300_5')), true);
    assert.equal(exact.matches(record('libzlib', '1.2.13', 'hd590300_4')), false);
  });

  it('reads `name=version=build`, brackets and spaces around operators', () => {
    const pinned = parseMatchSpec('foo=1.2=py_0');
    assert.equal(pinned.matches(record('foo', '1.2', 'py_0')), true);
    assert.equal(pinned.matches(record('foo', '1.2.1', 'py_0')), false, 'with a build, =1.2 is exact');
    const fuzzy = parseMatchSpec('foo=1.2');
    assert.equal(fuzzy.matches(record('foo', '1.2.1', 'x')), true);
    const brackets = parseMatchSpec('foo[version=">=1,<2", build=py*, build_number=">=3"]');
    assert.equal(brackets.matches(record('foo', '1.5', 'py38_3', 3)), true);
    assert.equal(brackets.matches(record('foo', '1.5', 'py38_2', 2)), false);
    const spaced = parseMatchSpec('baz >=1.0 , < 2.0 py34_0');
    assert.equal(spaced.matches(record('baz', '1.5', 'py34_0')), true);
  });

  it('lower-cases names and never matches a spec pinned to another channel', () => {
    assert.equal(parseMatchSpec('NumPy').name, 'numpy');
    const other = parseMatchSpec('conda-forge::numpy >=1');
    assert.equal(other.channel, 'conda-forge');
    assert.equal(other.matches(record('numpy', '1.26', 'x')), false);
  });

  it('ignores comments and conditions', () => {
    const spec = parseMatchSpec('foo >=1 # needed for bar');
    assert.equal(spec.matches(record('foo', '1.1', 'x')), true);
    assert.equal(parseMatchSpec('foo >=2 if __unix').matches(record('foo', '2', 'x')), true);
  });
});
