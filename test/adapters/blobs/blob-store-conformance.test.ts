import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { FsBlobStore } from '../../../src/adapters/blobs/fs/fs-blob-store.ts';
import { S3BlobStore } from '../../../src/adapters/blobs/s3/s3-blob-store.ts';
import type { BlobStore, ByteRange } from '../../../src/core/channel/ports.ts';
import { startS3, type RunningS3 } from '../../support/s3.ts';

/**
 * One behaviour for every BlobStore: the file store and the S3 store (on s3rver) run the same cases.
 * `pinsOldBytes`: after a key is replaced, an open handle still streams the version it was opened on
 * (files: the open descriptor). A bucket without versioning cannot hand out the old version, so there
 * the stream must fail with `blob_changed`; never may a handle stream bytes other than its stat's.
 */
interface Subject {
  name: string;
  pinsOldBytes: boolean;
  make(): Promise<BlobStore>;
}

let s3: RunningS3;
const tmpRoots: string[] = [];
const tmp = (tag: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `provena-blobs-${tag}-`));
  tmpRoots.push(dir);
  return dir;
};
let prefixes = 0;

const subjects: Subject[] = [
  { name: 'FsBlobStore', pinsOldBytes: true, make: async () => new FsBlobStore(tmp('fs')) },
  {
    name: 'S3BlobStore',
    pinsOldBytes: false,
    make: async () => s3.store(`conformance/${++prefixes}`, { multipartThreshold: 5 * 1024 ** 2, partSize: 5 * 1024 ** 2 }),
  },
];

before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.stop();
  for (const dir of tmpRoots) fs.rmSync(dir, { recursive: true, force: true });
});

