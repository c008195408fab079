import { unprocessable, type ProvenaError } from '../errors.ts';

/**
 * A Trusted Publisher: a CI identity allowed to publish to a channel. The same record serves two checks:
 * the OIDC token exchanged at upload (Trusted Publishing) and the Fulcio certificate that signed the
 * package's attestation (CEP-27). The identity fields are what both can be compared against.
 */
export type TrustedPublisher = { id: string; channel: string; createdAt: string } & TrustedPublisherSpec;

export type GitHubPublisherSpec = {
  kind: 'github';
  /** `OWNER/NAME`, compared case-insensitively (GitHub ignores case in both) */
  repository: string;
  /** file name under `.github/workflows/`, e.g. `release.yml`; compared exactly */
  workflow: string;
  /** GitHub deployment environment the publish job must run in; null = any */
  environment: string | null;
  /**
   * GitHub's numeric id of the repository owner (`repository_owner_id` in Actions tokens). Account names
   * can be freed and registered again by someone else; the id cannot. Given at creation, or pinned by the
   * first Trusted Publishing token accepted for this publisher (trusted-publishing.ts); absent until then.
   */
  repositoryOwnerId?: string;
};

export type GitLabPublisherSpec = {
  kind: 'gitlab';
  /** `GROUP[/SUBGROUP...]/PROJECT` */
  project: string;
  /** path of the CI config inside the project, e.g. `.gitlab-ci.yml` */
  ciConfigPath: string;
  environment: string | null;
  /** the GitLab instance (OIDC issuer), `https://gitlab.com` unless self-managed */
  issuer: string;
};

export type GenericPublisherSpec = {
  kind: 'generic';
  /** OIDC issuer URL, compared exactly */
  issuer: string;
  /** claim name → exact value; every claim must hold (see identity.ts for the certificate mapping) */
  claims: Record<string, string>;
};

export type TrustedPublisherSpec = GitHubPublisherSpec | GitLabPublisherSpec | GenericPublisherSpec;

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const GITLAB_DEFAULT_ISSUER = 'https://gitlab.com';

// GitHub: owners are 1-39 alphanumerics/hyphens, no leading/trailing hyphen; repositories use [A-Za-z0-9._-].
const GITHUB_OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;
const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
// A workflow is one file name: no directory part, nothing that changes the meaning of `…/FILE@REF`.
const WORKFLOW_FILE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,250}\.ya?ml$/;
const GITLAB_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;
const CI_CONFIG_SEGMENT = /^[A-Za-z0-9_.][A-Za-z0-9._-]{0,254}$/;
const CLAIM_NAME = /^[a-z][a-z0-9_]{0,63}$/;
// Printable, no leading/trailing space: an environment name is shown to people and compared verbatim.
const ENVIRONMENT = /^[^\s\p{Cc}](?:[^\p{Cc}]{0,253}[^\s\p{Cc}])?$/u;

const refuse = (field: string, detail: string): ProvenaError =>
  unprocessable('invalid_publisher', `${field}: ${detail}`, { field });

/** Validates user input for a new publisher; returns the normalised spec or throws `invalid_publisher`. */
export function parsePublisherSpec(input: unknown): TrustedPublisherSpec {
  if (!isRecord(input)) throw refuse('publisher', 'expected an object');
  switch (input['kind']) {
    case 'github':
      onlyKeys(input, ['kind', 'repository', 'workflow', 'environment', 'repositoryOwnerId']);
      return {
        kind: 'github',
        repository: githubRepository(input['repository']),
        workflow: workflowFile(input['workflow']),
        environment: environment(input['environment']),
        ...(input['repositoryOwnerId'] === undefined || input['repositoryOwnerId'] === null
          ? {}
          : { repositoryOwnerId: ownerId(input['repositoryOwnerId']) }),
      };
    case 'gitlab':
      onlyKeys(input, ['kind', 'project', 'ciConfigPath', 'environment', 'issuer']);
      return {
        kind: 'gitlab',
        project: gitlabProject(input['project']),
        ciConfigPath: ciConfigPath(input['ciConfigPath']),
        environment: environment(input['environment']),
        issuer: input['issuer'] === undefined ? GITLAB_DEFAULT_ISSUER : issuerUrl('issuer', input['issuer']),
      };
    case 'generic':
      onlyKeys(input, ['kind', 'issuer', 'claims']);
      return { kind: 'generic', issuer: issuerUrl('issuer', input['issuer']), claims: claims(input['claims']) };
    default:
      throw refuse('kind', `expected "github", "gitlab" or "generic", got ${JSON.stringify(input['kind'])}`);
  }
}

/** One line naming a publisher, for error details and logs. */
export function describePublisher(p: TrustedPublisherSpec): string {
  switch (p.kind) {
    case 'github':
      return `github ${p.repository} workflow ${p.workflow}${p.environment ? ` environment ${p.environment}` : ''}`;
    case 'gitlab':
      return `gitlab ${p.issuer}/${p.project} config ${p.ciConfigPath}${p.environment ? ` environment ${p.environment}` : ''}`;
    case 'generic':
      return `generic ${p.issuer} ${Object.keys(p.claims).sort().map((k) => `${k}=${p.claims[k]}`).join(' ')}`;
  }
}

