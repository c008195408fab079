import { dedupe, locatePackage, lockInvalid, type Lockfile, type LockedPackage } from './locked-package.ts';

/**
 * An explicit spec, as `conda list --explicit [--md5|--sha256]` and `conda env export --format
 * explicit` write it (conda/cli/main_list.py `print_explicit`):
 *
 *     # This file may be used to create an environment using:
 *     # $ conda create --name <env> --file <this file>
 *     # platform: linux-64
 *     # created-by: conda 26.1.0
 *     @EXPLICIT
 *     https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda#<md5 or sha256>
 *
 * Lines are read as conda reads them (conda/misc.py `_get_url_pattern`): the checksum after `#` is
 * 32 hex digits (md5) or 64 (sha256, with or without `sha256:`). `# no URL for: FILE` marks a
 * package conda could not name a URL for: it is reported, not dropped.
 */
const LINE = /^(?:(.+)[/\\])?([^/\\#]+(?:\.conda|\.tar\.bz2))(?:#(?:([0-9a-f]{32})|(?:sha256:)?([0-9a-f]{64})))?$/;

export function isExplicitSpec(text: string): boolean {
  return /^@EXPLICIT\s*$/m.test(text);
}

export function readExplicitSpec(text: string, source = 'explicit spec'): Lockfile {
  const packages: LockedPackage[] = [];
  let platform: string | null = null;
  let marker = false;
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    const where = `${source}, line ${i + 1}`;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const p = /^#\s*platform:\s*(\S+)\s*$/.exec(line);
      if (p) platform = p[1]!;
      const noUrl = /^#\s*no URL for:\s*(\S+)\s*$/.exec(line);
      if (noUrl && marker) {
        packages.push({ filename: noUrl[1]!, url: null, local: '(no URL in the explicit spec)', channelUrl: null, fetchChannelUrl: null, subdir: null, sha256: null, md5: null, platforms: platform ? [platform] : [] });
      }
      continue;
    }
    if (line === '@EXPLICIT') {
      marker = true;
      continue;
    }
    if (!marker) throw lockInvalid(`${where}: a package line before the @EXPLICIT marker (${JSON.stringify(line.slice(0, 80))})`);
    const m = LINE.exec(line);
    if (m === null) throw lockInvalid(`${where}: not a package URL with an optional #md5 or #sha256 (${JSON.stringify(line.slice(0, 120))})`);
    const location = `${m[1] === undefined ? '' : `${m[1]}/`}${m[2]}`;
    packages.push({
      ...locatePackage(location, where),
      md5: m[3] ?? null,
      sha256: m[4] ?? null,
      platforms: platform ? [platform] : [],
    });
  }
  if (!marker) throw lockInvalid(`${source}: no @EXPLICIT line; write it with \`conda list --explicit --sha256\``);
  return { format: 'explicit spec', packages: dedupe(packages), otherPackages: [] };
}
