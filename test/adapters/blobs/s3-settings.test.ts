import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BucketLayout, objectHeaders } from '../../../src/adapters/blobs/s3/bucket-layout.ts';
import { parseStorageUrl } from '../../../src/adapters/blobs/s3/open-s3.ts';
import { openBlobs } from '../../../src/adapters/cli/backends.ts';
import { loadSettings, SettingsError } from '../../../src/adapters/config/settings.ts';

describe('S3 storage settings', () => {
  it('reads storage and the s3_* settings from flags and PROVENA_* variables', () => {
    const s = loadSettings(
      { storage: 's3://conda-bucket/prod/channels', s3_endpoint: 'http://127.0.0.1:9000' },
      { PROVENA_S3_REGION: 'eu-west-1', PROVENA_S3_FORCE_PATH_STYLE: 'true', PROVENA_S3_ACCESS_KEY_ID: 'AK', PROVENA_S3_SECRET_ACCESS_KEY: 'SK' },
    );
    assert.equal(s.storage, 's3://conda-bucket/prod/channels');
    assert.equal(s.s3_endpoint, 'http://127.0.0.1:9000');
    assert.equal(s.s3_region, 'eu-west-1');
    assert.equal(s.s3_force_path_style, true);
    assert.equal(s.s3_access_key_id, 'AK');
    assert.equal(loadSettings({ s3_force_path_style: 'false' }, {}).s3_force_path_style, false);
    assert.equal(loadSettings({}, {}).storage, undefined);
  });

  it('refuses a storage setting that is not s3://BUCKET[/PREFIX], naming the setting', () => {
    for (const bad of ['/var/lib/blobs', 's3://', 'S3://Bucket/x', 'https://bucket/x']) {
      assert.throws(() => loadSettings({ storage: bad }, {}), (e: Error) => e instanceof SettingsError && /setting storage: must be s3:\/\/BUCKET/.test(e.message), bad);
    }
    assert.throws(() => loadSettings({ s3_force_path_style: 'maybe' }, {}), /setting s3_force_path_style/);
  });

  it('refuses one credential half without the other before touching the network', async () => {
    const s = loadSettings({ storage: 's3://bucket/p' }, { PROVENA_S3_ACCESS_KEY_ID: 'AK' });
    await assert.rejects(openBlobs(s, '/nonexistent'), (e: Error) => e instanceof SettingsError && /both s3_access_key_id and s3_secret_access_key/.test(e.message));
  });

  it('parses bucket and prefix', () => {
    assert.deepEqual(parseStorageUrl('s3://bucket'), { bucket: 'bucket', prefix: '' });
    assert.deepEqual(parseStorageUrl('s3://my.bucket/a/b/'), { bucket: 'my.bucket', prefix: 'a/b' });
    assert.equal(parseStorageUrl('s3://bucket/a/../b'), null);
    assert.equal(parseStorageUrl('s3://bucket/a//b'), null);
  });
});

describe('bucket layout', () => {
  const layout = new BucketLayout('cdn/v1/');

  it('puts channel keys at the prefix and everything else under _provena/, and back', () => {
    assert.equal(layout.objectKey('channels/demo/noarch/repodata.json'), 'cdn/v1/demo/noarch/repodata.json');
    assert.equal(layout.objectKey('pkgs/sha256/ab/abcd'), 'cdn/v1/_provena/pkgs/sha256/ab/abcd');
    assert.equal(layout.objectKey('log/tile/0/000'), 'cdn/v1/_provena/log/tile/0/000');
    for (const key of ['channels/demo/noarch/repodata.json', 'pkgs/sha256/ab/abcd', 'log/checkpoint']) {
      assert.equal(layout.blobKey(layout.objectKey(key)), key);
    }
    assert.equal(layout.blobKey('elsewhere/x'), null);
    assert.equal(new BucketLayout('').objectKey('channels/a/b/c'), 'a/b/c');
  });

  it('lists the right half for a prefix', () => {
    assert.equal(layout.listPrefix('channels/demo/'), 'cdn/v1/demo/');
    assert.equal(layout.listPrefix('pkgs/sha256/'), 'cdn/v1/_provena/pkgs/sha256/');
    assert.equal(layout.listPrefix(''), 'cdn/v1/');
  });

  it('stores the types and caching the server answers with', () => {
    assert.deepEqual(objectHeaders('channels/d/noarch/repodata.json'), { ContentType: 'application/json', CacheControl: 'public, max-age=30' });
    assert.equal(objectHeaders('channels/d/noarch/shards/ab.msgpack.zst').CacheControl, 'public, max-age=31536000, immutable');
    assert.equal(objectHeaders('channels/d/noarch/x-1-0.conda.sigs').CacheControl, 'no-cache');
    assert.equal(objectHeaders('channels/d/noarch/x-1-0.conda.v0.sigs').CacheControl, 'public, max-age=300');
    assert.equal(objectHeaders(`channels/d/noarch/x-1-0.conda.sigs.${'a'.repeat(64)}`).CacheControl, 'public, max-age=31536000, immutable');
    assert.equal(objectHeaders('pkgs/sha256/ab/abcd').CacheControl, undefined);
  });
});
