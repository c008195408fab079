// Resuming an appender from its right edge alone gives the same tree as resuming from stored hashes,
// and a right edge of the wrong shape is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryHashStore } from '../../../src/core/tlog/memory-hash-store.ts';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { hashEquals } from '../../../src/core/tlog/hashing.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const entry = (i: number) => new TextEncoder().encode(`entry ${i}`);
const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;

test('fromFrontier(size, frontier()) continues exactly like open(size, stored hashes)', async () => {
  const store = new MemoryHashStore();
  const tree = TreeAppender.empty();
  for (let size = 0; size < 300; size++) {
    const resumed = TreeAppender.fromFrontier(size, tree.frontier());
    const opened = await TreeAppender.open(size, store);
    assert.ok(hashEquals(resumed.root(), opened.root()));
    assert.deepEqual(resumed.appendEntry(entry(size)), opened.appendEntry(entry(size)));
    store.put(tree.appendEntry(entry(size)));
    assert.ok(hashEquals(resumed.root(), tree.root()));
  }
});

test('a right edge of the wrong shape is refused', () => {
  const tree = TreeAppender.empty();
  for (let i = 0; i < 5; i++) tree.appendEntry(entry(i));
  assert.equal(tree.frontier().length, 2); // 5 = 4 + 1
  assert.throws(() => TreeAppender.fromFrontier(6, tree.frontier().slice(0, 1)), code('frontier_invalid'));
  assert.throws(() => TreeAppender.fromFrontier(5, [...tree.frontier(), tree.frontier()[0]]), code('frontier_invalid'));
  assert.throws(() => TreeAppender.fromFrontier(5, [tree.frontier()[0], new Uint8Array(31)]), code('hash_malformed'));
  assert.throws(() => TreeAppender.fromFrontier(-1, []), code('tree_index_invalid'));
});
