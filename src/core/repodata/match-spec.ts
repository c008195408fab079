/**
 * The part of conda's MatchSpec that dependency strings in repodata use: `name`, `name 1.2.*`,
 * `name >=1,<2 py*_0`, `name=1.2=build`, `name[version='>=1',build=*_0]`, `channel::name`.
 * Parsing follows conda's `_parse_spec_str` step by step so that current_repodata keeps exactly
 * the records conda-index would keep.
 */
import { invalid } from '../errors.ts';
import { globRegex, parseVersionSpec, userRegex, type VersionPredicate } from './version-spec.ts';

/** The fields of a record a dependency can be matched against. */
export interface MatchableRecord {
  name: string;
  version: string;
  build: string;
  build_number?: number;
  [field: string]: unknown;
}

export interface MatchSpec {
  /** lower-cased, as conda compares names */
  readonly name: string;
  /** set when the spec names a channel: in a single-channel index such a spec matches nothing */
  readonly channel?: string;
  matches(record: MatchableRecord): boolean;
}

const BRACKETS = /.*(\[.*\])/;
const BRACKET_KV = /([a-zA-Z0-9_-]+?)=(["']?)([^'"]*?)(\2)(?:[, ]|$)/g;
const PARENS = /.*(\(.*\))/;
const NAME_REST = /^([^ =<>!~]+)?([><!=~ ].+)?/;
const VERSION_BUILD = /((?:.+?)[^><!,|]?)(?:(?<![=!|,<>~])(?:[ =])([^-=,|<>~]+?))?$/;

function bad(spec: string, why: string): never {
  throw invalid('invalid_match_spec', `dependency "${spec}" is not a valid match spec: ${why}`);
}

/** conda's GlobStrMatch: `^...$` is a regex, a `*` makes a glob, anything else is literal. */
function globMatcher(pattern: string): (value: string) => boolean {
  if (pattern.startsWith('^') && pattern.endsWith('$')) {
    const re = userRegex(pattern, 'build spec');
    return (value) => re.test(value);
  }
  if (!pattern.includes('*')) return (value) => value === pattern;
  const re = globRegex(pattern, 'build spec');
  return (value) => re.test(value);
}

/** conda's BuildNumberMatch: an integer, `*`, or a relation such as `>=2` (compared as numbers). */
function buildNumberMatcher(spec: string): (value: number | undefined) => boolean {
  const text = spec.trim();
  if (/^[+-]?\d+$/.test(text)) return (value) => (value ?? 0) === Number(text);
  if (text === '*') return () => true;
  const relation = /^(==|!=|<=|>=|<|>)(\d+)$/.exec(text);
  if (relation === null) bad(spec, 'unsupported build number spec');
  const target = Number(relation[2]);
  const accept: Record<string, (n: number) => boolean> = {
    '==': (n) => n === target,
    '!=': (n) => n !== target,
    '<': (n) => n < target,
    '<=': (n) => n <= target,
    '>': (n) => n > target,
    '>=': (n) => n >= target,
  };
  const test = accept[relation[1]!]!;
  return (value) => test(value ?? 0);
}

/** conda turns `=1.2` into `1.2*` and `==1.2` into `1.2` when no build follows. */
function sanitizeVersion(version: string, build: string | undefined): string {
  if (version === '=' || version === '==' || !version.startsWith('=')) return version;
  const bare = version.replace(/^=+/, '');
  if (version.startsWith('==') && build === undefined) return bare;
  if (!/[=,|]/.test(bare)) return build === undefined && !bare.endsWith('*') ? `${bare}*` : bare;
  return version;
}

/** Parses a dependency string; throws `invalid_match_spec` where conda would refuse it. */
export function parseMatchSpec(original: string): MatchSpec {
  let spec = original;
  const hash = spec.indexOf('#');
  if (hash >= 0) spec = spec.slice(0, hash);
  spec = spec.split(' if ')[0]!;

  const fields: Record<string, string> = {};
  const brackets = BRACKETS.exec(spec);
  if (brackets !== null) {
    const whole = brackets[1]!;
    spec = spec.replace(whole, '');
    for (const kv of whole.slice(1, -1).matchAll(BRACKET_KV)) {
      const key = kv[1]!;
      const value = kv[3]!;
      if (value === '') bad(original, 'key-value mismatch in brackets');
      fields[key === 'build_string' ? 'build' : key] = value;
    }
  }
  const parens = PARENS.exec(spec);
  if (parens !== null) spec = spec.replace(parens[1]!, ''); // legacy "(optional)" annotations

  // `channel:namespace:name` keeps the last three colon-separated parts, like Python's rsplit(":", 2)
  const colon = spec.split(':');
  let channel = colon.length >= 3 ? colon.slice(0, -2).join(':') : undefined;
  spec = colon[colon.length - 1]!;
  if (fields.channel !== undefined) channel = fields.channel;

  const nameRest = NAME_REST.exec(spec);
  const rawName = nameRest?.[1];
  if (rawName === undefined) bad(original, 'no package name found');
  let version: string | undefined;
  let build: string | undefined;
  const rest = (nameRest![2] ?? '').trim();
  if (rest !== '') {
    if (rest.includes('[')) bad(original, 'multiple brackets sections not allowed');
    const vb = VERSION_BUILD.exec(rest);
    version = (vb?.[1] ?? rest).replaceAll(' ', '');
    build = vb?.[2]?.trim() || undefined;
    version = sanitizeVersion(version, build);
  }
  if (fields.version !== undefined) version = sanitizeVersion(fields.version, fields.build);
  if (fields.build !== undefined) build = fields.build;

  const checks: ((r: MatchableRecord) => boolean)[] = [];
  const name = rawName!.toLowerCase();
  if (name !== '*') {
    const byName = globMatcher(name);
    checks.push((r) => byName(r.name));
  }
  if (version !== undefined) {
    const byVersion: VersionPredicate = parseVersionSpec(version);
    checks.push((r) => byVersion(r.version));
  }
  if (build !== undefined) {
    const byBuild = globMatcher(build);
    checks.push((r) => byBuild(r.build));
  }
  if (fields.build_number !== undefined) {
    const byNumber = buildNumberMatcher(fields.build_number);
    checks.push((r) => byNumber(r.build_number));
  }
  for (const key of ['md5', 'sha256', 'fn', 'subdir']) {
    const want = fields[key];
    if (want !== undefined) checks.push((r) => r[key] === want);
  }
  return {
    name,
    ...(channel !== undefined && channel !== '' ? { channel } : {}),
    matches: (record) => (channel === undefined || channel === '') && checks.every((c) => c(record)),
  };
}
