/**
 * Conda version specs (`>=1.2,<2|3.*`, `1.2.*`, `^1\.2$`, `!=1.3`, `~=1.4`), as conda's
 * `VersionSpec` reads them. current_repodata needs them to decide whether a dependency is already
 * satisfied by the records it keeps (conda-index asks conda; Provena cannot, so it does the same).
 */
import { invalid } from '../errors.ts';
import { compareParsedVersions, parseVersion, versionStartsWith, type ParsedVersion } from '../conda/version.ts';

/** Takes the record's version string as written, because regex and glob specs look at the text. */
export type VersionPredicate = (version: string) => boolean;

const RELATION = /^(=|==|!=|<=|>=|<|>|~=)(?![=<>!~])(\S+)$/;
const TOKENS = /\s*\^[^$]*[$]|\s*[()|,]|[^()|,]+/g;

function bad(spec: string, why: string): never {
  throw invalid('invalid_version_spec', `version spec "${spec}" is not valid: ${why}`);
}

/**
 * A `^...$` spec comes from an uploaded package's metadata and runs while repodata is rebuilt.
 * A quantified group (`(a+)+`) or a backreference can backtrack exponentially, so such specs are
 * refused; what remains runs in polynomial time on the short version and build strings.
 */
export function userRegex(pattern: string, what: string): RegExp {
  if (/\)[*+?{]|\\[1-9]/.test(pattern) || pattern.length > 200) {
    throw invalid('unsafe_regex', `${what} "${pattern}" uses a construct Provena does not evaluate (quantified group or backreference)`);
  }
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw invalid('invalid_regex', `${what} "${pattern}" is not a valid regular expression`, { cause: String(e) });
  }
}

/** `*` as "anything", the rest literal; few stars, since each one multiplies backtracking. */
export function globRegex(pattern: string, what: string): RegExp {
  const pieces = pattern.split('*');
  if (pieces.length > 9) throw invalid('unsafe_glob', `${what} "${pattern}" has more than 8 '*'`);
  return new RegExp(`^(?:${pieces.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')})$`);
}

function onParsed(test: (v: ParsedVersion) => boolean): VersionPredicate {
  return (version) => {
    try {
      return test(parseVersion(version));
    } catch {
      return false; // a record whose version conda cannot parse matches no spec
    }
  };
}

function relation(spec: string): VersionPredicate {
  const m = RELATION.exec(spec);
  if (m === null) bad(spec, 'invalid operator');
  let op = m[1]!;
  let target = m[2]!;
  if (target.endsWith('.*')) {
    if (op === '~=') bad(spec, "'~=' cannot be combined with '.*'");
    // `=1.2.*` and `>=1.2.*` mean the prefix; `!=1.2.*` excludes it; elsewhere conda drops the `.*`.
    if (op === '!=') op = '!=startswith';
    target = target.slice(0, -2);
  }
  const t = parseVersion(target);
  switch (op) {
    case '==':
      return onParsed((v) => compareParsedVersions(v, t) === 0);
    case '!=':
      return onParsed((v) => compareParsedVersions(v, t) !== 0);
    case '<':
      return onParsed((v) => compareParsedVersions(v, t) < 0);
    case '<=':
      return onParsed((v) => compareParsedVersions(v, t) <= 0);
    case '>':
      return onParsed((v) => compareParsedVersions(v, t) > 0);
    case '>=':
      return onParsed((v) => compareParsedVersions(v, t) >= 0);
    case '=':
      return onParsed((v) => versionStartsWith(v, t));
    case '!=startswith':
      return onParsed((v) => !versionStartsWith(v, t));
    default: {
      // ~=1.4.2 means >=1.4.2 and starting with 1.4
      const prefix = parseVersion(t.normalized.split('.').slice(0, -1).join('.'));
      return onParsed((v) => compareParsedVersions(v, t) >= 0 && versionStartsWith(v, prefix));
    }
  }
}

function single(raw: string): VersionPredicate {
  const spec = raw.trim();
  if (spec === '') bad(raw, 'empty');
  if (spec.startsWith('^') || spec.endsWith('$')) {
    if (!spec.startsWith('^') || !spec.endsWith('$')) bad(spec, "regex specs must start with '^' and end with '$'");
    const re = userRegex(spec, 'version spec');
    return (version) => re.test(version);
  }
  if ('=<>!~'.includes(spec[0]!)) return relation(spec);
  if (spec === '*') return () => true;
  if (spec.replace(/\*+$/, '').includes('*')) {
    // a glob with an inner `*` matches the text, as conda does
    const re = globRegex(spec, 'version spec');
    return (version) => re.test(version);
  }
  if (spec.endsWith('*')) {
    const prefix = parseVersion(spec.replace(/\*+$/, '').replace(/\.$/, ''));
    return onParsed((v) => versionStartsWith(v, prefix));
  }
  if (spec.includes('@')) return (version) => version === spec;
  const exact = parseVersion(spec);
  return onParsed((v) => compareParsedVersions(v, exact) === 0);
}

type Tree = string | { op: ',' | '|'; items: Tree[] };

/** `,` binds tighter than `|`; parentheses group. Same grammar as conda's `treeify`. */
function treeify(spec: string): Tree {
  const tokens = (spec.match(TOKENS) ?? []).map((t) => t.trim()).filter((t) => t !== '');
  let pos = 0;
  const parseOr = (): Tree => {
    const items = [parseAnd()];
    while (tokens[pos] === '|') {
      pos++;
      items.push(parseAnd());
    }
    return items.length === 1 ? items[0]! : { op: '|', items };
  };
  const parseAnd = (): Tree => {
    const items = [parseAtom()];
    while (tokens[pos] === ',') {
      pos++;
      items.push(parseAtom());
    }
    return items.length === 1 ? items[0]! : { op: ',', items };
  };
  const parseAtom = (): Tree => {
    const token = tokens[pos++];
    if (token === undefined || token === '|' || token === ',' || token === ')') bad(spec, 'expression expected');
    if (token !== '(') return token;
    const inner = parseOr();
    if (tokens[pos++] !== ')') bad(spec, "missing ')'");
    return inner;
  };
  const tree = parseOr();
  if (pos !== tokens.length) bad(spec, 'unexpected trailing input');
  return tree;
}

function compile(tree: Tree): VersionPredicate {
  if (typeof tree === 'string') return single(tree);
  const parts = tree.items.map(compile);
  return tree.op === '|' ? (v) => parts.some((p) => p(v)) : (v) => parts.every((p) => p(v));
}

/** Compiles a version spec; throws `invalid_version_spec` where conda would refuse it. */
export function parseVersionSpec(spec: string): VersionPredicate {
  return /[()|,^$]/.test(spec) ? compile(treeify(spec)) : single(spec);
}
