import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startOidcIssuer, type OidcIssuer } from './oidc-issuer.ts';
import { api, startServer, type RunningServer } from './server.ts';

/** The audience a server on http://127.0.0.1:PORT expects: its host name, as rattler-build requests. */
export const AUDIENCE = '127.0.0.1';

export interface TrustedPublishingEnv {
  server: RunningServer;
  /** configured as an issuer of kind github: its tokens speak for GitHub repositories */
  github: OidcIssuer;
  /** configured as an issuer of kind gitlab vouching for https://gitlab.com */
  gitlab: OidcIssuer;
  /** every id token handed to the server, to check none of them reaches its log */
  sent: string[];
  close(): Promise<void>;
}

/**
 * A real server whose config file trusts two local issuers — one as GitHub, one as gitlab.com — and
 * no default issuer, so no test can reach the real GitHub or GitLab.
 */
export async function startTrustedPublishingServer(opts: { args?: string[]; extraConfig?: string } = {}): Promise<TrustedPublishingEnv> {
  const github = await startOidcIssuer({ audience: AUDIENCE });
  const gitlab = await startOidcIssuer({ audience: AUDIENCE });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tp-'));
  const config = path.join(dir, 'provena.toml');
  fs.writeFileSync(
    config,
    [
      'oidc_default_issuers = false',
      opts.extraConfig ?? '',
      '[[issuers]]',
      `url = "${github.url}"`,
      'kind = "github"',
      '[[issuers]]',
      `url = "${gitlab.url}"`,
      'kind = "gitlab"',
      'instance = "https://gitlab.com"',
      '',
    ].join('\n'),
  );
  const server = await startServer({ args: ['--config', config, '--log-level', 'info', ...(opts.args ?? [])] });
  return {
    server,
    github,
    gitlab,
    sent: [],
    close: async () => {
      await server.stop();
      await github.close();
      await gitlab.close();
    },
  };
}

export interface MintResponse {
  status: number;
  contentType: string;
  text: string;
  json: any;
}

/** POST /api/oidc/mint_token as a client sends it; JSON answer when `accept` asks for it. */
export async function mint(env: { server: { url: string }; sent: string[] }, token: string, accept = '*/*'): Promise<MintResponse> {
  env.sent.push(token);
  const res = await fetch(`${env.server.url}/api/oidc/mint_token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ token }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, json };
}

/** Mints and returns the upload token, failing the test if the exchange is refused. */
export async function mintOk(env: { server: { url: string }; sent: string[] }, token: string): Promise<string> {
  const res = await mint(env, token);
  assert.equal(res.status, 200, res.text);
  return res.text;
}

/** Asserts the exchange is refused with this status and code. */
export async function refusedMint(env: { server: { url: string }; sent: string[] }, token: string, status: number, code: string): Promise<any> {
  const res = await mint(env, token);
  assert.equal(res.status, status, `${code}: ${res.text}`);
  assert.equal(res.json?.error, code, res.text);
  assert.equal(typeof res.json.detail, 'string');
  return res.json;
}

export async function addPublisher(server: { url: string }, channel: string, body: Record<string, unknown>): Promise<any> {
  const res = await api(server, 'POST', `/api/v1/channels/${channel}/publishers`, body);
  assert.equal(res.status, 201, JSON.stringify(res.json));
  return res.json;
}
