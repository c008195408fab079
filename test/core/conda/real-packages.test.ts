import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parsePackageFilename } from '../../../src/core/conda/filename.ts';
import { readPackageMetadata } from '../../../src/core/conda/package-reader.ts';
import { checkPackageIdentity, DROPPED_INDEX_KEYS, toPackageRecord } from '../../../src/core/conda/record.ts';
import type { FileDigests, PackageMetadata } from '../../../src/core/conda/types.ts';
import { isProvenaError } from '../../../src/core/errors.ts';
import { PACKAGES_DIR, readPackageStats } from './package-stats.ts';

const GOLDEN = '/work/shared/data/repodata/conda_format_repo_linux-64_repodata.json';
const stats = readPackageStats();

function digestsOf(path: string): FileDigests {
  const data = readFileSync(path);
  return {
    md5: createHash('md5').update(data).digest('hex'),
    sha256: createHash('sha256').update(data).digest('hex'),
    size: data.length,
  };
}

async function read(filename: string): Promise<PackageMetadata> {
  return readPackageMetadata(`${PACKAGES_DIR}/${filename}`, parsePackageFilename(filename).format);
}

describe('the shared real packages', () => {
  it('are all described in packages_stats.tsv', () => {
    assert.deepEqual(stats.map((s) => s.filename).sort(), readdirSync(PACKAGES_DIR).sort());
    assert.equal(stats.length, 16);
  });

  for (const s of stats) {
    it(`reads ${s.filename} as packages_stats.tsv describes it`, async () => {
      const digests = digestsOf(`${PACKAGES_DIR}/${s.filename}`);
      assert.deepEqual([digests.size, digests.sha256], [s.size, s.sha256], 'the shared file itself changed');
      const { index } = await read(s.filename);
      assert.equal(index.name, s.name);
      assert.equal(index.version, s.version);
      assert.equal(index.build, s.build);
      assert.equal(index.subdir ?? null, s.subdir);
      assert.equal(index.noarch ?? null, s.noarch);
      assert.deepEqual(index.depends ?? null, s.depends);

      const parsed = parsePackageFilename(s.filename);
      if (s.subdir !== null) {
        assert.equal(checkPackageIdentity(parsed, index), s.subdir);
        assert.equal(checkPackageIdentity(parsed, index, s.subdir), s.subdir);
      } else {
        // rattler's synthetic packages have no subdir and no noarch: only the caller can say where they go
        assert.throws(() => checkPackageIdentity(parsed, index), { code: 'missing_subdir' });
        assert.equal(checkPackageIdentity(parsed, index, 'linux-64'), 'linux-64');
      }

      const record = toPackageRecord(index, digests);
      for (const key of Object.keys(index)) {
        if (DROPPED_INDEX_KEYS.has(key)) assert.ok(!(key in record), `${key} kept`);
        else if (!['md5', 'sha256', 'size'].includes(key)) assert.deepEqual(record[key], index[key], key);
      }
      assert.deepEqual([record.md5, record.sha256, record.size], [digests.md5, digests.sha256, digests.size]);
    });
  }

  it('gives the zlib records of the golden repodata.json exactly, in both formats', async () => {
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8'));
    for (const [section, filename] of [
      ['packages', 'zlib-1.2.11-h7b6447c_3.tar.bz2'],
      ['packages.conda', 'zlib-1.2.11-h7b6447c_3.conda'],
    ]) {
      const { index } = await read(filename);
      assert.equal(index.arch, 'x86_64', 'the package does carry arch; the record must drop it');
      assert.equal(index.platform, 'linux');
      const record = toPackageRecord(index, digestsOf(`${PACKAGES_DIR}/${filename}`));
      assert.deepEqual(record, golden[section][filename]);
    }
  });

  it('reads index.json and about.json exactly as conda-package-streaming does', async (t) => {
    const probe = spawnSync('/usr/bin/python3', ['-c', 'import conda_package_streaming'], { encoding: 'utf8' });
    if (probe.status !== 0) return t.skip('Debian python3-conda-package-streaming is not installed');
    const script = `
import json, os, sys
from conda_package_streaming.package_streaming import stream_conda_info
out = {}
for fn in sorted(os.listdir(sys.argv[1])):
    found = {}
    with open(os.path.join(sys.argv[1], fn), 'rb') as fh:
        for tar, member in stream_conda_info(fn, fh):
            if member.name in ('info/index.json', 'info/about.json'):
                found[member.name] = json.load(tar.extractfile(member))
    out[fn] = found
print(json.dumps(out))`;
    const run = spawnSync('/usr/bin/python3', ['-c', script, PACKAGES_DIR], { encoding: 'utf8', maxBuffer: 1 << 26 });
    assert.equal(run.status, 0, run.stderr);
    const expected: Record<string, Record<string, unknown>> = JSON.parse(run.stdout);
    assert.equal(Object.keys(expected).length, stats.length);
    for (const [filename, members] of Object.entries(expected)) {
      const meta = await read(filename);
      assert.deepEqual(meta.index, members['info/index.json'], filename);
      assert.deepEqual(meta.about, members['info/about.json'], filename);
    }
  });

  it('refuses a real package under a name that is not its own', async () => {
    const { index } = await read('zlib-1.2.11-h7b6447c_3.conda');
    const renamed = parsePackageFilename('zlib-1.2.12-h7b6447c_3.conda');
    try {
      checkPackageIdentity(renamed, index);
      assert.fail('accepted');
    } catch (err) {
      assert.ok(isProvenaError(err));
      assert.equal(err.code, 'filename_mismatch');
      assert.deepEqual(err.extra, { field: 'version', expected: '1.2.12', actual: '1.2.11' });
    }
  });
});
