import { unprocessable, type ProvenaError } from '../errors.ts';
import {
  describePublisher,
  GITHUB_ISSUER,
  type GenericPublisherSpec,
  type GitHubPublisherSpec,
  type GitLabPublisherSpec,
  type TrustedPublisher,
} from '../publish/publisher.ts';
import type { SignerIdentity } from './signer-identity.ts';

/**
 * What else vouches for this upload. A Fulcio certificate carries no deployment environment (neither
 * GitHub's nor GitLab's), so a publisher pinned to an environment can only be proven by the OIDC token of
 * the Trusted Publishing exchange, whose `environment` claim was checked when the upload token was minted.
 *
 * Rule (PyPI's, made explicit): an environment-pinned publisher matches a certificate only when that same
 * publisher authorised the upload (`authorisedBy`); otherwise it does not match, with reason `environment`.
 * A publisher without an environment matches whatever environment the job ran in.
 */
export interface IdentityContext {
  authorisedBy?: TrustedPublisher | null;
}

/** Why a signer is not a publisher. `stage` orders reasons: the higher, the closer the publisher came. */
export interface Mismatch {
  stage: number;
  field: string;
  expected: string;
  actual: string;
}

const GITHUB_HOST = 'https://github.com';

/** The first check the signer fails for this publisher, or null when it is this publisher. */
export function publisherMismatch(signer: SignerIdentity, publisher: TrustedPublisher, ctx: IdentityContext = {}): Mismatch | null {
  const mismatch =
    publisher.kind === 'github' ? github(signer, publisher) : publisher.kind === 'gitlab' ? gitlab(signer, publisher) : generic(signer, publisher);
  if (mismatch !== null || publisher.kind === 'generic' || publisher.environment === null) return mismatch;
  if (ctx.authorisedBy?.id === publisher.id) return null;
  return {
    stage: 9,
    field: 'environment',
    expected: `${publisher.environment} (proven only by this publisher's Trusted Publishing token)`,
    actual: 'an upload not authorised by this publisher; certificates do not carry the environment',
  };
}

export function matchesPublisher(signer: SignerIdentity, publisher: TrustedPublisher, ctx: IdentityContext = {}): boolean {
  return publisherMismatch(signer, publisher, ctx) === null;
}

/** "Must be this very publisher": throws `signer_not_trusted` naming what differs. */
export function requirePublisher(signer: SignerIdentity, publisher: TrustedPublisher, ctx: IdentityContext = {}): TrustedPublisher {
  const m = publisherMismatch(signer, publisher, ctx);
  if (m !== null) throw notTrusted(`signer is not publisher ${describePublisher(publisher)}`, publisher, m);
  return publisher;
}

/** The first publisher the signer is; else `signer_not_trusted` naming what differed from the closest one. */
export function matchPublisher(signer: SignerIdentity, publishers: readonly TrustedPublisher[], ctx: IdentityContext = {}): TrustedPublisher {
  let closest: { publisher: TrustedPublisher; mismatch: Mismatch } | null = null;
  for (const publisher of publishers) {
    const mismatch = publisherMismatch(signer, publisher, ctx);
    if (mismatch === null) return publisher;
    if (closest === null || mismatch.stage > closest.mismatch.stage) closest = { publisher, mismatch };
  }
  if (closest === null) {
    throw unprocessable('signer_not_trusted', `the channel has no Trusted Publishers; signer was ${describeSigner(signer)}`, { field: 'publishers' });
  }
  const { publisher, mismatch } = closest;
  throw notTrusted(`no Trusted Publisher of the channel matches the signer; closest is ${describePublisher(publisher)}`, publisher, mismatch);
}

function github(s: SignerIdentity, p: GitHubPublisherSpec): Mismatch | null {
  if (s.issuer !== GITHUB_ISSUER) return { stage: 1, field: 'issuer', expected: GITHUB_ISSUER, actual: show(s.issuer) };
  const repository = `${GITHUB_HOST}/${p.repository}`;
  // GitHub treats OWNER/NAME case-insensitively; the comparison is still of the whole URI, never a substring.
  if (s.sourceRepositoryUri === null || s.sourceRepositoryUri.toLowerCase() !== repository.toLowerCase()) {
    return { stage: 2, field: 'repository', expected: repository, actual: show(s.sourceRepositoryUri) };
  }
  const workflow = buildConfig(s, `${repository}/`, `.github/workflows/${p.workflow}`);
  if (workflow !== null) return { stage: 3, ...workflow };
  // pull_request_target runs a base-repository workflow on behalf of a pull request: never a publish.
  if (s.buildTrigger === 'pull_request_target') return { stage: 4, field: 'event', expected: 'not pull_request_target', actual: s.buildTrigger };
  return null;
}

