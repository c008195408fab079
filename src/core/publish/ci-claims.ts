import { ProvenaError } from '../errors.ts';
import type { IdTokenClaims } from './id-token.ts';

/**
 * The job a GitHub Actions token describes, read from its claims. A token from a github-kind issuer must
 * have this shape (claims as GitHub documents them and PyPI requires them), else it is refused before
 * any publisher is looked at.
 */
export interface GitHubJob {
  /** `OWNER/NAME` as GitHub spells it now */
  repository: string;
  repositoryOwner: string;
  repositoryOwnerId: string;
  /** `OWNER/NAME/.github/workflows/FILE@REF`: the workflow whose job runs (reusable workflows included) */
  jobWorkflowRef: string;
  /** the git ref and commit; job_workflow_ref ends in one of them */
  ref: string | null;
  sha: string | null;
  eventName: string;
  environment: string | null;
  runId: string | null;
  runAttempt: string | null;
}

/** The job a GitLab CI token describes. */
export interface GitLabJob {
  /** `GROUP[/SUBGROUP...]/PROJECT` */
  projectPath: string;
  /** `HOST/PROJECT//CONFIG_PATH@REF_PATH`: the CI config the pipeline ran */
  ciConfigRefUri: string;
  refPath: string | null;
  sha: string | null;
  environment: string | null;
  pipelineId: string | null;
  jobId: string | null;
}

const missing = (claim: string, shape: string) =>
  new ProvenaError('id_token_claim_missing', 'unauthenticated', `the ${shape} token has no "${claim}" claim`, { extra: { claim } });
const inconsistent = (claim: string, detail: string) =>
  new ProvenaError('id_token_claim_invalid', 'unauthenticated', `"${claim}": ${detail}`, { extra: { claim } });

export function githubJob(c: IdTokenClaims): GitHubJob {
  const need = (name: string) => {
    const v = text(c, name);
    if (v === null) throw missing(name, 'GitHub Actions');
    return v;
  };
  const repository = need('repository');
  const repositoryOwner = need('repository_owner');
  const repositoryOwnerId = need('repository_owner_id');
  const jobWorkflowRef = need('job_workflow_ref');
  const eventName = need('event_name');
  const sub = need('sub');
  const ref = text(c, 'ref');
  const sha = text(c, 'sha');
  if (ref === null && sha === null) throw missing('ref', 'GitHub Actions');
  const parts = repository.split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') throw inconsistent('repository', `expected OWNER/NAME, got ${JSON.stringify(repository)}`);
  // the claims describe one repository; a token where they disagree is not one GitHub issued
  if (parts[0]!.toLowerCase() !== repositoryOwner.toLowerCase()) {
    throw inconsistent('repository_owner', `${JSON.stringify(repositoryOwner)} is not the owner of ${JSON.stringify(repository)}`);
  }
  if (!sub.toLowerCase().startsWith(`repo:${repository.toLowerCase()}:`)) {
    throw inconsistent('sub', `${JSON.stringify(sub)} does not name repository ${JSON.stringify(repository)}`);
  }
  if (!/^[0-9]{1,20}$/.test(repositoryOwnerId)) throw inconsistent('repository_owner_id', 'must be a decimal number');
  return {
    repository,
    repositoryOwner,
    repositoryOwnerId,
    jobWorkflowRef,
    ref,
    sha,
    eventName,
    environment: text(c, 'environment'),
    runId: text(c, 'run_id'),
    runAttempt: text(c, 'run_attempt'),
  };
}

export function gitlabJob(c: IdTokenClaims): GitLabJob {
  const need = (name: string) => {
    const v = text(c, name);
    if (v === null) throw missing(name, 'GitLab CI');
    return v;
  };
  const projectPath = need('project_path');
  const ciConfigRefUri = need('ci_config_ref_uri');
  const sub = need('sub');
  const refPath = text(c, 'ref_path');
  const sha = text(c, 'sha');
  if (refPath === null && sha === null) throw missing('ref_path', 'GitLab CI');
  if (!sub.toLowerCase().startsWith(`project_path:${projectPath.toLowerCase()}:`)) {
    throw inconsistent('sub', `${JSON.stringify(sub)} does not name project ${JSON.stringify(projectPath)}`);
  }
  return {
    projectPath,
    ciConfigRefUri,
    refPath,
    sha,
    environment: text(c, 'environment'),
    pipelineId: text(c, 'pipeline_id'),
    jobId: text(c, 'job_id'),
  };
}

/** A string claim, or null when absent or empty; numbers (GitLab sends some ids as numbers) become strings. */
export function text(c: Record<string, unknown>, name: string): string | null {
  const v = c[name];
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return typeof v === 'string' && v !== '' ? v : null;
}
