/**
 * A real OIDC issuer on 127.0.0.1 for tests: discovery document, JWKS, and tokens shaped like the ones
 * GitHub Actions and GitLab CI issue (claim sets as listed by PyPI's warehouse/oidc and the CI docs).
 * `mint` can also forge the tokens an attacker would try, so verifiers are tested against them.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, UnsecuredJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import type { CryptoKey, JSONWebKeySet, JWTPayload } from 'jose';

/** Claim values; a claim set to `undefined` is left out of the token (to test missing claims). */
export type Claims = Record<string, unknown>;
export type TokenAlgorithm = 'RS256' | 'ES256';
/** unknown-key: right kid, key not in the JWKS; alg-none: unsigned; hs256-public-key: HMAC keyed with the public PEM. */
export type ForgedToken = 'unknown-key' | 'alg-none' | 'hs256-public-key';

export interface MintOptions {
  forge?: ForgedToken;
  /** Header `kid`; defaults to the issuer's key id. */
  kid?: string;
  header?: Record<string, unknown>;
}

export interface OidcIssuerOptions {
  algorithm?: TokenAlgorithm;
  /** Default `aud` of minted tokens; `sigstore` is what Fulcio expects. */
  audience?: string;
}

export interface OidcIssuer {
  /** http://127.0.0.1:PORT, also the `iss` of every token unless overridden */
  url: string;
  jwksUrl: string;
  jwks: JSONWebKeySet;
  kid: string;
  algorithm: TokenAlgorithm;
  /** Signs `claims` after filling iss, aud, iat, nbf, exp (iat + 5 min) and jti where absent. */
  mint(claims: Claims, opts?: MintOptions): Promise<string>;
  githubToken(overrides?: Claims, opts?: MintOptions): Promise<string>;
  gitlabToken(overrides?: Claims, opts?: MintOptions): Promise<string>;
  /** Emulates ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN: GET url + `&audience=X` with the bearer → `{"value": jwt}`. */
  actionsTokenRequest: { url: string; token: string };
  close(): Promise<void>;
}

const DEFAULT_SHA = '3f786850e387550fdab836ed7e6dc881de23001b';

/** GitHub Actions claims; `repository`, `ref` and `environment` overrides flow into the derived claims. */
export function githubClaims(iss: string, overrides: Claims = {}): Claims {
  const repository = text(overrides.repository) ?? 'acme/widgets';
  const ref = text(overrides.ref) ?? 'refs/heads/main';
  const environment = text(overrides.environment);
  const workflowRef = `${repository}/.github/workflows/release.yml@${ref}`;
  return compact({
    iss, aud: 'sigstore', ...times(300), jti: randomUUID(),
    sub: environment ? `repo:${repository}:environment:${environment}` : `repo:${repository}:ref:${ref}`,
    ref, sha: DEFAULT_SHA, repository, repository_owner: repository.split('/')[0],
    repository_owner_id: '1342004', repository_id: '640505018', repository_visibility: 'public',
    actor: 'octocat', actor_id: '583231', workflow: 'release', head_ref: '', base_ref: '',
    event_name: 'push', ref_type: ref.startsWith('refs/tags/') ? 'tag' : 'branch', ref_protected: 'true',
    workflow_ref: workflowRef, workflow_sha: DEFAULT_SHA, job_workflow_ref: workflowRef, job_workflow_sha: DEFAULT_SHA,
    run_id: '9876543210', run_number: '42', run_attempt: '1', runner_environment: 'github-hosted',
    ...(environment ? { environment, environment_node_id: 'EN_kwDOJi1ZOs8AAAABd5f7zw' } : {}),
    ...overrides,
  });
}

