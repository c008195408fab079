/**
 * c2sp.org/tlog-tiles resource paths, relative to the log prefix: `tile/<L>/<N>[.p/<W>]` and
 * `tile/entries/<N>[.p/<W>]`. Each resource has exactly one path, so parsing refuses every other
 * spelling (leading zeros, `.p/256`, `x000` groups) rather than serving one file under many names.
 */
import { invalid } from '../errors.ts';

/** Tiles are 256 hashes wide: 8 Merkle levels per tile level. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
export const MAX_TILE_LEVEL = 63;

/** A hash tile: `level` is the tile level (Merkle level 8·level); `width` 256 for a full tile. */
export interface Tile {
  level: number;
  index: number;
  width: number;
}

/** An entry bundle: the entries behind level-0 tile `index`. */
export interface EntryBundleRef {
  index: number;
  width: number;
}

export type TileResource = { kind: 'tile'; tile: Tile } | { kind: 'entries'; bundle: EntryBundleRef };

export function tilePath(tile: Tile): string {
  if (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > MAX_TILE_LEVEL) {
    throw invalid('tile_path_invalid', `tile level ${tile.level} is not in 0..${MAX_TILE_LEVEL}`);
  }
  return `tile/${tile.level}/${indexPath(tile.index, tile.width)}`;
}

export function entryBundlePath(bundle: EntryBundleRef): string {
  return `tile/entries/${indexPath(bundle.index, bundle.width)}`;
}

/** `1234067` → `x001/x234/067`, plus `.p/<W>` for partial widths. */
export function indexPath(index: number, width: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw invalid('tile_path_invalid', `tile index ${index} is not a non-negative integer`);
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw invalid('tile_path_invalid', `tile width ${width} is not in 1..${TILE_WIDTH}`);
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  const path = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
  return width === TILE_WIDTH ? path : `${path}.p/${width}`;
}

export function parseTilePath(path: string): TileResource {
  const bad = (why: string) => invalid('tile_path_invalid', `${JSON.stringify(path)} is not a tile path: ${why}`);
  const parts = path.split('/');
  if (parts[0] !== 'tile' || parts.length < 3) throw bad('expected tile/<L>/<N> or tile/entries/<N>');
  const levelPart = parts[1];
  let rest = parts.slice(2);
  let width = TILE_WIDTH;
  const last = rest[rest.length - 1];
  if (rest.length >= 2 && rest[rest.length - 2].endsWith('.p')) {
    if (!/^[1-9][0-9]{0,2}$/.test(last) || Number(last) > TILE_WIDTH - 1) throw bad('a partial width is 1..255 without leading zeros');
    width = Number(last);
    rest = rest.slice(0, -1);
    rest[rest.length - 1] = rest[rest.length - 1].slice(0, -2);
  }
  const index = parseIndexGroups(rest, bad);
  if (levelPart === 'entries') return { kind: 'entries', bundle: { index, width } };
  if (!/^(0|[1-9][0-9]?)$/.test(levelPart) || Number(levelPart) > MAX_TILE_LEVEL) {
    throw bad(`level must be 0..${MAX_TILE_LEVEL} without leading zeros`);
  }
  return { kind: 'tile', tile: { level: Number(levelPart), index, width } };
}

function parseIndexGroups(groups: string[], bad: (why: string) => Error): number {
  let index = 0;
  groups.forEach((g, i) => {
    const isLast = i === groups.length - 1;
    const digits = isLast ? g : g.slice(1);
    if (!isLast && !g.startsWith('x')) throw bad('every index group but the last starts with x');
    if (!/^[0-9]{3}$/.test(digits)) throw bad('index groups are exactly 3 digits');
    // A leading x000 group would be a second spelling of a smaller index.
    if (i === 0 && groups.length > 1 && digits === '000') throw bad('the index has a leading zero group');
    index = index * 1000 + Number(digits);
  });
  if (!Number.isSafeInteger(index)) throw bad('the index is too large');
  return index;
}
