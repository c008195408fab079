import { checkMd5, checkSha256, dedupe, locatePackage, lockInvalid, type Lockfile, type LockedPackage } from './locked-package.ts';
import type { YamlValue } from './yaml.ts';

/**
 * conda-lock.yml (the unified lock file, `version: 1`), as conda-lock writes it with PyYAML:
 *
 *     version: 1
 *     metadata: {channels: [...], platforms: [linux-64, ...], ...}
 *     package:
 *     - name: zlib
 *       version: 1.3.1
 *       manager: conda            (or pip)
 *       platform: linux-64
 *       url: https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda
 *       hash: {md5: ..., sha256: ...}
 *       category: main
 *       optional: false
 *
 * Files written before `version` existed have the same layout and are read the same way.
 * pip packages are counted as not checked.
 */
export interface CondaLockSelection {
  platforms?: readonly string[];
  /** categories to include; all when absent */
  categories?: readonly string[];
}

export function isCondaLock(doc: YamlValue): boolean {
  return isMap(doc) && 'package' in doc && 'metadata' in doc;
}

export function readCondaLock(doc: YamlValue, selection: CondaLockSelection = {}, source = 'conda-lock.yml'): Lockfile {
  if (!isMap(doc)) throw lockInvalid(`${source}: not a mapping`);
  if (doc.version !== undefined && doc.version !== null && String(doc.version) !== '1') {
    throw lockInvalid(`${source}: lock file version ${JSON.stringify(doc.version)}; Provena reads conda-lock's version 1`);
  }
  if (!Array.isArray(doc.package)) throw lockInvalid(`${source}: "package" must be a list`);
  const packages: LockedPackage[] = [];
  const pip = new Set<string>();
  let platformSeen = false;
  for (const [i, p] of doc.package.entries()) {
    const where = `${source}: package[${i}]`;
    if (!isMap(p)) throw lockInvalid(`${where} is not a mapping`);
    const platform = typeof p.platform === 'string' ? p.platform : null;
    if (selection.platforms && (platform === null || !selection.platforms.includes(platform))) continue;
    if (selection.categories && !selection.categories.includes(String(p.category ?? 'main'))) continue;
    platformSeen = true;
    if (p.manager === 'pip') {
      pip.add(String(p.url ?? p.name));
      continue;
    }
    if (p.manager !== 'conda') throw lockInvalid(`${where}: manager ${JSON.stringify(p.manager)}, expected conda or pip`);
    if (typeof p.url !== 'string') throw lockInvalid(`${where}: no url`);
    const hash = p.hash;
    if (hash !== undefined && hash !== null && !isMap(hash)) throw lockInvalid(`${where}: hash must be a mapping`);
    packages.push({
      ...locatePackage(p.url, where),
      sha256: checkSha256(hash?.sha256, where),
      md5: checkMd5(hash?.md5, where),
      platforms: platform ? [platform] : [],
    });
  }
  if (selection.platforms && !platformSeen) throw lockInvalid(`${source}: no package for platform ${selection.platforms.join(', ')}`);
  return {
    format: 'conda-lock.yml v1',
    packages: dedupe(packages),
    otherPackages: pip.size > 0 ? [{ kind: 'pip', count: pip.size }] : [],
  };
}

function isMap(v: unknown): v is { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
