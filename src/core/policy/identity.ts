import type { SignerIdentity } from '../attest/signer-identity.ts';
import { invalid } from '../errors.ts';
import { GITHUB_ISSUER } from '../publish/publisher.ts';
import { compileAnchoredRegExp, compileGlob, type Glob } from './glob.ts';

/**
 * Who may have signed: the identity half of a verification policy, shared by `provena verify`'s
 * cosign-style flags and the policy file of `provena verify-env`. Every field is read from the
 * Fulcio certificate by Provena itself (core/attest/signer-identity.ts), never through
 * @sigstore/verify's policy, and every comparison covers the whole value.
 *
 * Fields, each compared with the certificate value named:
 * - `issuer`: the OIDC issuer (1.3.6.1.4.1.57264.1.8);
 * - `subject`: the subject alternative name (an email, or for workloads the signing workflow URI);
 * - `repository`: the source repository (1.12), as `OWNER/NAME` (its path on the host; or the whole
 *   URI when the expectation names a scheme). Owner and name ignore case, as GitHub and GitLab do;
 * - `workflow`: the path of the build configuration inside that repository (1.18 without the repository
 *   and the `@ref`), e.g. `.github/workflows/release.yml`; a pattern without `/` names the file only;
 * - `signerWorkflow`: the build signer (1.9) without its `@ref` and host: `OWNER/NAME/.github/workflows/FILE`
 *   (differs from `workflow` for reusable workflows);
 * - `ref`: the source repository ref (1.14), e.g. `refs/tags/v1.2.0`.
 */
export type IdentityField = 'issuer' | 'subject' | 'repository' | 'signerWorkflow' | 'workflow' | 'ref';

export interface FieldExpectation {
  /** how the expectation reads in messages, e.g. `"acme/*" (glob)` */
  expected: string;
  test(actual: string): boolean;
}

export type IdentityRule = Partial<Record<IdentityField, FieldExpectation>>;

export interface IdentityMismatch {
  field: IdentityField;
  expected: string;
  actual: string;
  /** how many checks of the rule passed before this one (to report the closest rule) */
  passed: number;
}

/** Checked in this order, so the first reported difference is the most telling one. */
const ORDER: readonly IdentityField[] = ['issuer', 'repository', 'subject', 'signerWorkflow', 'workflow', 'ref'];

const FIELD_NAMES: Record<IdentityField, string> = {
  issuer: 'issuer',
  subject: 'subject',
  repository: 'repository',
  signerWorkflow: 'signer workflow',
  workflow: 'workflow',
  ref: 'ref',
};

export function fieldName(field: IdentityField): string {
  return FIELD_NAMES[field];
}

/** The first field of `rule` the signer does not satisfy, or null when it satisfies them all. */
export function ruleMismatch(signer: SignerIdentity, rule: IdentityRule): IdentityMismatch | null {
  let passed = 0;
  for (const field of ORDER) {
    const expectation = rule[field];
    if (expectation === undefined) continue;
    const actual = actualValue(signer, field, expectation);
    if (actual === null || !expectation.test(actual)) {
      return { field, expected: expectation.expected, actual: actual === null ? describeMissing(signer, field) : JSON.stringify(actual), passed };
    }
    passed++;
  }
  return null;
}

export interface IdentityMatch {
  /** index of the first rule the signer satisfies */
  rule: number;
}

/** The first rule the signer satisfies; else the mismatch of the rule it came closest to. */
export function matchIdentity(signer: SignerIdentity, rules: readonly IdentityRule[]): { match: IdentityMatch } | { mismatch: IdentityMismatch | null } {
  let closest: IdentityMismatch | null = null;
  for (const [i, rule] of rules.entries()) {
    const m = ruleMismatch(signer, rule);
    if (m === null) return { match: { rule: i } };
    if (closest === null || m.passed > closest.passed) closest = m;
  }
  return { mismatch: closest };
}

export function describeMismatch(m: IdentityMismatch): string {
  return `${fieldName(m.field)} expected ${m.expected}, got ${m.actual}`;
}

// ---------------------------------------------------------------------------------------------
// Values read from the certificate

type Kind = 'path' | 'full';
const KIND = Symbol('kind');
interface KindedExpectation extends FieldExpectation {
  [KIND]?: Kind;
}

