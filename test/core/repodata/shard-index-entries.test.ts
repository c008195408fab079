import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { ShardIndexEntries } from '../../../src/core/repodata/shard-index-entries.ts';

const hashOf = (text: string) => new Uint8Array(createHash('sha256').update(text).digest());
const createdAt = new Date('2024-05-08T12:00:00.500Z');

// What the index was before it was kept ready: the whole document through msgpack with sorted keys.
function plainEncoding(subdir: string, shards: Map<string, Uint8Array>): Buffer {
  const map: Record<string, Uint8Array> = Object.create(null);
  for (const [name, hash] of shards) map[name] = hash;
  const doc = {
    info: { base_url: './', created_at: '2024-05-08T12:00:00Z', shards_base_url: './shards/', subdir },
    repodata_version: 1,
    shards: map,
    version: 1,
  };
  return Buffer.from(encode(doc, { sortKeys: true, ignoreUndefined: true }));
}

// names of every msgpack string width, non-ASCII, astral (UTF-16 order differs from code point order)
const awkward = ['python', 'a', 'z'.repeat(31), 'y'.repeat(32), 'x'.repeat(300), 'ü-pkg', '\u{1F600}-emoji', '\uFFFD-repl', '__proto__', '_a', 'A'];

describe('ShardIndexEntries', () => {
  it('encodes what msgpack with sorted keys encodes, whatever order names arrive in', () => {
    for (const count of [0, 5, 15, 16, 200]) {
      const shards = new Map<string, Uint8Array>();
      for (let i = 0; i < count; i++) shards.set(awkward[i % awkward.length]! + (i >= awkward.length ? `-${i}` : ''), hashOf(`h${i}`));
      const entries = new ShardIndexEntries();
      for (const [name, hash] of [...shards].reverse()) entries.set(name, hash);
      assert.deepEqual(entries.encode({ subdir: 'linux-64', createdAt }), plainEncoding('linux-64', shards), `${count} names`);
    }
  });

  it('stays equal to a fresh encoding across patches and names added one by one or in bulk', () => {
    const shards = new Map<string, Uint8Array>();
    const entries = new ShardIndexEntries();
    const apply = (name: string, hash: Uint8Array) => {
      shards.set(name, hash);
      entries.set(name, hash);
    };
    for (let i = 0; i < 100; i++) apply(`pkg-${i}`, hashOf(`first ${i}`)); // bulk (sorted once)
    assert.deepEqual(entries.encode({ subdir: 'noarch', createdAt }), plainEncoding('noarch', shards));
    apply('pkg-7', hashOf('changed')); // patched in place
    assert.deepEqual(entries.encode({ subdir: 'noarch', createdAt }), plainEncoding('noarch', shards));
    for (const name of awkward) apply(name, hashOf(name)); // inserted into the sorted list
    apply('pkg-50', hashOf('changed again'));
    assert.deepEqual(entries.encode({ subdir: 'noarch', createdAt }), plainEncoding('noarch', shards));
    assert.equal(entries.size, shards.size);
  });

  it('writes a map32 header above 65535 names', () => {
    const shards = new Map<string, Uint8Array>();
    const entries = new ShardIndexEntries();
    const hash = hashOf('same');
    for (let i = 0; i < 70_000; i++) {
      shards.set(`n${i}`, hash);
      entries.set(`n${i}`, hash);
    }
    assert.deepEqual(entries.encode({ subdir: 'noarch', createdAt }), plainEncoding('noarch', shards));
  });

  it('refuses a hash that is not 32 bytes', () => {
    assert.throws(() => new ShardIndexEntries().set('x', new Uint8Array(31)), /32 bytes/);
  });
});
