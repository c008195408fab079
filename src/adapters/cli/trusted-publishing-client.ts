import { describeFailure } from './api-client.ts';
import { CliError, usageError } from './cli-error.ts';

/** An upload token minted by Trusted Publishing, as `provena upload --trusted-publishing` uses it. */
export interface MintedUploadToken {
  token: string;
  expiresAt: string;
  channels: string[];
}

/**
 * Gets the CI's OIDC id token and exchanges it at the server (../shared/docs/protocols.md §4):
 * in GitHub Actions from ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN with the audience the server names
 * (GET /api/oidc/audience); elsewhere (GitLab `id_tokens:`, any CI) from PROVENA_ID_TOKEN.
 */
export async function mintUploadToken(server: string, env: NodeJS.ProcessEnv): Promise<MintedUploadToken> {
  const base = server.replace(/\/+$/, '');
  const idToken = await ciIdToken(base, env);
  const res = await request(`${base}/api/oidc/mint_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ token: idToken }),
  });
  const text = await res.text();
  if (!res.ok) throw new CliError(`trusted publishing: ${describeFailure(res.status, text)}`, 1);
  const body = JSON.parse(text) as { token: string; expires_at: string; channels: string[] };
  // GitHub Actions hides the minted token wherever it would appear in the job's log
  if (env.GITHUB_ACTIONS === 'true') process.stdout.write(`::add-mask::${body.token}\n`);
  return { token: body.token, expiresAt: body.expires_at, channels: body.channels };
}

/** The channel to upload to: the one named, which the token must cover, or the token's only channel. */
export function channelFor(named: string | undefined, minted: MintedUploadToken): string {
  if (named !== undefined) {
    if (!minted.channels.includes(named)) {
      throw new CliError(`trusted publishing: this job is a Trusted Publisher of ${minted.channels.join(', ')}, not of ${named}`, 1);
    }
    return named;
  }
  if (minted.channels.length === 1) return minted.channels[0]!;
  throw usageError(`this job may publish to several channels (${minted.channels.join(', ')}); name one with --channel`);
}

async function ciIdToken(base: string, env: NodeJS.ProcessEnv): Promise<string> {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl || requestToken) {
    if (!requestUrl || !requestToken) {
      throw usageError('ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN must both be set; give the job "permissions: id-token: write"');
    }
    const audRes = await request(`${base}/api/oidc/audience`, { headers: { accept: 'application/json' } });
    const audText = await audRes.text();
    if (!audRes.ok) throw new CliError(`trusted publishing: ${describeFailure(audRes.status, audText)}`, 1);
    const { audience } = JSON.parse(audText) as { audience: string };
    const url = new URL(requestUrl);
    url.searchParams.set('audience', audience);
    const res = await request(url.toString(), { headers: { authorization: `Bearer ${requestToken}`, accept: 'application/json' } });
    const text = await res.text();
    if (!res.ok) throw new CliError(`GitHub Actions refused the id token request (${res.status}): ${text.slice(0, 200)}`, 1);
    const value = (JSON.parse(text) as { value?: unknown }).value;
    if (typeof value !== 'string' || value === '') throw new CliError('GitHub Actions answered the id token request without a token', 1);
    return value;
  }
  if (env.PROVENA_ID_TOKEN) return env.PROVENA_ID_TOKEN;
  throw usageError(
    'no OIDC id token: in GitHub Actions give the job "permissions: id-token: write"; in GitLab CI declare ' +
      '"id_tokens: PROVENA_ID_TOKEN: aud: <server host>" (see GET /api/oidc/audience); elsewhere set PROVENA_ID_TOKEN',
  );
}

async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new CliError(`cannot reach ${new URL(url).origin}: ${(e as Error).cause ?? (e as Error).message}`, 3);
  }
}
