import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { decode } from '@msgpack/msgpack';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { subdirFiles, type ChannelFile } from '../../../src/core/repodata/channel-files.ts';
import { zstdDecompress } from '../../../src/core/repodata/zstd.ts';
import { readRepodata, withoutLocationFields } from './shared-repodata.ts';

const createdAt = new Date('2024-05-08T00:00:00Z');
const raw = readRepodata('conda-forge-subchannel-py39_noarch_repodata.json');
const packages = withoutLocationFields(raw.packages);
const packagesConda = withoutLocationFields(raw['packages.conda']!);
const removed = ['pip-0.1-py_0.tar.bz2', 'gone-1.0-h_0.conda'];

function byPath(files: ChannelFile[]): Map<string, ChannelFile> {
  return new Map(files.map((f) => [f.path, f]));
}
const json = (f: ChannelFile | undefined) => JSON.parse(f!.bytes.toString('utf8')) as Record<string, unknown>;
const unzst = (f: ChannelFile | undefined) => zstdDecompress(f!.bytes, 1 << 28);

describe('subdirFiles for a real noarch subdir', () => {
  const files = subdirFiles({ subdir: 'noarch', packages, packagesConda, removed, createdAt });
  const paths = byPath(files);

  it('produces repodata, current_repodata, their .zst, the shard index and the shards', () => {
    for (const name of ['repodata.json', 'repodata.json.zst', 'current_repodata.json', 'current_repodata.json.zst', 'repodata_shards.msgpack.zst']) {
      assert.ok(paths.has(`noarch/${name}`), name);
    }
    const shards = files.filter((f) => f.path.startsWith('noarch/shards/'));
    assert.equal(shards.length + 5, files.length);
    assert.equal(new Set(files.map((f) => f.path)).size, files.length, 'no path twice');
  });

  it('serves repodata.json with every record, and the .zst files with the same bytes', () => {
    const repodata = json(paths.get('noarch/repodata.json'));
    assert.deepEqual(repodata.packages, packages);
    assert.deepEqual(repodata['packages.conda'], packagesConda);
    assert.deepEqual(repodata.removed, [...removed].sort());
    assert.deepEqual(repodata.info, { subdir: 'noarch' });
    assert.ok(unzst(paths.get('noarch/repodata.json.zst')).equals(paths.get('noarch/repodata.json')!.bytes));
    assert.ok(unzst(paths.get('noarch/current_repodata.json.zst')).equals(paths.get('noarch/current_repodata.json')!.bytes));
  });

  it('serves a current_repodata.json that is a subset of repodata.json', () => {
    const current = json(paths.get('noarch/current_repodata.json'));
    const kept = { ...(current.packages as object), ...(current['packages.conda'] as object) };
    assert.ok(Object.keys(kept).length > 0 && Object.keys(kept).length < Object.keys({ ...packages, ...packagesConda }).length);
    for (const filename of Object.keys(kept)) assert.ok(Object.hasOwn(packages, filename) || Object.hasOwn(packagesConda, filename));
  });

  it('indexes one shard per package name, each stored under its own hash, together holding every record', () => {
    const index = decode(unzst(paths.get('noarch/repodata_shards.msgpack.zst'))) as { shards: Record<string, Uint8Array> };
    const names = new Set([...Object.values(packages), ...Object.values(packagesConda)].map((r) => r.name));
    assert.deepEqual(new Set(Object.keys(index.shards)), new Set([...names, 'gone']));
    const seen = new Map<string, PackageRecord>();
    for (const [name, hash] of Object.entries(index.shards)) {
      const file = paths.get(`noarch/shards/${Buffer.from(hash).toString('hex')}.msgpack.zst`);
      assert.ok(file !== undefined, `shard of ${name}`);
      assert.deepEqual(createHash('sha256').update(file.bytes).digest(), Buffer.from(hash));
      const shard = decode(unzst(file)) as { packages: object; 'packages.conda': object; removed: string[] };
      for (const [filename, record] of [...Object.entries(shard.packages), ...Object.entries(shard['packages.conda'])]) {
        assert.equal((record as PackageRecord).name, name);
        seen.set(filename, record as PackageRecord);
      }
      if (name === 'gone') assert.deepEqual(shard.removed, ['gone-1.0-h_0.conda']);
    }
    assert.deepEqual(new Set(seen.keys()), new Set([...Object.keys(packages), ...Object.keys(packagesConda)]));
  });

  it('marks mutable files for a short cache and shards as immutable', () => {
    for (const file of files) {
      const expected = file.path.includes('/shards/') ? 'public, max-age=31536000, immutable' : 'public, max-age=30';
      assert.equal(file.cacheControl, expected, file.path);
    }
    assert.equal(paths.get('noarch/repodata.json')!.contentType, 'application/json');
  });

  it('gives the same bytes for the same records (stable ETags, stable shard addresses)', () => {
    const again = subdirFiles({
      subdir: 'noarch',
      packages: new Map(Object.entries(packages).reverse()),
      packagesConda: new Map(Object.entries(packagesConda).reverse()),
      removed: [...removed].reverse(),
      createdAt,
    });
    assert.deepEqual(
      again.map((f) => [f.path, createHash('sha256').update(f.bytes).digest('hex')]),
      files.map((f) => [f.path, createHash('sha256').update(f.bytes).digest('hex')]),
    );
  });
});

describe('subdirFiles edge cases', () => {
  it('serves valid, empty repodata for an empty subdir', () => {
    const files = byPath(subdirFiles({ subdir: 'linux-64', packages: {}, packagesConda: {}, createdAt }));
    assert.equal(files.size, 5);
    for (const name of ['repodata.json', 'current_repodata.json']) {
      assert.deepEqual(json(files.get(`linux-64/${name}`)), {
        info: { subdir: 'linux-64' },
        packages: {},
        'packages.conda': {},
        removed: [],
        repodata_version: 1,
      });
    }
    const index = decode(unzst(files.get('linux-64/repodata_shards.msgpack.zst'))) as Record<string, unknown>;
    assert.deepEqual(index.shards, {});
  });

  it('uses private caching for private channels', () => {
    for (const file of subdirFiles({ subdir: 'noarch', packages, packagesConda: {}, createdAt, private: true })) {
      assert.ok(file.cacheControl.startsWith('private, '), file.path);
    }
  });

  it('writes CEP-15 base_url into repodata and the shard index when packages live elsewhere', () => {
    const base = 'https://files.example.org/ch/noarch/';
    const files = byPath(subdirFiles({ subdir: 'noarch', packages, packagesConda, createdAt, packagesBaseUrl: base }));
    const repodata = json(files.get('noarch/repodata.json'));
    assert.deepEqual(repodata.info, { base_url: base, subdir: 'noarch' });
    assert.equal(repodata.repodata_version, 2);
    const index = decode(unzst(files.get('noarch/repodata_shards.msgpack.zst'))) as { info: Record<string, string> };
    assert.equal(index.info.base_url, base);
  });
});