function actualValue(s: SignerIdentity, field: IdentityField, expectation: KindedExpectation): string | null {
  switch (field) {
    case 'issuer':
      return s.issuer;
    case 'subject':
      return s.subjectAlternativeName?.value ?? null;
    case 'repository':
      if (s.sourceRepositoryUri === null) return null;
      return expectation[KIND] === 'full' ? s.sourceRepositoryUri : uriPath(s.sourceRepositoryUri);
    case 'signerWorkflow': {
      if (s.buildSignerUri === null) return null;
      const withoutRef = stripRef(s.buildSignerUri);
      return expectation[KIND] === 'full' ? withoutRef : uriPath(withoutRef);
    }
    case 'workflow':
      return workflowPath(s);
    case 'ref':
      return s.sourceRepositoryRef;
  }
}

/**
 * The build config's path inside the source repository: GitHub writes
 * `https://github.com/OWNER/NAME/.github/workflows/FILE@REF`, GitLab `https://gitlab.com/GROUP/PROJECT//PATH@REF`.
 * A build config outside the source repository has no such path (null: no workflow matches).
 */
export function workflowPath(s: SignerIdentity): string | null {
  const config = s.buildConfigUri;
  const repo = s.sourceRepositoryUri;
  if (config === null || repo === null) return null;
  const prefix = repo.replace(/\/+$/, '');
  if (config.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return null;
  let rest = config.slice(prefix.length);
  if (rest.startsWith('//')) rest = rest.slice(2);
  else if (rest.startsWith('/')) rest = rest.slice(1);
  else return null;
  return stripRef(rest);
}

function stripRef(uri: string): string {
  const at = uri.lastIndexOf('@');
  return at < 0 ? uri : uri.slice(0, at);
}

function uriPath(uri: string): string {
  try {
    return new URL(uri).pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  } catch {
    return uri;
  }
}

function describeMissing(s: SignerIdentity, field: IdentityField): string {
  if (field === 'workflow' && s.buildConfigUri !== null) return `${JSON.stringify(s.buildConfigUri)} (not in the source repository)`;
  return 'none (the certificate does not carry it)';
}

// ---------------------------------------------------------------------------------------------
// Expectations

export function exact(value: string, opts: { ignoreCase?: boolean } = {}): FieldExpectation {
  if (opts.ignoreCase) {
    const lower = value.toLowerCase();
    return { expected: JSON.stringify(value), test: (a) => a.toLowerCase() === lower };
  }
  return { expected: JSON.stringify(value), test: (a) => a === value };
}

export function regexp(source: string, what: string): FieldExpectation {
  const re = compileAnchoredRegExp(source, what);
  return { expected: `${re.pattern} (regexp)`, test: re.test };
}

export function glob(pattern: string, what: string, opts: { ignoreCase?: boolean } = {}): FieldExpectation {
  const g: Glob = compileGlob(pattern, what, opts);
  return { expected: `${JSON.stringify(pattern)}${/[*?]/.test(pattern) ? ' (glob)' : ''}`, test: g.test };
}

function kinded(e: FieldExpectation, kind: Kind): KindedExpectation {
  return Object.assign(e, { [KIND]: kind });
}

/** `repository` of a policy: a glob over `OWNER/NAME`, or over the whole URI when it names a scheme. */
export function repositoryGlob(pattern: string, what: string): FieldExpectation {
  return kinded(glob(pattern, what, { ignoreCase: true }), pattern.includes('://') ? 'full' : 'path');
}

/** `workflow` of a policy: a glob over the path in the repository, or over the file name when it has no `/`. */
export function workflowGlob(pattern: string, what: string): FieldExpectation {
  const g = compileGlob(pattern, what);
  const fileOnly = !pattern.includes('/');
  return {
    expected: `${JSON.stringify(pattern)}${fileOnly ? ' (file name)' : ''}${/[*?]/.test(pattern) ? ' (glob)' : ''}`,
    test: (path) => g.test(fileOnly ? path.slice(path.lastIndexOf('/') + 1) : path),
  };
}

/** `signer_workflow` of a policy: a glob over `OWNER/NAME/PATH` (or the whole URI when it names a scheme). */
export function signerWorkflowGlob(pattern: string, what: string): FieldExpectation {
  return kinded(glob(pattern, what), pattern.includes('://') ? 'full' : 'path');
}

// ---------------------------------------------------------------------------------------------
// cosign / gh / sigstore-python flags

export interface IdentityFlags {
  certificateIdentity?: string;
  certificateIdentityRegexp?: string;
  certificateOidcIssuer?: string;
  certificateOidcIssuerRegexp?: string;
  /** OWNER/NAME on GitHub */
  repo?: string;
  /** OWNER/NAME/.github/workflows/FILE (or the https://github.com/... URI) */
  signerWorkflow?: string;
  ref?: string;
}

const OWNER_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/**
 * One rule from the flags. Like cosign, keyless verification needs both an identity and an issuer:
 * a rule that names neither would accept anyone who can get a Fulcio certificate. `--repo` and
 * `--signer-workflow` imply GitHub's issuer unless an issuer flag names another (GitHub Enterprise).
 */
export function ruleFromFlags(f: IdentityFlags): IdentityRule {
  const rule: IdentityRule = {};
  if (f.certificateIdentity !== undefined && f.certificateIdentityRegexp !== undefined) {
    throw invalid('flags_conflict', 'give --certificate-identity or --certificate-identity-regexp, not both');
  }
  if (f.certificateOidcIssuer !== undefined && f.certificateOidcIssuerRegexp !== undefined) {
    throw invalid('flags_conflict', 'give --certificate-oidc-issuer or --certificate-oidc-issuer-regexp, not both');
  }
  if (f.certificateIdentity !== undefined) rule.subject = exact(f.certificateIdentity);
  if (f.certificateIdentityRegexp !== undefined) rule.subject = regexp(f.certificateIdentityRegexp, '--certificate-identity-regexp');
  if (f.certificateOidcIssuer !== undefined) rule.issuer = exact(f.certificateOidcIssuer);
  if (f.certificateOidcIssuerRegexp !== undefined) rule.issuer = regexp(f.certificateOidcIssuerRegexp, '--certificate-oidc-issuer-regexp');
  if (f.repo !== undefined) {
    const repo = f.repo.replace(/^https:\/\/github\.com\//i, '');
    if (!OWNER_NAME.test(repo)) throw invalid('flags_invalid', `--repo: expected OWNER/NAME, got ${JSON.stringify(f.repo)}`);
    rule.repository = kinded(exact(`https://github.com/${repo}`, { ignoreCase: true }), 'full');
    rule.issuer ??= exact(GITHUB_ISSUER);
  }
  if (f.signerWorkflow !== undefined) {
    const path = f.signerWorkflow.replace(/^https:\/\/github\.com\//i, '').replace(/@.*$/, '');
    const m = /^([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)\/(\.github\/workflows\/[^@\s]+)$/.exec(path);
    if (m === null) {
      throw invalid('flags_invalid', `--signer-workflow: expected OWNER/NAME/.github/workflows/FILE, got ${JSON.stringify(f.signerWorkflow)}`);
    }
    const repoPart = m[1]!.toLowerCase();
    const filePart = m[2]!;
    const expected = `https://github.com/${m[1]}/${filePart}`;
    rule.signerWorkflow = kinded(
      {
        expected: JSON.stringify(expected),
        // owner and name ignore case (GitHub's rule); the workflow path does not
        test: (a) => {
          const mm = /^https:\/\/github\.com\/([^/]+\/[^/]+)\/(.+)$/i.exec(a);
          return mm !== null && mm[1]!.toLowerCase() === repoPart && mm[2] === filePart;
        },
      },
      'full',
    );
    rule.issuer ??= exact(GITHUB_ISSUER);
  }
  if (f.ref !== undefined) rule.ref = exact(f.ref);
  if (rule.subject === undefined && rule.repository === undefined && rule.signerWorkflow === undefined) {
    throw invalid(
      'identity_required',
      'keyless verification needs an identity: --certificate-identity(-regexp), --repo OWNER/NAME or --signer-workflow OWNER/NAME/.github/workflows/FILE (or --key PEM for a key-signed bundle)',
    );
  }
  if (rule.issuer === undefined) {
    throw invalid('issuer_required', 'keyless verification needs the OIDC issuer: --certificate-oidc-issuer(-regexp) (or --repo / --signer-workflow, which imply GitHub Actions)');
  }
  return rule;
}

/** What a rule asks, for messages (`issuer "…", repository "…"`). */
export function describeRule(rule: IdentityRule): string {
  return ORDER.filter((f) => rule[f] !== undefined)
    .map((f) => `${fieldName(f)} ${rule[f]!.expected}`)
    .join(', ');
}