function githubRepository(v: unknown): string {
  const s = text('repository', v, 140);
  const parts = s.split('/');
  if (parts.length !== 2) throw refuse('repository', `expected OWNER/NAME, got ${JSON.stringify(s)}`);
  const [owner, name] = parts as [string, string];
  if (!GITHUB_OWNER.test(owner)) throw refuse('repository', `owner ${JSON.stringify(owner)} is not a GitHub account name`);
  if (!REPO_NAME.test(name) || name === '.' || name === '..' || name.toLowerCase().endsWith('.git')) {
    throw refuse('repository', `name ${JSON.stringify(name)} is not a GitHub repository name`);
  }
  return s;
}

/** GitHub account ids are positive integers; JSON clients may send them as numbers or strings. */
function ownerId(v: unknown): string {
  const s = typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v;
  if (typeof s !== 'string' || !/^[1-9][0-9]{0,19}$/.test(s)) {
    throw refuse('repositoryOwnerId', `expected GitHub's numeric owner id (e.g. 1342004), got ${JSON.stringify(v)}`);
  }
  return s;
}

function workflowFile(v: unknown): string {
  const s = text('workflow', v, 255);
  if (!WORKFLOW_FILE.test(s) || s.includes('..')) {
    throw refuse('workflow', `expected a file name under .github/workflows/ ending in .yml or .yaml, got ${JSON.stringify(s)}`);
  }
  return s;
}

function gitlabProject(v: unknown): string {
  const s = text('project', v, 255);
  const parts = s.split('/');
  const bad = parts.find((p) => !GITLAB_SEGMENT.test(p) || p.includes('..') || /\.(git|atom)$/i.test(p));
  if (parts.length < 2 || bad !== undefined) {
    throw refuse('project', `expected GROUP/PROJECT (subgroups allowed), got ${JSON.stringify(s)}`);
  }
  return s;
}

function ciConfigPath(v: unknown): string {
  const s = text('ciConfigPath', v, 255);
  const parts = s.split('/');
  const bad = parts.find((p) => !CI_CONFIG_SEGMENT.test(p) || p === '.' || p.includes('..'));
  if (bad !== undefined || !/\.ya?ml$/.test(s)) {
    throw refuse('ciConfigPath', `expected a relative path inside the project ending in .yml or .yaml, got ${JSON.stringify(s)}`);
  }
  return s;
}

function environment(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  const s = text('environment', v, 255, 'free');
  if (!ENVIRONMENT.test(s)) throw refuse('environment', `not a usable environment name: ${JSON.stringify(s)}`);
  return s;
}

/** Issuers are compared as exact strings, so only one spelling is allowed: https, no trailing slash, no extras. */
function issuerUrl(field: string, v: unknown): string {
  const s = text(field, v, 1000);
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw refuse(field, `not a URL: ${JSON.stringify(s)}`);
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.search || u.hash || s.endsWith('/')) {
    throw refuse(field, `expected an https URL without credentials, query, fragment or trailing slash, got ${JSON.stringify(s)}`);
  }
  if (u.href !== s && u.href !== `${s}/`) throw refuse(field, `not in canonical form: ${JSON.stringify(s)} (use ${JSON.stringify(u.href.replace(/\/$/, ''))})`);
  return s;
}

function claims(v: unknown): Record<string, string> {
  if (!isRecord(v)) throw refuse('claims', 'expected an object of claim name to value');
  const out: Record<string, string> = {};
  const names = Object.keys(v);
  // An issuer alone would admit every identity it ever vouches for.
  if (names.length === 0) throw refuse('claims', 'at least one claim is required (an issuer alone trusts everyone it issues for)');
  for (const name of names) {
    if (!CLAIM_NAME.test(name)) throw refuse('claims', `claim name ${JSON.stringify(name)} is not a lowercase identifier`);
    out[name] = text(`claims.${name}`, v[name], 1000, 'free');
  }
  return out;
}

/**
 * `path` fields end up inside URLs compared against certificates: whitespace, `\\` and `%` (encoded
 * separators) have no business there. `free` text (environment names, claim values) only loses control characters.
 */
function text(field: string, v: unknown, max: number, kind: 'path' | 'free' = 'path'): string {
  if (typeof v !== 'string') throw refuse(field, `expected a string, got ${v === null ? 'null' : typeof v}`);
  if (v.length === 0 || v.length > max) throw refuse(field, `length must be 1..${max}, got ${v.length}`);
  if (/\p{Cc}/u.test(v)) throw refuse(field, `must not contain control characters: ${JSON.stringify(v)}`);
  if (kind === 'path' && /[\s\\%]/.test(v)) throw refuse(field, `must not contain whitespace, "\\" or "%": ${JSON.stringify(v)}`);
  return v;
}

function onlyKeys(o: Record<string, unknown>, allowed: string[]): void {
  const extra = Object.keys(o).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw refuse(extra[0]!, `unknown field for a ${String(o['kind'])} publisher`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