function gitlab(s: SignerIdentity, p: GitLabPublisherSpec): Mismatch | null {
  if (s.issuer !== p.issuer) return { stage: 1, field: 'issuer', expected: p.issuer, actual: show(s.issuer) };
  const project = `${p.issuer}/${p.project}`;
  if (s.sourceRepositoryUri === null || s.sourceRepositoryUri.toLowerCase() !== project.toLowerCase()) {
    return { stage: 2, field: 'project', expected: project, actual: show(s.sourceRepositoryUri) };
  }
  // GitLab's ci_config_ref_uri: `<host>/<project>//<config path>@<ref>`.
  const config = buildConfig(s, `${project}//`, p.ciConfigPath);
  return config === null ? null : { stage: 3, ...config, field: 'ciConfigPath' };
}

/**
 * The build config URI must be exactly `<repository prefix><path>@<ref>`, ref being the certificate's own
 * source ref or commit: the path is compared whole, so `release.yml` never matches `prerelease.yml` or
 * `release.yml.bak`. Only the repository prefix ignores case.
 */
function buildConfig(s: SignerIdentity, prefix: string, path: string): Omit<Mismatch, 'stage'> | null {
  const uri = s.buildConfigUri;
  const expected = `${prefix}${path}@<ref>`;
  if (uri === null) return { field: 'workflow', expected, actual: 'no build config URI in the certificate' };
  const refs = [s.sourceRepositoryRef, s.sourceRepositoryDigest].filter((r): r is string => r !== null && r !== '');
  const samePrefix = uri.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
  if (samePrefix && refs.some((ref) => uri.slice(prefix.length) === `${path}@${ref}`)) return null;
  return { field: 'workflow', expected, actual: uri };
}

/**
 * Generic publishers name OIDC claims; a certificate shows them as follows:
 * `sub` → the SAN (any type), `email` → an email SAN, and each Fulcio extension by its snake_case name
 * (`source_repository_uri`, `build_config_uri`, `build_signer_uri`, `source_repository_ref`, …). A claim
 * with no certificate counterpart cannot be proven, so such a publisher never matches an attestation.
 */
function generic(s: SignerIdentity, p: GenericPublisherSpec): Mismatch | null {
  if (s.issuer !== p.issuer) return { stage: 1, field: 'issuer', expected: p.issuer, actual: show(s.issuer) };
  for (const name of Object.keys(p.claims).sort()) {
    const expected = p.claims[name]!;
    const actual = certificateClaim(s, name);
    if (actual === undefined) return { stage: 2, field: `claims.${name}`, expected, actual: 'no certificate field carries this claim' };
    if (actual !== expected) return { stage: 2, field: `claims.${name}`, expected, actual: show(actual) };
  }
  return null;
}

const EXTENSION_CLAIMS: Readonly<Record<string, keyof SignerIdentity>> = {
  build_signer_uri: 'buildSignerUri',
  build_signer_digest: 'buildSignerDigest',
  runner_environment: 'runnerEnvironment',
  source_repository_uri: 'sourceRepositoryUri',
  source_repository_digest: 'sourceRepositoryDigest',
  source_repository_ref: 'sourceRepositoryRef',
  source_repository_identifier: 'sourceRepositoryIdentifier',
  source_repository_owner_uri: 'sourceRepositoryOwnerUri',
  source_repository_owner_identifier: 'sourceRepositoryOwnerIdentifier',
  build_config_uri: 'buildConfigUri',
  build_config_digest: 'buildConfigDigest',
  build_trigger: 'buildTrigger',
  run_invocation_uri: 'runInvocationUri',
  source_repository_visibility_at_signing: 'sourceRepositoryVisibilityAtSigning',
};

/** undefined: the claim has no certificate field; null: the field exists but this certificate lacks it. */
export function certificateClaim(s: SignerIdentity, claim: string): string | null | undefined {
  if (claim === 'sub') return s.subjectAlternativeName?.value ?? null;
  if (claim === 'email') return s.subjectAlternativeName?.type === 'email' ? s.subjectAlternativeName.value : null;
  const field = Object.hasOwn(EXTENSION_CLAIMS, claim) ? EXTENSION_CLAIMS[claim] : undefined;
  return field === undefined ? undefined : (s[field] as string | null);
}

function notTrusted(what: string, publisher: TrustedPublisher, m: Mismatch): ProvenaError {
  return unprocessable('signer_not_trusted', `${what}: ${m.field} expected ${m.expected}, got ${m.actual}`, {
    field: m.field,
    expected: m.expected,
    actual: m.actual,
    publisher: publisher.id,
  });
}

function describeSigner(s: SignerIdentity): string {
  return `issuer ${show(s.issuer)}, ${s.sourceRepositoryUri ? `repository ${s.sourceRepositoryUri}` : `SAN ${show(s.subjectAlternativeName?.value ?? null)}`}`;
}

function show(v: string | null): string {
  return v === null ? 'none' : JSON.stringify(v);
}
