import { unprocessable } from '../errors.ts';
import type { PackageFilename, PackageFormat } from './types.ts';

/**
 * Package filenames: `<name>-<version>-<build><ext>`, split at the last two `-` (names may hold
 * dashes, versions and builds may not). The filename becomes a storage key and a URL path segment,
 * so anything that could escape a directory or confuse a client is refused here, before any byte
 * of the package is looked at.
 *
 * Character rules follow CEP-26 (conda/ceps `cep-0026.md`, "Identifying Packages and Channels"):
 * names, versions and build strings at most 64 characters each, names lowercase. Versions follow
 * conda's own parser (conda/conda `conda/models/version.py`, `VersionOrder`), which is what every
 * client will run on them: letters (conda lower-cases them), digits, `.`, `_`, `+`, `!`; `*` is a
 * match-spec wildcard, never part of a real version.
 */

const FORMATS: readonly PackageFormat[] = ['.conda', '.tar.bz2'];
const MAX_FILENAME_LENGTH = 255;
/** CEP-26: "MUST NOT exceed 64 characters" for names, versions and build strings. */
const MAX_PART_LENGTH = 64;

/** CEP-26 distributable package name: no leading separator, no two separators in a row. */
const NAME_PATTERN = /^(?:[a-z0-9]|[a-z0-9_](?!_))[._-]?(?:[a-z0-9]+(?:[._-]|$))*$/;
const VERSION_CHARS = /^[A-Za-z0-9._+!]+$/;
const BUILD_PATTERN = /^[A-Za-z0-9_.+]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/**
 * True for a name conda accepts for a distributable package. Channel names use the same rule:
 * they end up in the same places (URL segments, directory names).
 */
export function isValidPackageName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= MAX_PART_LENGTH && NAME_PATTERN.test(name);
}

/** Why `name` is not a valid package name, for error details; undefined when it is valid. */
export function packageNameProblem(name: string): string | undefined {
  if (name === '') return 'the name is empty';
  if (name.length > MAX_PART_LENGTH) return `the name is longer than ${MAX_PART_LENGTH} characters`;
  if (/[A-Z]/.test(name)) return `package names are lowercase; use ${JSON.stringify(name.toLowerCase())}`;
  if (!NAME_PATTERN.test(name)) {
    return (
      `name ${JSON.stringify(name)} may only hold lowercase letters, digits, '_', '-' and '.', ` +
      'must start with a letter, a digit or a single underscore, and may not have two separators in a row'
    );
  }
  return undefined;
}

/** Why `version` is not a version conda can parse; undefined when it is valid. */
export function versionProblem(version: string): string | undefined {
  const quoted = JSON.stringify(version);
  if (version === '') return 'the version is empty';
  if (version.length > MAX_PART_LENGTH) return `the version is longer than ${MAX_PART_LENGTH} characters`;
  if (version.includes('*')) return `version ${quoted} contains '*', a match-spec wildcard, not a version`;
  if (!VERSION_CHARS.test(version)) {
    return `version ${quoted} may only hold letters, digits, '.', '_', '+' and '!'`;
  }
  const epochSplit = version.split('!');
  if (epochSplit.length > 2) return `version ${quoted} has more than one epoch separator '!'`;
  if (epochSplit.length === 2 && !/^[0-9]+$/.test(epochSplit[0])) {
    return `the epoch before '!' in version ${quoted} must be a number`;
  }
  const localSplit = epochSplit[epochSplit.length - 1].split('+');
  if (localSplit.length > 2) return `version ${quoted} has more than one local-version separator '+'`;
  const [main, local] = localSplit;
  if (main === '') return `version ${quoted} has nothing before its local part or after its epoch`;
  // conda keeps one trailing '_' as part of the last component (openssl-style "1.0.2_")
  const mainParts = (main.endsWith('_') ? main.slice(0, -1) : main).split(/[._]/);
  if (main.endsWith('_')) mainParts[mainParts.length - 1] += '_';
  const parts = local === undefined ? mainParts : [...mainParts, ...local.split(/[._]/)];
  if (parts.some((p) => p === '')) {
    return `version ${quoted} has an empty component (two separators in a row, or one at either end)`;
  }
  return undefined;
}

/** Why `build` is not a valid build string; undefined when it is valid. */
export function buildProblem(build: string): string | undefined {
  if (build === '') return 'the build string is empty';
  if (build.length > MAX_PART_LENGTH) return `the build string is longer than ${MAX_PART_LENGTH} characters`;
  if (!BUILD_PATTERN.test(build)) {
    return `build string ${JSON.stringify(build)} may only hold letters, digits, '_', '.' and '+'`;
  }
  return undefined;
}

function refuse(filename: string, why: string): never {
  throw unprocessable('invalid_filename', `${JSON.stringify(filename)} is not a valid package filename: ${why}`, {
    filename,
  });
}

/** Splits and validates a package filename; throws `invalid_filename` saying what is wrong. */
export function parsePackageFilename(filename: string): PackageFilename {
  if (typeof filename !== 'string' || filename === '') refuse(String(filename ?? ''), 'it is empty');
  if (filename.length > MAX_FILENAME_LENGTH) {
    refuse(filename.slice(0, 80) + '…', `it is longer than ${MAX_FILENAME_LENGTH} characters`);
  }
  if (CONTROL_CHARS.test(filename)) refuse(filename, 'it contains a control character (NUL, newline, ...)');
  if (filename.includes('/') || filename.includes('\\')) {
    refuse(filename, "it contains a path separator ('/' or '\\'); send the bare filename");
  }
  if (filename === '.' || filename === '..') refuse(filename, 'it is a relative path segment');

  const format = FORMATS.find((ext) => filename.endsWith(ext));
  if (format === undefined) refuse(filename, "it must end in '.conda' or '.tar.bz2'");
  const stem = filename.slice(0, -format.length);
  const buildDash = stem.lastIndexOf('-');
  const versionDash = buildDash > 0 ? stem.lastIndexOf('-', buildDash - 1) : -1;
  if (buildDash < 0 || versionDash < 0) {
    refuse(filename, `it must be <name>-<version>-<build>${format}`);
  }
  const name = stem.slice(0, versionDash);
  const version = stem.slice(versionDash + 1, buildDash);
  const build = stem.slice(buildDash + 1);

  const problem = packageNameProblem(name) ?? versionProblem(version) ?? buildProblem(build);
  if (problem !== undefined) refuse(filename, problem);
  return { filename, name, version, build, format };
}
