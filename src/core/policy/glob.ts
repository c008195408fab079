import { invalid } from '../errors.ts';

/**
 * Globs for identity policies: `*` is any run of characters except `/`, `**` any run including `/`,
 * `?` one character except `/`, `\x` the character x; everything else is literal (a `.`, `+`, `(`,
 * `[` or `$` in a policy means itself). The match is always of the WHOLE value, never a substring:
 * `acme/*` never matches `evil/acme/x`, `release.yml` never matches `prerelease.yml`.
 *
 * Compiled to a regular expression whose every literal is escaped, so no policy text is ever read
 * as a regular expression (@sigstore/verify reads its SAN policy as an unanchored one: a policy
 * `acme` accepted any SAN containing it).
 */
export interface Glob {
  pattern: string;
  test(value: string): boolean;
}

export const MAX_GLOB_LENGTH = 512;
/** Each wildcard multiplies the backtracking of a failed match; real identity globs have one or two. */
const MAX_WILDCARDS = 8;

export function compileGlob(pattern: string, what: string, opts: { ignoreCase?: boolean } = {}): Glob {
  if (pattern.length === 0) throw invalid('policy_invalid', `${what}: an empty pattern matches nothing; remove the field or give a value`);
  if (pattern.length > MAX_GLOB_LENGTH) throw invalid('policy_invalid', `${what}: pattern longer than ${MAX_GLOB_LENGTH} characters`);
  let source = '';
  let wildcards = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) throw invalid('policy_invalid', `${what}: pattern ${JSON.stringify(pattern)} ends with a lone "\\"`);
      source += escapeRegExp(next);
      i++;
    } else if (c === '*') {
      wildcards++;
      if (pattern[i + 1] === '*') {
        source += '.*';
        i++;
      } else {
        source += '[^/]*';
      }
    } else if (c === '?') {
      wildcards++;
      source += '[^/]';
    } else {
      source += escapeRegExp(c);
    }
  }
  if (wildcards > MAX_WILDCARDS) throw invalid('policy_invalid', `${what}: pattern ${JSON.stringify(pattern)} has more than ${MAX_WILDCARDS} wildcards`);
  const re = new RegExp(`^(?:${source})$`, opts.ignoreCase ? 'iu' : 'u');
  return { pattern, test: (value) => re.test(value) };
}

/**
 * A user's regular expression (cosign's `--certificate-identity-regexp`), anchored at both ends:
 * `^(?:R)$`. cosign matches unanchored, which has let `acme` accept `https://evil.example/acme`.
 */
export function compileAnchoredRegExp(source: string, what: string): Glob {
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${source})$`, 'u');
  } catch (e) {
    throw invalid('regexp_invalid', `${what}: ${JSON.stringify(source)} is not a valid regular expression (${(e as Error).message})`);
  }
  return { pattern: `/^(?:${source})$/`, test: (value) => re.test(value) };
}

function escapeRegExp(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