/** GitLab CI claims; `project_path`, `ref`, `ref_type` and `environment` flow into the derived claims. */
export function gitlabClaims(iss: string, overrides: Claims = {}): Claims {
  const projectPath = text(overrides.project_path) ?? 'acme/widgets';
  const ref = text(overrides.ref) ?? 'main';
  const refType = text(overrides.ref_type) ?? 'branch';
  const refPath = `refs/${refType === 'tag' ? 'tags' : 'heads'}/${ref}`;
  const environment = text(overrides.environment);
  return compact({
    iss, aud: 'sigstore', ...times(300), jti: randomUUID(),
    sub: `project_path:${projectPath}:ref_type:${refType}:ref:${ref}`,
    namespace_id: '4242', namespace_path: projectPath.slice(0, projectPath.lastIndexOf('/')),
    project_id: '4711', project_path: projectPath, project_visibility: 'public',
    user_id: '31', user_login: 'alice', user_email: 'alice@example.com', user_access_level: 'maintainer',
    pipeline_id: '1234567', pipeline_source: 'push', job_id: '7654321',
    ref, ref_type: refType, ref_path: refPath, ref_protected: 'true',
    runner_id: 12270859, runner_environment: 'gitlab-hosted', sha: DEFAULT_SHA,
    ci_config_ref_uri: `gitlab.com/${projectPath}//.gitlab-ci.yml@${refPath}`, ci_config_sha: DEFAULT_SHA,
    ...(environment
      ? { environment, environment_protected: 'true', deployment_tier: 'production', environment_action: 'start' }
      : {}),
    ...overrides,
  });
}

export async function startOidcIssuer(opts: OidcIssuerOptions = {}): Promise<OidcIssuer> {
  const algorithm = opts.algorithm ?? 'RS256';
  const audience = opts.audience ?? 'sigstore';
  const { publicKey, privateKey } = await generateKeyPair(algorithm);
  const kid = randomUUID();
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: algorithm, use: 'sig' }] };
  // Made on first use: the forged tokens need a second key and the public key as PEM.
  let strangerKey: CryptoKey | undefined;
  const publicPem = await exportSPKI(publicKey);
  const requestToken = randomUUID();

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', url);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (path.pathname === '/.well-known/openid-configuration') return send(200, discovery(url, algorithm));
    if (path.pathname === '/.well-known/jwks') return send(200, jwks);
    if (path.pathname === '/_actions/idtoken') {
      if (req.headers.authorization !== `Bearer ${requestToken}`) return send(401, { message: 'bad request token' });
      const aud = path.searchParams.get('audience') ?? undefined;
      return void issuer.githubToken(aud === undefined ? {} : { aud })
        .then((value) => send(200, { value }), (err: unknown) => send(500, { message: String(err) }));
    }
    send(404, { message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const mint = async (claims: Claims, m: MintOptions = {}): Promise<string> => {
    const payload = compact({ iss: url, aud: audience, ...times(300), jti: randomUUID(), ...claims }) as JWTPayload;
    if (m.forge === 'alg-none') return new UnsecuredJWT(payload).encode();
    const header = { typ: 'JWT', kid: m.kid ?? kid, ...m.header };
    if (m.forge === 'hs256-public-key') {
      return new SignJWT(payload).setProtectedHeader({ ...header, alg: 'HS256' }).sign(new TextEncoder().encode(publicPem));
    }
    if (m.forge === 'unknown-key') strangerKey ??= (await generateKeyPair(algorithm)).privateKey;
    const key = m.forge === 'unknown-key' ? strangerKey! : privateKey;
    return new SignJWT(payload).setProtectedHeader({ ...header, alg: algorithm }).sign(key);
  };

  const issuer: OidcIssuer = {
    url, jwksUrl: `${url}/.well-known/jwks`, jwks, kid, algorithm, mint,
    githubToken: (overrides, m) => mint(githubClaims(url, { aud: audience, ...overrides }), m),
    gitlabToken: (overrides, m) => mint(gitlabClaims(url, { aud: audience, ...overrides }), m),
    actionsTokenRequest: { url: `${url}/_actions/idtoken?api-version=2.0`, token: requestToken },
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
  return issuer;
}

function discovery(url: string, algorithm: TokenAlgorithm) {
  return {
    issuer: url,
    jwks_uri: `${url}/.well-known/jwks`,
    subject_types_supported: ['public', 'pairwise'],
    response_types_supported: ['id_token'],
    claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'sha', 'repository', 'environment'],
    id_token_signing_alg_values_supported: [algorithm],
    scopes_supported: ['openid'],
  };
}

/** iat now, nbf a few seconds earlier (issuers allow for skew), exp after `lifetime` seconds. */
function times(lifetime: number) {
  const iat = Math.floor(Date.now() / 1000);
  return { iat, nbf: iat - 5, exp: iat + lifetime };
}

function compact(claims: Claims): Claims {
  return Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined));
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
