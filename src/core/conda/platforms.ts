/**
 * The subdirs a channel may hold: `noarch` plus every platform conda itself knows.
 *
 * Mirrors `KNOWN_SUBDIRS` (= `("noarch", *PLATFORMS)`) in conda/conda `conda/base/constants.py`
 * (read at 0f64223f, conda 26.x). A subdir outside this list would never be asked for by a
 * conda client, so a package claiming one is refused rather than stored where nobody looks.
 */
export const KNOWN_SUBDIRS = [
  'noarch',
  'emscripten-wasm32',
  'wasi-wasm32',
  'freebsd-64',
  'linux-32',
  'linux-64',
  'linux-aarch64',
  'linux-armv6l',
  'linux-armv7l',
  'linux-ppc64',
  'linux-ppc64le',
  'linux-riscv64',
  'linux-s390x',
  'osx-64',
  'osx-arm64',
  'win-32',
  'win-64',
  'win-arm64',
  'zos-z',
] as const;

export type KnownSubdir = (typeof KNOWN_SUBDIRS)[number];

const known: ReadonlySet<string> = new Set(KNOWN_SUBDIRS);

export function isKnownSubdir(subdir: unknown): subdir is KnownSubdir {
  return typeof subdir === 'string' && known.has(subdir);
}
