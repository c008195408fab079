// c2sp.org/tlog-tiles paths. The 1234067 → x001/x234/067 case and the 70,000 / 256 tile counts are the
// spec's own examples; the rest are edges of the same rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entryBundlePath, parseTilePath, tilePath } from '../../../src/core/tlog/tile-path.ts';
import { newTiles, tilesForSize } from '../../../src/core/tlog/tiles.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;

test('hash tile paths both ways', () => {
  const cases: [number, number, number, string][] = [
    [0, 1234067, 256, 'tile/0/x001/x234/067'],
    [0, 0, 256, 'tile/0/000'],
    [0, 5, 1, 'tile/0/005.p/1'],
    [1, 999, 255, 'tile/1/999.p/255'],
    [2, 1000, 256, 'tile/2/x001/000'],
    [63, 1234067, 17, 'tile/63/x001/x234/067.p/17'],
    [3, 1_000_000, 256, 'tile/3/x001/x000/000'],
  ];
  for (const [level, index, width, path] of cases) {
    assert.equal(tilePath({ level, index, width }), path);
    assert.deepEqual(parseTilePath(path), { kind: 'tile', tile: { level, index, width } });
  }
});

test('entry bundle paths both ways', () => {
  assert.equal(entryBundlePath({ index: 1234067, width: 256 }), 'tile/entries/x001/x234/067');
  assert.equal(entryBundlePath({ index: 3, width: 112 }), 'tile/entries/003.p/112');
  assert.deepEqual(parseTilePath('tile/entries/x001/x234/067'), { kind: 'entries', bundle: { index: 1234067, width: 256 } });
  assert.deepEqual(parseTilePath('tile/entries/003.p/112'), { kind: 'entries', bundle: { index: 3, width: 112 } });
});

test('every other spelling of a tile path is refused', () => {
  for (const path of [
    'tile/0/1', // not 3 digits
    'tile/0/0001',
    'tile/0/x000/001', // leading zero group
    'tile/0/001/234', // non-last group without x
    'tile/0/x001/x234', // last group with x
    'tile/00/001', // level with leading zero
    'tile/64/001', // level out of range
    'tile/-1/001',
    'tile/0/001.p/0', // width 0
    'tile/0/001.p/256', // a full tile has no .p
    'tile/0/001.p/05', // width with leading zero
    'tile/0/001.p/', // missing width
    'tile/0/001.p',
    'tile/0/001/', // trailing slash
    'tile/0/x001.p/5/234',
    'tile/data/001',
    'tiles/0/001',
    'tile/0',
    'tile/0/12a',
  ]) {
    assert.throws(() => parseTilePath(path), code('tile_path_invalid'), path);
  }
  assert.throws(() => tilePath({ level: 0, index: 0, width: 0 }), code('tile_path_invalid'));
  assert.throws(() => tilePath({ level: 0, index: 0, width: 257 }), code('tile_path_invalid'));
  assert.throws(() => tilePath({ level: 64, index: 0, width: 1 }), code('tile_path_invalid'));
});

test('tiles of a tree of size 70,000 (spec example)', () => {
  const tiles = tilesForSize(70_000);
  const at = (level: number) => tiles.filter((t) => t.level === level);
  assert.equal(at(0).filter((t) => t.width === 256).length, 273);
  assert.deepEqual(at(0).filter((t) => t.width < 256), [{ level: 0, index: 273, width: 112 }]);
  assert.deepEqual(at(1), [{ level: 1, index: 0, width: 256 }, { level: 1, index: 1, width: 17 }]);
  assert.deepEqual(at(2), [{ level: 2, index: 0, width: 1 }]);
  assert.equal(tiles.length, 273 + 1 + 2 + 1);
});

test('tiles of a tree of size 256 (spec example) and of the empty tree', () => {
  assert.deepEqual(tilesForSize(256), [{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]);
  assert.deepEqual(tilesForSize(0), []);
  assert.deepEqual(tilesForSize(1), [{ level: 0, index: 0, width: 1 }]);
});

test('new tiles after growth are exactly the tiles the old tree did not have', () => {
  // Oracle: the set difference of the two complete tile lists, by path.
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pairs: [number, number][] = [[0, 0], [1, 1], [255, 256], [256, 257], [65535, 65536], [65536, 70000], [70000, 70000]];
  for (let i = 0; i < 60; i++) {
    const a = random(140_000);
    const b = a + random(i % 2 === 0 ? 600 : 70_000);
    pairs.push([a, b]);
  }
  for (const [oldSize, newSize] of pairs) {
    const before = new Set(tilesForSize(oldSize).map(tilePath));
    const want = tilesForSize(newSize).map(tilePath).filter((p) => !before.has(p));
    assert.deepEqual(newTiles(oldSize, newSize).map(tilePath), want, `${oldSize} → ${newSize}`);
  }
});
