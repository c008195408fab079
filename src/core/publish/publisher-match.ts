import { ProvenaError } from '../errors.ts';
import type { GitHubJob, GitLabJob } from './ci-claims.ts';
import type { IdTokenClaims } from './id-token.ts';
import type { GenericPublisherSpec, GitHubPublisherSpec, GitLabPublisherSpec, TrustedPublisher } from './publisher.ts';

/** What a verified token describes, by the kind of issuer that signed it. */
export type CiJob =
  | { kind: 'github'; job: GitHubJob }
  | { kind: 'gitlab'; job: GitLabJob; instance: string }
  | { kind: 'generic' };

/** Why a publisher is not this job; the higher the stage, the closer it came (reported when none matches). */
interface Mismatch {
  stage: number;
  code: string;
  detail: string;
  claim: string;
}

/**
 * The publishers a token proves, at most one per channel: of several matching in one channel the
 * environment-pinned one wins (it is the more specific grant, as in PyPI). Comparisons are of whole
 * values — `job_workflow_ref` must be exactly `<repository>/.github/workflows/<workflow>@<ref or sha>`,
 * never a prefix or substring. When nothing matches, throws 403 with the reason of the closest publisher.
 * `candidates` are the publishers of the kinds this issuer may prove (see oidc-issuers.ts).
 */
export function matchPublishers(ci: CiJob, claims: IdTokenClaims, candidates: readonly TrustedPublisher[]): TrustedPublisher[] {
  if (ci.kind === 'github' && ci.job.eventName === 'pull_request_target') {
    // runs the base repository's workflow, with its secrets, on behalf of someone else's pull request
    throw forbidden('event_not_allowed', 'tokens from pull_request_target workflows are never exchanged: that event runs on behalf of pull requests from anyone', 'event_name');
  }
  const matched = new Map<string, TrustedPublisher>();
  let closest: Mismatch | null = null;
  for (const p of candidates) {
    const m = mismatch(ci, claims, p);
    if (m === null) {
      const held = matched.get(p.channel);
      if (held === undefined || (!pinned(held) && pinned(p))) matched.set(p.channel, p);
    } else if (closest === null || m.stage > closest.stage) {
      closest = m;
    }
  }
  if (matched.size > 0) return [...matched.values()].sort((a, b) => (a.channel < b.channel ? -1 : a.channel > b.channel ? 1 : 0));
  if (closest === null || closest.stage === 0) {
    throw forbidden('publisher_not_found', `no channel has a Trusted Publisher for ${describeJob(ci, claims)}`, closest?.claim ?? 'iss');
  }
  throw forbidden(closest.code, closest.detail, closest.claim);
}

function mismatch(ci: CiJob, claims: IdTokenClaims, p: TrustedPublisher): Mismatch | null {
  if (p.kind === 'generic') return generic(claims, p);
  if (p.kind === 'github' && ci.kind === 'github') return github(ci.job, p);
  if (p.kind === 'gitlab' && ci.kind === 'gitlab') return gitlab(ci.job, ci.instance, p);
  return { stage: 0, code: 'publisher_not_found', detail: 'another kind of publisher', claim: 'iss' };
}

function github(job: GitHubJob, p: GitHubPublisherSpec): Mismatch | null {
  // GitHub treats OWNER/NAME case-insensitively
  if (job.repository.toLowerCase() !== p.repository.toLowerCase()) {
    return { stage: 0, code: 'publisher_not_found', detail: '', claim: 'repository' };
  }
  if (p.repositoryOwnerId !== undefined && p.repositoryOwnerId !== job.repositoryOwnerId) {
    return {
      stage: 1,
      code: 'repository_owner_id_mismatch',
      detail: `the owner of ${job.repository} has id ${job.repositoryOwnerId}, but the publisher was registered for owner id ${p.repositoryOwnerId} (was the account renamed and its name taken by someone else?)`,
      claim: 'repository_owner_id',
    };
  }
  const prefix = `${p.repository}/.github/workflows/`;
  const refs = [job.ref, job.sha].filter((r): r is string => r !== null);
  const samePrefix = job.jobWorkflowRef.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
  const rest = job.jobWorkflowRef.slice(prefix.length);
  if (!samePrefix || !refs.some((ref) => rest === `${p.workflow}@${ref}`)) {
    return {
      stage: 2,
      code: 'workflow_mismatch',
      detail: `job_workflow_ref ${JSON.stringify(job.jobWorkflowRef)} is not ${prefix}${p.workflow}@<ref or sha of this run>`,
      claim: 'job_workflow_ref',
    };
  }
  // GitHub environment names are case-insensitive
  if (p.environment !== null && job.environment?.toLowerCase() !== p.environment.toLowerCase()) {
    return environmentMismatch(p.environment, job.environment);
  }
  return null;
}

