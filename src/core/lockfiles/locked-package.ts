import { invalid } from '../errors.ts';

/** One conda package a lock file pins, wherever it came from. */
export interface LockedPackage {
  /** the package filename (`name-version-build.conda`) */
  filename: string;
  /** the download URL as the lock file gives it; null for a local path or no location at all */
  url: string | null;
  /** the location when it is not an http(s) URL (a path, a file:// URL), for messages */
  local: string | null;
  /** the channel the URL is in (`https://host/NAME`), credentials and `/t/TOKEN` removed; null when local */
  channelUrl: string | null;
  /** where to fetch the channel from: channelUrl, or with its `/t/TOKEN/` kept */
  fetchChannelUrl: string | null;
  subdir: string | null;
  /** lowercase hex, when the lock file pins it */
  sha256: string | null;
  md5: string | null;
  /** platforms (or environments/platforms) the lock file lists it for */
  platforms: string[];
}

export interface Lockfile {
  /** `explicit`, `pixi.lock v6`, `conda-lock.yml v1`, ... */
  format: string;
  packages: LockedPackage[];
  /** packages that are not conda packages (PyPI), which Provena does not check: counted, never hidden */
  otherPackages: { kind: string; count: number }[];
}

const SHA256 = /^[0-9a-f]{64}$/;
const MD5 = /^[0-9a-f]{32}$/;
const SUBDIR = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const PACKAGE_FILE = /^[^/\\#?]+(\.conda|\.tar\.bz2)$/;

export function checkSha256(v: unknown, where: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !SHA256.test(v.toLowerCase())) throw lockInvalid(`${where}: sha256 must be 64 hex digits, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
}

export function checkMd5(v: unknown, where: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !MD5.test(v.toLowerCase())) throw lockInvalid(`${where}: md5 must be 32 hex digits, got ${JSON.stringify(v)}`);
  return v.toLowerCase();
}

/**
 * Splits a package location into channel, subdir and filename. An http(s) URL must end in
 * `/SUBDIR/FILENAME` (the layout of every conda channel); credentials and conda's `/t/TOKEN/` are
 * taken out of the channel's identity (they are how to fetch it, not which channel it is) but kept
 * for fetching. Anything else is a local package (a path, file://).
 */
export function locatePackage(location: string, where: string): Omit<LockedPackage, 'sha256' | 'md5' | 'platforms'> {
  if (!/^https?:\/\//i.test(location)) {
    const filename = location.split(/[/\\]/).pop() ?? location;
    return { filename, url: null, local: location, channelUrl: null, fetchChannelUrl: null, subdir: null };
  }
  let u: URL;
  try {
    u = new URL(location);
  } catch {
    throw lockInvalid(`${where}: ${JSON.stringify(location)} is not a URL`);
  }
  if (u.search !== '' || u.hash !== '') throw lockInvalid(`${where}: ${JSON.stringify(location)}: a package URL has no query or fragment`);
  const segments = u.pathname.split('/');
  const filename = decodeURIComponent(segments.pop() ?? '');
  const subdir = segments.pop() ?? '';
  if (!PACKAGE_FILE.test(filename)) throw lockInvalid(`${where}: ${JSON.stringify(location)} does not end in a .conda or .tar.bz2 file`);
  if (!SUBDIR.test(subdir)) throw lockInvalid(`${where}: ${JSON.stringify(location)} is not CHANNEL/SUBDIR/FILE`);
  const fetchPath = segments.join('/');
  if (fetchPath === '') throw lockInvalid(`${where}: ${JSON.stringify(location)} names no channel`);
  const origin = `${u.protocol}//${u.host}`;
  const identityPath = fetchPath.replace(/\/t\/[^/]+(?=\/)/, '');
  const credentials = u.username !== '' || u.password !== '' ? `${u.username}${u.password ? `:${u.password}` : ''}@` : '';
  return {
    filename,
    url: location,
    local: null,
    channelUrl: `${origin}${identityPath}`,
    fetchChannelUrl: `${u.protocol}//${credentials}${u.host}${fetchPath}`,
    subdir,
  };
}

/**
 * One entry per package file: lock files list a noarch package once per platform (conda-lock) or
 * once per environment. The same URL pinned to two different digests is a broken lock file.
 */
export function dedupe(packages: readonly LockedPackage[]): LockedPackage[] {
  const byKey = new Map<string, LockedPackage>();
  for (const p of packages) {
    const key = p.url ?? `local:${p.local ?? p.filename}`;
    const seen = byKey.get(key);
    if (seen === undefined) {
      byKey.set(key, { ...p, platforms: [...p.platforms] });
      continue;
    }
    if ((seen.sha256 && p.sha256 && seen.sha256 !== p.sha256) || (seen.md5 && p.md5 && seen.md5 !== p.md5)) {
      throw lockInvalid(`${key} is pinned twice with different digests (${seen.sha256 ?? seen.md5} and ${p.sha256 ?? p.md5})`);
    }
    seen.sha256 ??= p.sha256;
    seen.md5 ??= p.md5;
    for (const platform of p.platforms) if (!seen.platforms.includes(platform)) seen.platforms.push(platform);
  }
  return [...byKey.values()];
}

export function lockInvalid(detail: string) {
  return invalid('lockfile_invalid', detail);
}
