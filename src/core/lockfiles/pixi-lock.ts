import { checkMd5, checkSha256, dedupe, locatePackage, lockInvalid, type Lockfile, type LockedPackage } from './locked-package.ts';
import type { YamlValue } from './yaml.ts';

/**
 * pixi.lock (rattler_lock), versions 5, 6 and 7:
 *
 *     version: 6
 *     environments:
 *       default:
 *         channels: [{url: https://prefix.dev/conda-forge/}]
 *         packages:
 *           linux-64:
 *           - conda: https://prefix.dev/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda
 *           - pypi: https://files.pythonhosted.org/...
 *     packages:
 *     - conda: https://prefix.dev/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda    (v6, v7)
 *       sha256: ...
 *       md5: ...
 *     - kind: conda                                                                 (v5)
 *       url: https://...
 *       sha256: ...
 *
 * Only the packages an environment uses are read (all environments, or the ones asked for), so a
 * package is checked for the platforms it is installed on. Source packages (`conda_source`, a
 * `conda:` path) are local; PyPI packages are counted as not checked.
 */
export interface PixiSelection {
  environments?: readonly string[];
  platforms?: readonly string[];
}

export function isPixiLock(doc: YamlValue): boolean {
  return isMap(doc) && 'environments' in doc && 'packages' in doc && 'version' in doc;
}

export function readPixiLock(doc: YamlValue, selection: PixiSelection = {}, source = 'pixi.lock'): Lockfile {
  if (!isMap(doc)) throw lockInvalid(`${source}: not a mapping`);
  const version = Number(doc.version);
  if (![5, 6, 7].includes(version)) {
    throw lockInvalid(`${source}: lock file version ${JSON.stringify(doc.version)}; Provena reads pixi.lock versions 5, 6 and 7`);
  }
  const platformSubdirs = new Map<string, string>();
  if (Array.isArray(doc.platforms)) {
    for (const p of doc.platforms) if (isMap(p) && typeof p.name === 'string') platformSubdirs.set(p.name, typeof p.subdir === 'string' ? p.subdir : p.name);
  }

  // what each package entry says, by location
  const entries = new Map<string, { sha256: string | null; md5: string | null }>();
  if (!Array.isArray(doc.packages)) throw lockInvalid(`${source}: "packages" must be a list`);
  for (const [i, p] of doc.packages.entries()) {
    if (!isMap(p)) throw lockInvalid(`${source}: packages[${i}] is not a mapping`);
    const where = `${source}: packages[${i}]`;
    const location = version === 5 ? (p.kind === 'conda' ? p.url : null) : p.conda;
    if (typeof location !== 'string') continue; // pypi, conda_source
    if (entries.has(location)) continue; // variants of one source location; binaries are unique by URL
    entries.set(location, { sha256: checkSha256(p.sha256, where), md5: checkMd5(p.md5, where) });
  }

  if (!isMap(doc.environments)) throw lockInvalid(`${source}: "environments" must be a mapping`);
  const wantedEnvs = selection.environments;
  for (const env of wantedEnvs ?? []) {
    if (!Object.hasOwn(doc.environments, env)) throw lockInvalid(`${source}: no environment ${JSON.stringify(env)} (it has ${Object.keys(doc.environments).join(', ')})`);
  }
  const packages: LockedPackage[] = [];
  const other = new Map<string, Set<string>>();
  let platformSeen = false;
  for (const [envName, env] of Object.entries(doc.environments)) {
    if (wantedEnvs && !wantedEnvs.includes(envName)) continue;
    if (!isMap(env)) throw lockInvalid(`${source}: environment ${envName} is not a mapping`);
    const byPlatform = env.packages;
    if (byPlatform === null || byPlatform === undefined) continue;
    if (!isMap(byPlatform)) throw lockInvalid(`${source}: environments.${envName}.packages must be a mapping of platforms`);
    for (const [platform, list] of Object.entries(byPlatform)) {
      const subdir = platformSubdirs.get(platform) ?? platform;
      if (selection.platforms && !selection.platforms.includes(platform) && !selection.platforms.includes(subdir)) continue;
      platformSeen = true;
      if (!Array.isArray(list)) throw lockInvalid(`${source}: environments.${envName}.packages.${platform} must be a list`);
      for (const [i, ref] of list.entries()) {
        const where = `${source}: environments.${envName}.packages.${platform}[${i}]`;
        if (!isMap(ref)) throw lockInvalid(`${where} is not a mapping`);
        if (typeof ref.conda === 'string') {
          const entry = entries.get(ref.conda);
          if (entry === undefined) throw lockInvalid(`${where}: ${ref.conda} is not in the "packages" list`);
          packages.push({ ...locatePackage(ref.conda, where), ...entry, platforms: [`${envName}/${platform}`] });
        } else if (typeof ref.conda_source === 'string') {
          packages.push({ filename: ref.conda_source, url: null, local: `source package ${ref.conda_source}`, channelUrl: null, fetchChannelUrl: null, subdir: null, sha256: null, md5: null, platforms: [`${envName}/${platform}`] });
        } else {
          const kind = Object.keys(ref)[0] ?? 'unknown';
          const seen = other.get(kind) ?? new Set<string>();
          seen.add(String(ref[kind]));
          other.set(kind, seen);
        }
      }
    }
  }
  if (selection.platforms && !platformSeen) throw lockInvalid(`${source}: no environment has platform ${selection.platforms.join(', ')}`);
  return {
    format: `pixi.lock v${version}`,
    packages: dedupe(packages),
    otherPackages: [...other].map(([kind, locations]) => ({ kind, count: locations.size })),
  };
}

function isMap(v: unknown): v is { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