function gitlab(job: GitLabJob, instance: string, p: GitLabPublisherSpec): Mismatch | null {
  if (p.issuer !== instance || job.projectPath.toLowerCase() !== p.project.toLowerCase()) {
    return { stage: 0, code: 'publisher_not_found', detail: '', claim: 'project_path' };
  }
  // ci_config_ref_uri: `<instance host>/<project>//<config path>@<ref_path or sha>`; only the project part ignores case
  const prefix = `${new URL(instance).host}/${p.project}//`;
  const refs = [job.refPath, job.sha].filter((r): r is string => r !== null);
  const samePrefix = job.ciConfigRefUri.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
  const rest = job.ciConfigRefUri.slice(prefix.length);
  if (!samePrefix || !refs.some((ref) => rest === `${p.ciConfigPath}@${ref}`)) {
    return {
      stage: 2,
      code: 'ci_config_mismatch',
      detail: `ci_config_ref_uri ${JSON.stringify(job.ciConfigRefUri)} is not ${prefix}${p.ciConfigPath}@<ref_path or sha of this pipeline>`,
      claim: 'ci_config_ref_uri',
    };
  }
  // GitLab environment names are case-sensitive
  if (p.environment !== null && job.environment !== p.environment) return environmentMismatch(p.environment, job.environment);
  return null;
}

function generic(claims: IdTokenClaims, p: GenericPublisherSpec): Mismatch | null {
  if (claims.iss !== p.issuer) return { stage: 0, code: 'publisher_not_found', detail: '', claim: 'iss' };
  const names = Object.keys(p.claims).sort();
  for (const [i, name] of names.entries()) {
    const actual = claims[name];
    // exact string equality: no case folding, no type coercion, no prefix
    if (typeof actual !== 'string' || actual !== p.claims[name]) {
      return {
        stage: 1 + i / names.length,
        code: 'claim_mismatch',
        detail: `claim "${name}" is ${actual === undefined ? 'absent' : JSON.stringify(actual)}, not the value a publisher requires`,
        claim: name,
      };
    }
  }
  return null;
}

function environmentMismatch(expected: string, actual: string | null): Mismatch {
  return {
    stage: 3,
    code: 'environment_mismatch',
    detail: actual === null
      ? `the publisher requires deployment environment ${JSON.stringify(expected)}; the job ran in none (add "environment: ${expected}" to the job)`
      : `the publisher requires deployment environment ${JSON.stringify(expected)}; the job ran in ${JSON.stringify(actual)}`,
    claim: 'environment',
  };
}

function pinned(p: TrustedPublisher): boolean {
  return p.kind !== 'generic' && p.environment !== null;
}

function describeJob(ci: CiJob, claims: IdTokenClaims): string {
  switch (ci.kind) {
    case 'github':
      return `GitHub repository ${ci.job.repository}`;
    case 'gitlab':
      return `GitLab project ${ci.job.projectPath} on ${ci.instance}`;
    case 'generic':
      return `issuer ${claims.iss} with these claims`;
  }
}

function forbidden(code: string, detail: string, claim: string): ProvenaError {
  return new ProvenaError(code, 'forbidden', detail, { extra: { claim } });
}
