import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { currentRepodata } from '../../../src/core/repodata/current-repodata.ts';

let serial = 0;
function rec(name: string, version: string, build: string, extra: Partial<PackageRecord> = {}): PackageRecord {
  serial++;
  return {
    name,
    version,
    build,
    build_number: Number(/_(\d+)$/.exec(build)?.[1] ?? 0),
    depends: [],
    subdir: 'linux-64',
    md5: serial.toString(16).padStart(32, '0'),
    sha256: serial.toString(16).padStart(64, '0'),
    size: 1000 + serial,
    timestamp: 1_700_000_000_000 + serial,
    ...extra,
  };
}

/** `.conda` records keyed by their filename. */
function conda(...records: PackageRecord[]): Record<string, PackageRecord> {
  return Object.fromEntries(records.map((r) => [`${r.name}-${r.version}-${r.build}.conda`, r]));
}

function keptFilenames(result: ReturnType<typeof currentRepodata>): string[] {
  return [...result.packages.keys(), ...result.packagesConda.keys()].sort();
}

describe('currentRepodata: the rules of conda-index current_repodata.py', () => {
  it('keeps every build of the newest version of each name and nothing older', () => {
    const result = currentRepodata({
      packages: {},
      packagesConda: conda(rec('a', '1.0', 'h_0'), rec('a', '2.0', 'h_0'), rec('a', '2.0', 'h_1'), rec('b', '0.1', 'h_0')),
    });
    assert.deepEqual(keptFilenames(result), ['a-2.0-h_0.conda', 'a-2.0-h_1.conda', 'b-0.1-h_0.conda']);
  });

  it('selects the newest version with conda ordering, not string ordering', () => {
    const result = currentRepodata({
      packages: {},
      packagesConda: conda(rec('a', '1.9', 'h_0'), rec('a', '1.10', 'h_0'), rec('a', '1.10.dev1', 'h_0'), rec('a', '1.1', 'h_0')),
    });
    // `a=1.10` is a prefix match: the dev pre-release of 1.10 comes along, as in conda-index
    assert.deepEqual(keptFilenames(result), ['a-1.10-h_0.conda', 'a-1.10.dev1-h_0.conda']);
  });

  it('backfills an unsatisfied dependency with all builds of its newest matching version', () => {
    const result = currentRepodata({
      packages: {},
      packagesConda: conda(
        rec('app', '2.0', 'h_0', { depends: ['lib <2'] }),
        rec('app', '1.0', 'h_0', { depends: ['lib <1.5'] }),
        rec('lib', '1.0', 'h_0'),
        rec('lib', '1.5', 'h_0'),
        rec('lib', '1.5', 'h_1'),
        rec('lib', '2.0', 'h_0'),
      ),
    });
    assert.deepEqual(keptFilenames(result), ['app-2.0-h_0.conda', 'lib-1.5-h_0.conda', 'lib-1.5-h_1.conda', 'lib-2.0-h_0.conda']);
  });

  it('does not look at the dependencies of backfilled records (one pass only)', () => {
    const result = currentRepodata({
      packages: {},
      packagesConda: conda(
        rec('app', '2.0', 'h_0', { depends: ['lib <2'] }),
        rec('lib', '1.5', 'h_0', { depends: ['dep <1'] }),
        rec('lib', '2.0', 'h_0'),
        rec('dep', '0.9', 'h_0'),
        rec('dep', '1.0', 'h_0'),
      ),
    });
    assert.ok(!keptFilenames(result).includes('dep-0.9-h_0.conda'));
    assert.ok(keptFilenames(result).includes('lib-1.5-h_0.conda'));
  });

  it('leaves dependencies alone that nothing in the subdir satisfies', () => {
    const result = currentRepodata({
      packages: {},
      packagesConda: conda(rec('app', '1.0', 'h_0', { depends: ['__glibc >=2.17', 'elsewhere', 'lib >=9', 'bad spec (((', 'lib[build="^(a+)+$"]'] }), rec('lib', '1.0', 'h_0')),
    });
    assert.deepEqual(keptFilenames(result), ['app-1.0-h_0.conda', 'lib-1.0-h_0.conda']);
  });

  it('keeps a .tar.bz2 only when it has no .conda twin, and gives each .conda its twin md5', () => {
    const twinTar = rec('x', '1.0', 'h_0');
    const twinConda = rec('x', '1.0', 'h_0');
    const onlyConda = rec('y', '1.0', 'h_0');
    const onlyTar = rec('z', '1.0', 'h_0');
    const input = {
      packages: { 'x-1.0-h_0.tar.bz2': twinTar, 'z-1.0-h_0.tar.bz2': onlyTar },
      packagesConda: { 'x-1.0-h_0.conda': twinConda, 'y-1.0-h_0.conda': onlyConda },
    };
    const result = currentRepodata(input);
    assert.deepEqual([...result.packages.keys()], ['z-1.0-h_0.tar.bz2']);
    assert.deepEqual(result.packagesConda.get('x-1.0-h_0.conda'), { ...twinConda, legacy_bz2_md5: twinTar.md5 });
    assert.deepEqual(result.packagesConda.get('y-1.0-h_0.conda'), { ...onlyConda, legacy_bz2_md5: null });
    assert.equal(result.packages.get('z-1.0-h_0.tar.bz2'), onlyTar);
    assert.equal('legacy_bz2_md5' in twinConda, false, 'input records are not modified');
  });

  it('adds the newest featureless record for a name whose newest carries features', () => {
    const result = currentRepodata({
      packages: {},
      packagesConda: conda(
        rec('blas', '2.0', 'mkl_0', { track_features: 'blas_mkl' }),
        rec('blas', '1.5', 'openblas_0'),
        rec('blas', '1.0', 'openblas_0'),
        rec('numpy', '1.0', 'h_0', { features: 'nomkl' }),
      ),
    });
    assert.deepEqual(keptFilenames(result), ['blas-1.5-openblas_0.conda', 'blas-2.0-mkl_0.conda', 'numpy-1.0-h_0.conda']);
  });

  it('keeps the newest of each pinned series (conda-index -m)', () => {
    const packagesConda = conda(
      rec('python', '3.12.1', 'h_0'),
      rec('python', '3.11.7', 'h_0'),
      rec('python', '3.9.17', 'h_0'),
      rec('python', '3.9.18', 'h_0'),
      rec('python', '3.9.18', 'h_1'),
    );
    const result = currentRepodata({ packages: {}, packagesConda }, { python: ['3.9', '2.7'] });
    assert.deepEqual(keptFilenames(result), ['python-3.12.1-h_0.conda', 'python-3.9.18-h_0.conda', 'python-3.9.18-h_1.conda']);
  });

  it('skips records conda cannot load (record_version > 1, unparseable version)', () => {
    const result = currentRepodata({
      packages: {},
      packagesConda: conda(rec('a', '3.0', 'h_0', { record_version: 2 }), rec('a', '2.0', 'h_0'), rec('b', '1..0', 'h_0')),
    });
    assert.deepEqual(keptFilenames(result), ['a-2.0-h_0.conda']);
  });

  it('returns empty maps for an empty subdir', () => {
    const result = currentRepodata({ packages: {}, packagesConda: {} });
    assert.equal(result.packages.size + result.packagesConda.size, 0);
  });
});
