import type { PackageFormat } from '../../src/core/conda/types.ts';
import { makePackage, type PackageSpec } from './package-factory.ts';

/**
 * Hostile and broken packages, each built from a real factory package with one thing wrong, so a
 * test that sees it refused knows which check did it.
 */

const MiB = 1024 * 1024;

export function baseSpec(format: PackageFormat, name = 'victim'): PackageSpec {
  return {
    name,
    version: '1.0',
    build: 'h0_0',
    subdir: 'linux-64',
    depends: ['zlib >=1.2'],
    format,
    files: { [`share/${name}/data.txt`]: 'some data\n'.repeat(100) },
  };
}

/** The first `fraction` of a real package: the end of the file, and with it the zip directory or the bz2 end, is gone. */
export async function truncatedPackage(format: PackageFormat, fraction = 0.6): Promise<Buffer> {
  const whole = await makePackage(baseSpec(format));
  return whole.subarray(0, Math.floor(whole.length * fraction));
}

/**
 * A `.conda` whose info member is a few KiB of zstd that decompresses to `size` bytes (default:
 * past the 256 MiB info bound), zeros in an info file placed before index.json.
 */
export function zstdBombConda(size = 300 * MiB): Promise<Buffer> {
  return makePackage({ ...baseSpec('.conda'), leadingInfoMembers: [{ path: 'info/padding.bin', zeros: size }] });
}

/**
 * A `.tar.bz2` of a few KiB that decompresses to `size` bytes (default: past the 64 MiB floor of
 * the bound), zeros in a package file placed before info/.
 */
export function bz2BombTarBz2(size = 100 * MiB): Promise<Buffer> {
  return makePackage({ ...baseSpec('.tar.bz2'), leadingInfoMembers: [{ path: 'share/padding.bin', zeros: size }] });
}

/** A valid JSON object just over the 1 MiB bound for index.json. */
export function oversizedIndexJson(format: PackageFormat): Promise<Buffer> {
  const spec = baseSpec(format);
  const index = { name: spec.name, version: spec.version, build: spec.build, build_number: 0, padding: 'x'.repeat(MiB) };
  return makePackage({ ...spec, indexJsonBytes: JSON.stringify(index) });
}

export function nonJsonIndexJson(format: PackageFormat): Promise<Buffer> {
  return makePackage({ ...baseSpec(format), indexJsonBytes: 'name: victim\nversion: 1.0  # YAML, not JSON\n' });
}

/** index.json that parses, but as an array instead of an object. */
export function arrayIndexJson(format: PackageFormat): Promise<Buffer> {
  return makePackage({ ...baseSpec(format), indexJsonBytes: '["victim", "1.0", "h0_0"]' });
}

export function missingIndexJson(format: PackageFormat): Promise<Buffer> {
  return makePackage({ ...baseSpec(format), indexJsonBytes: null });
}

/** A `.conda` with an extra zip entry named `../evil` ("zip slip"). */
export function zipSlipConda(name = '../evil'): Promise<Buffer> {
  return makePackage({ ...baseSpec('.conda'), extraZipEntries: [{ name, data: Buffer.from('pwned\n') }] });
}

/** A package whose info tar (for .tar.bz2: the whole tar) has a member escaping the prefix. */
export function unsafeMemberPackage(format: PackageFormat, path = 'info/../../evil'): Promise<Buffer> {
  return makePackage({ ...baseSpec(format), leadingInfoMembers: [{ path, data: Buffer.from('pwned\n') }] });
}
