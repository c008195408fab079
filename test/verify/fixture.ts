import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { attestCommand } from '../../src/adapters/cli/attest-command.ts';
import { CliError } from '../../src/adapters/cli/cli-error.ts';
import type { Io } from '../../src/adapters/cli/cli-io.ts';
import { verifyCommand } from '../../src/adapters/cli/verify-command.ts';
import { verifyEnvCommand } from '../../src/adapters/cli/verify-env-command.ts';
import { makePackage } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { uploadMultipart } from '../support/upload.ts';
import { CLEAN_ENV, provena as runCli } from '../support/cli.ts';
export { CLEAN_ENV };

export const GITHUB = 'https://token.actions.githubusercontent.com';
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
export const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

type Command = (args: string[], env: NodeJS.ProcessEnv, io: Io) => Promise<number>;

/** Runs a command in this process as runCli would: output captured, CliError → its exit code. */
async function inProcess(command: Command, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let out = '';
  let err = '';
  const io: Io = {
    out: (l) => (out += `${l}\n`),
    err: (l) => (err += `${l}\n`),
    errStream: { isTTY: false, write: () => true } as unknown as NodeJS.WriteStream,
  };
  try {
    return { code: await command(args, env, io), out, err };
  } catch (e) {
    if (e instanceof CliError) return { code: e.exitCode, out, err: `${err}provena: ${e.message}\n` };
    throw e;
  }
}

export const verify = (args: string[]) => inProcess(verifyCommand, args);
export const verifyEnv = (args: string[]) => inProcess(verifyEnvCommand, args);
export const attest = (args: string[], env: NodeJS.ProcessEnv = {}) => inProcess(attestCommand, args, env);


/** The real CLI, as a user runs it. */
export async function provena(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const r = await runCli(args, env);
  return { code: r.code ?? -1, out: r.stdout, err: r.stderr };
}

export function tempDir(prefix = 'provena-verify-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface Published {
  name: string;
  filename: string;
  subdir: string;
  bytes: Buffer;
  sha256: string;
  md5: string;
  url: string;
  bundle: string | null;
}

/**
 * A real server trusting a local Sigstore stack, with a channel `signed` whose Trusted Publisher is the
 * GitHub workflow acme/widgets release.yml, and a channel `plain` without publishers.
 */
export interface VerifyEnv {
  server: RunningServer;
  /** the server's public URL: a front on 127.0.0.1 that passes everything through unless `override` answers */
  url: string;
  /** return bytes (or text) to serve instead, null for 404, undefined to pass the request through */
  override: ((path: string) => Uint8Array | string | null | undefined) | null;
  stack: SigstoreStack;
  rootFile: string;
  dir: string;
  channelUrl(channel?: string): string;
  /** builds a package, signs it (unless `attest: false`) and uploads it */
  publish(opts?: { name?: string; version?: string; channel?: string; subdir?: string; attest?: boolean; format?: '.conda' | '.tar.bz2' }): Promise<Published>;
  close(): Promise<void>;
}

let counter = 0;

export async function startVerifyEnv(): Promise<VerifyEnv> {
  const stack = await startSigstoreStack();
  const dir = tempDir();
  const rootFile = path.join(dir, 'trusted_root.json');
  fs.writeFileSync(rootFile, stack.trustedRootJson);
  const front = await startFront();
  // (the environment, not --public-url: with --port 0 serve takes the address it got unless PROVENA_PUBLIC_URL is set)
  const server = await startServer({ args: ['--trusted-root', rootFile], env: { PROVENA_PUBLIC_URL: front.url } });
  front.upstream = server.url;
  for (const name of ['signed', 'plain']) assert.equal((await api(server, 'POST', '/api/v1/channels', { name })).status, 201);
  const added = await api(server, 'POST', '/api/v1/channels/signed/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
  assert.equal(added.status, 201, JSON.stringify(added.json));
  const channelUrl = (channel = 'signed') => `${front.url}/${channel}`;
  const env: VerifyEnv = {
    server,
    url: front.url,
    get override() {
      return front.override;
    },
    set override(fn) {
      front.override = fn;
    },
    stack,
    rootFile,
    dir,
    channelUrl,
    async publish(o = {}) {
      const name = o.name ?? `verpkg${process.pid}x${++counter}`;
      const version = o.version ?? '1.0';
      const subdir = o.subdir ?? 'linux-64';
      const format = o.format ?? '.conda';
      const channel = o.channel ?? 'signed';
      const bytes = await makePackage({ name, version, build: 'h0_0', subdir, format, ...(subdir === 'noarch' ? { noarch: 'generic' } : {}) });
      const filename = `${name}-${version}-h0_0${format}`;
      const digest = sha256(bytes);
      const bundle = o.attest === false ? null : await stack.signAttestation({
        filename, sha256: digest, targetChannel: channelUrl(channel), identity: 'github', tokenOverrides: { iss: GITHUB },
      });
      const res = await uploadMultipart(server, channel, filename, bytes, { token: ADMIN_TOKEN, attestation: bundle ?? undefined });
      // the server names its own public URL (the front) as the channel's URL
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return { name, filename, subdir, bytes, sha256: digest, md5: md5(bytes), url: `${channelUrl(channel)}/${subdir}/${filename}`, bundle };
    },
    async close() {
      await server.stop();
      await stack.close();
      await front.close();
    },
  };
  return env;
}

interface Front {
  url: string;
  upstream: string;
  override: VerifyEnv['override'];
  close(): Promise<void>;
}

/** A front for the server (its public URL), so tests can make it lie about single files. */
async function startFront(): Promise<Front> {
  const front: Front = { url: '', upstream: '', override: null, close: async () => undefined };
  const server = createServer((req, res) => {
    const p = req.url ?? '/';
    void (async () => {
      // a channel without signed repodata, so forged repodata reaches the record checks (TUF: test/tuf/)
      if (/^\/(t\/[^/]+\/)?[^/]+\/tuf\//.test(p)) return void res.writeHead(404).end();
      const answer = front.override?.(p);
      if (answer === null) return void res.writeHead(404).end();
      if (answer !== undefined) return void res.writeHead(200).end(typeof answer === 'string' ? answer : Buffer.from(answer));
      const r = await fetch(front.upstream + p, { method: req.method });
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' });
      res.end(Buffer.from(await r.arrayBuffer()));
    })().catch((e) => res.writeHead(502).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  front.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  front.close = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return front;
}

/** Identity flags of the stack's GitHub-shaped signer (acme/widgets, release.yml on refs/heads/main). */
export const ACME = ['--repo', 'acme/widgets'];
