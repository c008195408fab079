import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { decode } from '@msgpack/msgpack';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { isProvenaError } from '../../../src/core/errors.ts';
import { buildShard, buildShardIndex, shardPath } from '../../../src/core/repodata/shards.ts';
import { zstdDecompress } from '../../../src/core/repodata/zstd.ts';
import { readRepodata, withoutLocationFields } from './shared-repodata.ts';

// Decompress with the zstd CLI when present, so the check does not lean on the code under test.
function unzstd(bytes: Buffer): Buffer {
  try {
    return execFileSync('zstd', ['-d', '-c', '-q'], { input: bytes, maxBuffer: 1 << 28 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return zstdDecompress(bytes, 1 << 28);
  }
}

type Decoded = Record<string, unknown>;
const isSorted = (keys: string[]) => keys.every((k, i) => i === 0 || keys[i - 1]! < k);

const raw = readRepodata('conda-forge-subchannel-py39_linux-64_repodata.json');
const ofName = (records: Record<string, PackageRecord>, name: string) =>
  withoutLocationFields(Object.fromEntries(Object.entries(records).filter(([, r]) => r.name === name)));
const pythonTar = ofName(raw.packages, 'python');
const pythonConda = ofName(raw['packages.conda']!, 'python');

describe('buildShard', () => {
  const shard = buildShard({ packages: pythonTar, packagesConda: pythonConda, removed: ['python-2.7.0-0.tar.bz2'] });
  const decoded = decode(unzstd(shard.bytes)) as Decoded;

  it('is addressed by the sha256 of its compressed bytes', () => {
    assert.deepEqual(Buffer.from(shard.sha256), createHash('sha256').update(shard.bytes).digest());
    assert.match(shardPath(shard.sha256), /^shards\/[0-9a-f]{64}\.msgpack\.zst$/);
  });

  it('holds packages, packages.conda and removed, keys sorted at every level', () => {
    assert.deepEqual(Object.keys(decoded), ['packages', 'packages.conda', 'removed']);
    assert.deepEqual(decoded.removed, ['python-2.7.0-0.tar.bz2']);
    for (const section of ['packages', 'packages.conda'] as const) {
      const records = decoded[section] as Record<string, Decoded>;
      assert.ok(isSorted(Object.keys(records)), `${section} filenames sorted`);
      for (const record of Object.values(records)) assert.ok(isSorted(Object.keys(record)), 'record keys sorted');
    }
    assert.equal(Object.keys(decoded['packages.conda'] as Decoded).length, Object.keys(pythonConda).length);
    assert.equal(Object.keys(decoded.packages as Decoded).length, Object.keys(pythonTar).length);
  });

  it('stores md5 and sha256 as raw bytes and every other field unchanged', () => {
    for (const [section, input] of [['packages', pythonTar], ['packages.conda', pythonConda]] as const) {
      for (const [filename, original] of Object.entries(input)) {
        const { md5, sha256, ...rest } = (decoded[section] as Record<string, Decoded>)[filename]!;
        assert.ok(md5 instanceof Uint8Array && md5.length === 16);
        assert.ok(sha256 instanceof Uint8Array && sha256.length === 32);
        assert.equal(Buffer.from(md5).toString('hex'), original.md5);
        assert.equal(Buffer.from(sha256).toString('hex'), original.sha256);
        const { md5: _m, sha256: _s, ...expected } = original;
        assert.deepEqual(rest, expected);
      }
    }
  });

  it('gives the same bytes whatever order the records came in', () => {
    const shuffled = buildShard({
      packages: new Map(Object.entries(pythonTar).reverse()),
      packagesConda: new Map(Object.entries(pythonConda).reverse()),
      removed: ['python-2.7.0-0.tar.bz2'],
    });
    assert.ok(shuffled.bytes.equals(shard.bytes));
    const changed = buildShard({ packages: pythonTar, packagesConda: pythonConda });
    assert.notDeepEqual(Buffer.from(changed.sha256), Buffer.from(shard.sha256));
  });

  it('refuses a digest that is not hex of the right length', () => {
    const [filename, record] = Object.entries(pythonConda)[0]!;
    for (const md5 of ['abc', 'z'.repeat(32)]) {
      assert.throws(
        () => buildShard({ packages: {}, packagesConda: { [filename]: { ...record, md5 } } }),
        (e) => isProvenaError(e) && e.code === 'invalid_digest',
      );
    }
  });
});

describe('buildShardIndex', () => {
  const a = buildShard({ packages: {}, packagesConda: pythonConda });
  const b = buildShard({ packages: pythonTar, packagesConda: {} });
  const createdAt = new Date('2024-05-08T12:34:56.789Z');

  it('writes version and repodata_version 1, info with the keys rattler requires, raw sha256 per name', () => {
    const index = decode(unzstd(buildShardIndex({ subdir: 'linux-64', createdAt, shards: new Map([['python', a.sha256], ['pip', b.sha256]]) }))) as Decoded;
    assert.deepEqual(Object.keys(index), ['info', 'repodata_version', 'shards', 'version']);
    assert.equal(index.version, 1);
    assert.equal(index.repodata_version, 1);
    assert.deepEqual(index.info, {
      base_url: './',
      created_at: '2024-05-08T12:34:56Z',
      shards_base_url: './shards/',
      subdir: 'linux-64',
    });
    const shards = index.shards as Record<string, Uint8Array>;
    assert.deepEqual(Object.keys(shards), ['pip', 'python']);
    assert.deepEqual(Buffer.from(shards.python!), Buffer.from(a.sha256));
    assert.deepEqual(Buffer.from(shards.pip!), Buffer.from(b.sha256));
  });

  it('takes base URLs as given (absolute or relative to the index)', () => {
    const index = decode(
      unzstd(
        buildShardIndex({
          subdir: 'noarch',
          baseUrl: 'https://files.example.org/ch/noarch/',
          shardsBaseUrl: 'https://cdn.example.org/ch/noarch/shards/',
          createdAt,
          shards: new Map(),
        }),
      ),
    ) as Decoded;
    assert.deepEqual(index.info, {
      base_url: 'https://files.example.org/ch/noarch/',
      created_at: '2024-05-08T12:34:56Z',
      shards_base_url: 'https://cdn.example.org/ch/noarch/shards/',
      subdir: 'noarch',
    });
    assert.deepEqual(index.shards, {});
  });

  it('refuses a shard hash that is not 32 bytes', () => {
    assert.throws(
      () => buildShardIndex({ subdir: 'noarch', createdAt, shards: new Map([['x', new Uint8Array(31)]]) }),
      (e) => isProvenaError(e) && e.code === 'invalid_digest',
    );
  });
});