async function read(store: BlobStore, key: string, range?: ByteRange): Promise<Buffer> {
  const handle = await store.open(key);
  assert.ok(handle, `${key} should exist`);
  const chunks: Buffer[] = [];
  for await (const c of handle.stream(range)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out.sort();
}

function localFile(bytes: Uint8Array): string {
  const file = path.join(tmp('spool'), 'upload');
  fs.writeFileSync(file, bytes);
  return file;
}

for (const subject of subjects) {
  describe(`BlobStore conformance: ${subject.name}`, () => {
    let store: BlobStore;
    before(async () => {
      store = await subject.make();
    });

    it('stores bytes and reads them back with a stat that describes them', async () => {
      const bytes = randomBytes(3000);
      await store.putBytes('channels/demo/noarch/repodata.json', bytes);
      const stat = await store.stat('channels/demo/noarch/repodata.json');
      assert.equal(stat?.size, 3000);
      assert.match(stat!.etag, /^"[^"]+"$/);
      assert.ok(stat!.lastModified instanceof Date);
      assert.deepEqual(await read(store, 'channels/demo/noarch/repodata.json'), bytes);
    });

    it('answers null for a key that is not there', async () => {
      assert.equal(await store.stat('pkgs/sha256/00/absent'), null);
      assert.equal(await store.open('pkgs/sha256/00/absent'), null);
    });

    it('refuses keys that could escape their place', async () => {
      for (const key of ['../x', 'a//b', 'a/./b', '']) {
        await assert.rejects(store.putBytes(key, Buffer.from('x')), /unsafe blob key/);
      }
    });

    it('replaces a key atomically: the new bytes and a new ETag', async () => {
      const key = 'channels/demo/linux-64/repodata.json';
      await store.putBytes(key, Buffer.from('first version'));
      const before = await store.stat(key);
      await store.putBytes(key, Buffer.from('second, longer version'));
      const afterStat = await store.stat(key);
      assert.notEqual(afterStat!.etag, before!.etag);
      assert.equal(afterStat!.size, 'second, longer version'.length);
      assert.equal((await read(store, key)).toString(), 'second, longer version');
    });

    it('pins the opened version: a handle never streams bytes other than its stat describes', async () => {
      const key = 'channels/demo/osx-64/repodata.json';
      const v1 = randomBytes(200_000);
      const v2 = randomBytes(150_000);
      await store.putBytes(key, v1);
      const handle = await store.open(key);
      assert.equal(handle!.stat.size, v1.length);
      await store.putBytes(key, v2);
      const chunks: Buffer[] = [];
      let error: unknown = null;
      try {
        for await (const c of handle!.stream()) chunks.push(c as Buffer);
      } catch (e) {
        error = e;
      }
      if (subject.pinsOldBytes) {
        assert.equal(error, null);
        assert.deepEqual(Buffer.concat(chunks), v1);
      } else {
        assert.ok(error, 'the stream of a replaced version must fail');
        assert.equal((error as { code?: string }).code, 'blob_changed', String(error));
        assert.match(String((error as Error).message), /replaced while it was being read/);
      }
      // a fresh open sees the new version, consistently
      const fresh = await store.open(key);
      assert.equal(fresh!.stat.size, v2.length);
      assert.deepEqual(await read(store, key), v2);
      await fresh!.close();
    });

    it('streams byte ranges, including the last byte and a single byte', async () => {
      const bytes = randomBytes(70_000);
      await store.putBytes('pkgs/sha256/ab/ranged', bytes);
      assert.deepEqual(await read(store, 'pkgs/sha256/ab/ranged', { start: 100, end: 199 }), bytes.subarray(100, 200));
      assert.deepEqual(await read(store, 'pkgs/sha256/ab/ranged', { start: 60_000, end: 69_999 }), bytes.subarray(60_000));
      assert.deepEqual(await read(store, 'pkgs/sha256/ab/ranged', { start: 5, end: 5 }), bytes.subarray(5, 6));
    });

    it('putFile makes the local file durable under the key and consumes it', async () => {
      const bytes = randomBytes(10_000);
      const file = localFile(bytes);
      await store.putFile('pkgs/sha256/cd/small', file);
      assert.equal(fs.existsSync(file), false);
      assert.deepEqual(await read(store, 'pkgs/sha256/cd/small'), bytes);
    });

    it('putFile of a large file (multipart on S3) is byte-exact', async () => {
      const bytes = randomBytes(12 * 1024 ** 2 + 12_345); // three parts of 5 MiB on S3
      const file = localFile(bytes);
      await store.putFile('pkgs/sha256/ef/large', file);
      assert.equal(fs.existsSync(file), false);
      const back = await read(store, 'pkgs/sha256/ef/large');
      assert.equal(back.length, bytes.length);
      assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(bytes).digest('hex'));
      assert.equal((await store.stat('pkgs/sha256/ef/large'))!.size, bytes.length);
      const tail = await read(store, 'pkgs/sha256/ef/large', { start: bytes.length - 10_240, end: bytes.length - 1 });
      assert.deepEqual(tail, bytes.subarray(bytes.length - 10_240));
    });

    it('links a key to another: same bytes, replacing the target, failing for an absent source', async () => {
      const bytes = randomBytes(5000);
      await store.putBytes('pkgs/sha256/12/linked', bytes);
      await store.putBytes('channels/demo/noarch/pkg-1-0.conda', Buffer.from('stale'));
      await store.link('pkgs/sha256/12/linked', 'channels/demo/noarch/pkg-1-0.conda');
      assert.deepEqual(await read(store, 'channels/demo/noarch/pkg-1-0.conda'), bytes);
      assert.deepEqual(await read(store, 'pkgs/sha256/12/linked'), bytes);
      await store.delete('pkgs/sha256/12/linked'); // the link stands on its own
      assert.deepEqual(await read(store, 'channels/demo/noarch/pkg-1-0.conda'), bytes);
      await assert.rejects(store.link('pkgs/sha256/12/absent', 'channels/demo/noarch/x-1-0.conda'), /pkgs\/sha256\/12\/absent|does not exist/);
    });

    it('deletes a key, and deleting an absent key is no error', async () => {
      await store.putBytes('log/tile/0/000', Buffer.from('tile'));
      await store.delete('log/tile/0/000');
      assert.equal(await store.stat('log/tile/0/000'), null);
      await store.delete('log/tile/0/000');
    });

    it('lists every key under a prefix, past one page of 1000, and nothing else', async () => {
      const keys = Array.from({ length: 1050 }, (_, i) => `log/tile/1/x${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((k) => store.putBytes(k, Buffer.from(k))));
      }
      await store.putBytes('log/tile/2/other', Buffer.from('other'));
      assert.deepEqual(await collect(store.list('log/tile/1/')), keys);
      const channelKeys = await collect(store.list('channels/demo/'));
      assert.ok(channelKeys.includes('channels/demo/noarch/repodata.json'), channelKeys.join());
      assert.ok(channelKeys.every((k) => k.startsWith('channels/demo/')));
      const all = await collect(store.list(''));
      assert.ok(all.includes('log/tile/2/other') && all.includes('channels/demo/noarch/repodata.json'));
      assert.deepEqual(await collect(store.list('nothing/here/')), []);
    });
  });
}

describe('S3BlobStore in its bucket', () => {
  it('lays channel files out as a static channel under the prefix and everything else under _provena/', async () => {
    const store = s3.store('layout/base');
    await store.putBytes('channels/demo/noarch/repodata.json', Buffer.from('{}'));
    await store.putBytes('pkgs/sha256/aa/aaaa', Buffer.from('package'));
    const listed = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: 'layout/base/' }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), [
      'layout/base/_provena/pkgs/sha256/aa/aaaa',
      'layout/base/demo/noarch/repodata.json',
    ]);
    const got = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'layout/base/demo/noarch/repodata.json' }));
    assert.equal(got.ContentType, 'application/json');
    assert.equal(got.CacheControl, 'public, max-age=30');
    assert.equal(await got.Body!.transformToString(), '{}');
  });

  it('ignores objects outside its prefix and never lists the internal half as channels', async () => {
    await s3.client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'layout/other/x', Body: 'x' }));
    const store = s3.store('layout/base');
    const channels = await collect(store.list('channels/'));
    assert.deepEqual(channels, ['channels/demo/noarch/repodata.json']);
  });

  it('names the bucket and key when the bucket refuses', async () => {
    const store = new S3BlobStore({ bucket: 'no-such-bucket', prefix: 'p', client: s3.client() });
    await assert.rejects(store.putBytes('pkgs/sha256/aa/x', Buffer.from('x')), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'storage_failed');
      assert.match(e.message, /cannot store s3:\/\/no-such-bucket\/p\/_provena\/pkgs\/sha256\/aa\/x/);
      assert.match(e.message, /NoSuchBucket|404/);
      return true;
    });
  });
});
