/**
 * What Fulcio writes into a certificate for a token: the subject alternative name and the 1.3.6.1.4.1.57264.1.*
 * extensions, following the CI-provider templates of Fulcio's config/identity/config.yaml (github-workflow,
 * gitlab-pipeline) and docs/oid-info.md. @sigstore/mock only knows GitHub claims and puts `sub` in the SAN, so
 * the stack computes these itself and hands them to the mock CA.
 *
 * Real Fulcio picks the mapping by issuer URL; the stack has one local issuer, so it picks by claim shape:
 * `job_workflow_ref` → GitHub, `ci_config_ref_uri` → GitLab, otherwise a plain identity (email or sub).
 */
export interface FulcioExtension {
  oid: string;
  value: string;
  /** .1.1–.1.6 are raw bytes, not DER UTF8String (Fulcio's historical encoding). */
  legacy?: boolean;
}

export interface FulcioIdentity {
  provider: 'github' | 'gitlab' | 'plain';
  subjectAltName: string;
  extensions: FulcioExtension[];
}

const FULCIO = '1.3.6.1.4.1.57264.1';
export const FULCIO_OID = {
  issuerV1: `${FULCIO}.1`, githubWorkflowTrigger: `${FULCIO}.2`, githubWorkflowSha: `${FULCIO}.3`,
  githubWorkflowName: `${FULCIO}.4`, githubWorkflowRepository: `${FULCIO}.5`, githubWorkflowRef: `${FULCIO}.6`,
  issuer: `${FULCIO}.8`, buildSignerUri: `${FULCIO}.9`, buildSignerDigest: `${FULCIO}.10`,
  runnerEnvironment: `${FULCIO}.11`, sourceRepositoryUri: `${FULCIO}.12`, sourceRepositoryDigest: `${FULCIO}.13`,
  sourceRepositoryRef: `${FULCIO}.14`, sourceRepositoryIdentifier: `${FULCIO}.15`,
  sourceRepositoryOwnerUri: `${FULCIO}.16`, sourceRepositoryOwnerIdentifier: `${FULCIO}.17`,
  buildConfigUri: `${FULCIO}.18`, buildConfigDigest: `${FULCIO}.19`, buildTrigger: `${FULCIO}.20`,
  runInvocationUri: `${FULCIO}.21`, sourceRepositoryVisibility: `${FULCIO}.22`, deploymentEnvironment: `${FULCIO}.23`,
} as const;

type Claims = Record<string, unknown>;
type Template = Partial<Record<keyof typeof FULCIO_OID, string | undefined>>;

export function fulcioIdentity(claims: Claims): FulcioIdentity {
  const c = (name: string) => (typeof claims[name] === 'string' || typeof claims[name] === 'number'
    ? String(claims[name]) : undefined);
  const issuer = c('iss') ?? '';
  // Fulcio fills a template only when every claim it names is present.
  const join = (...parts: (string | undefined)[]) => (parts.every((p) => p !== undefined) ? parts.join('') : undefined);

  if (claims.job_workflow_ref !== undefined) {
    const url = 'https://github.com/';
    const signer = join(url, c('job_workflow_ref'));
    return build('github', signer ?? '', [
      { oid: FULCIO_OID.issuerV1, value: issuer, legacy: true },
      { oid: FULCIO_OID.githubWorkflowTrigger, value: c('event_name'), legacy: true },
      { oid: FULCIO_OID.githubWorkflowSha, value: c('sha'), legacy: true },
      { oid: FULCIO_OID.githubWorkflowName, value: c('workflow'), legacy: true },
      { oid: FULCIO_OID.githubWorkflowRepository, value: c('repository'), legacy: true },
      { oid: FULCIO_OID.githubWorkflowRef, value: c('ref'), legacy: true },
    ], {
      issuer, buildSignerUri: signer, buildSignerDigest: c('job_workflow_sha'),
      runnerEnvironment: c('runner_environment'), sourceRepositoryUri: join(url, c('repository')),
      sourceRepositoryDigest: c('sha'), sourceRepositoryRef: c('ref'), sourceRepositoryIdentifier: c('repository_id'),
      sourceRepositoryOwnerUri: join(url, c('repository_owner')),
      sourceRepositoryOwnerIdentifier: c('repository_owner_id'), buildConfigUri: join(url, c('workflow_ref')),
      buildConfigDigest: c('workflow_sha'), buildTrigger: c('event_name'),
      runInvocationUri: join(url, c('repository'), '/actions/runs/', c('run_id'), '/attempts/', c('run_attempt')),
      sourceRepositoryVisibility: c('repository_visibility'), deploymentEnvironment: c('environment'),
    });
  }

  if (claims.ci_config_ref_uri !== undefined) {
    const url = 'https://gitlab.com/';
    const config = join('https://', c('ci_config_ref_uri'));
    const refKind = c('ref_type') === 'branch' ? 'heads/' : 'tags/';
    return build('gitlab', config ?? '', [{ oid: FULCIO_OID.issuerV1, value: issuer, legacy: true }], {
      issuer, buildSignerUri: config, buildSignerDigest: c('ci_config_sha'),
      runnerEnvironment: c('runner_environment'), sourceRepositoryUri: join(url, c('project_path')),
      sourceRepositoryDigest: c('sha'), sourceRepositoryRef: join('refs/', refKind, c('ref')),
      sourceRepositoryIdentifier: c('project_id'), sourceRepositoryOwnerUri: join(url, c('namespace_path')),
      sourceRepositoryOwnerIdentifier: c('namespace_id'), buildConfigUri: config,
      buildConfigDigest: c('ci_config_sha'), buildTrigger: c('pipeline_source'),
      runInvocationUri: join(url, c('project_path'), '/-/jobs/', c('job_id')),
      sourceRepositoryVisibility: c('project_visibility'), deploymentEnvironment: c('environment'),
    });
  }

  return build('plain', c('email') ?? c('sub') ?? '', [{ oid: FULCIO_OID.issuerV1, value: issuer, legacy: true }],
    { issuer });
}

function build(
  provider: FulcioIdentity['provider'],
  subjectAltName: string,
  legacy: { oid: string; value: string | undefined; legacy: true }[],
  template: Template,
): FulcioIdentity {
  const current = Object.entries(template).map(([name, value]) => ({
    oid: FULCIO_OID[name as keyof typeof FULCIO_OID] as string, value,
  }));
  // Fulcio leaves out extensions whose value is empty (e.g. no `environment` claim).
  const extensions = [...legacy, ...current].flatMap((e): FulcioExtension[] =>
    (e.value === undefined || e.value === '' ? [] : [{ ...e, value: e.value }]));
  return { provider, subjectAltName, extensions };
}
