/**
 * The streaming current_repodata (read name by name, what the publisher uses at any subdir size)
 * keeps exactly the records the in-memory rules keep, on every real subdir in ../shared/data.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { currentRepodata } from '../../../src/core/repodata/current-repodata.ts';
import { currentRepodataStreaming, type NamedRecord } from '../../../src/core/repodata/current-stream.ts';
import { serializeRepodata } from '../../../src/core/repodata/repodata-json.ts';
import { compareCodePoints } from '../../../src/core/repodata/subdir-records.ts';
import { readRepodata, repodataFiles, subdirOfFile } from './shared-repodata.ts';

function sourceOf(all: NamedRecord[]) {
  const byName = [...all].sort((a, b) => compareCodePoints(a.record.name, b.record.name) || compareCodePoints(a.filename, b.filename));
  let lookups = 0;
  return {
    source: {
      async *byName() {
        yield* byName;
      },
      // any order: the streaming code must not rely on it
      lookup: async (name: string) => {
        lookups++;
        return all.filter((r) => r.record.name === name).reverse();
      },
    },
    lookups: () => lookups,
  };
}

describe('current_repodata streamed by name', () => {
  for (const file of repodataFiles()) {
    it(`keeps what the in-memory rules keep: ${file}`, async () => {
      const raw = readRepodata(file);
      const packages = raw.packages;
      const packagesConda = raw['packages.conda'] ?? {};
      const all: NamedRecord[] = [
        ...Object.entries(packages).map(([filename, record]) => ({ filename, record })),
        ...Object.entries(packagesConda).map(([filename, record]) => ({ filename, record })),
      ];
      const sortedMap = (o: Record<string, PackageRecord>) => new Map(Object.entries(o).sort((a, b) => compareCodePoints(a[0], b[0])));
      const expected = currentRepodata({ packages: sortedMap(packages), packagesConda: sortedMap(packagesConda) });
      const { source } = sourceOf(all);
      const streamed = await currentRepodataStreaming(source);
      const subdir = subdirOfFile(file);
      // the bytes served, not just the sets
      assert.ok(
        serializeRepodata({ subdir, ...streamed }).equals(serializeRepodata({ subdir, ...expected })),
        `${file}: ${streamed.packages.size + streamed.packagesConda.size} vs ${expected.packages.size + expected.packagesConda.size} records`,
      );
      assert.ok(expected.packages.size + expected.packagesConda.size > 0);
    });
  }

  it('adds the newest version satisfying an unmet dependency, looked up by name, and features fallbacks', async () => {
    const rec = (name: string, version: string, extra: Partial<PackageRecord> = {}): NamedRecord => ({
      filename: `${name}-${version}-0.conda`,
      record: { name, version, build: '0', build_number: 0, depends: [], md5: '0'.repeat(32), sha256: '0'.repeat(64), size: 1, subdir: 'noarch', ...extra } as PackageRecord,
    });
    const all = [
      rec('app', '2.0', { depends: ['lib <2'] }),
      rec('lib', '1.0'),
      rec('lib', '1.5'),
      rec('lib', '2.0'),
      rec('fancy', '1.0'),
      rec('fancy', '2.0', { track_features: 'debug' }),
    ];
    const { source, lookups } = sourceOf(all);
    const streamed = await currentRepodataStreaming(source);
    assert.deepEqual([...streamed.packagesConda.keys()], ['app-2.0-0.conda', 'fancy-1.0-0.conda', 'fancy-2.0-0.conda', 'lib-1.5-0.conda', 'lib-2.0-0.conda']);
    assert.equal(lookups(), 2, 'one lookup for lib, one for fancy');
  });
});
