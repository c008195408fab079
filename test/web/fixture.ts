/**
 * A real server with real content for the browser tests: a public channel with attested packages (signed
 * by the local Sigstore stack, verified at upload against its trusted root), an unattested one, and a
 * private channel with a read key.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makePackage, type PackageSpec } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { uploadMultipart } from '../support/upload.ts';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface Uploaded {
  channel: string;
  subdir: string;
  filename: string;
  sha256: string;
  logIndex: number;
}

export interface WebFixture {
  server: RunningServer;
  stack: SigstoreStack | null;
  uploaded: Uploaded[];
  /** a read key of the private channel `internal` */
  internalReadKey: string;
  close(): Promise<void>;
}

type Spec = Omit<PackageSpec, 'format'> & { format?: PackageSpec['format'] };

export async function upload(server: RunningServer, channel: string, spec: Spec, stack: SigstoreStack | null = null): Promise<Uploaded> {
  const full: PackageSpec = { format: '.conda', ...spec };
  const bytes = await makePackage(full);
  const filename = `${full.name}-${full.version}-${full.build}${full.format}`;
  const digest = sha256(bytes);
  const attestation = stack
    ? await stack.signAttestation({ filename, sha256: digest, targetChannel: `${server.url}/${channel}`, identity: 'github', tokenOverrides: { iss: GITHUB_ISSUER } })
    : undefined;
  const res = await uploadMultipart(server, channel, filename, bytes, { token: ADMIN_TOKEN, attestation });
  assert.equal(res.status, 201, `upload ${filename}: ${JSON.stringify(res.json)}`);
  return { channel, subdir: full.subdir, filename, sha256: digest, logIndex: res.json.receipt.log_index };
}

export async function startWebFixture(opts: { sigstore?: boolean } = {}): Promise<WebFixture> {
  const stack = opts.sigstore === false ? null : await startSigstoreStack();
  let args: string[] = [];
  if (stack) {
    const rootFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'provena-web-root-')), 'trusted_root.json');
    fs.writeFileSync(rootFile, stack.trustedRootJson);
    args = ['--trusted-root', rootFile];
  }
  const server = await startServer({ args });
  try {
    for (const [name, priv] of [['demo', false], ['internal', true]] as const) {
      assert.equal((await api(server, 'POST', '/api/v1/channels', { name, private: priv })).status, 201);
    }
    const pub = await api(server, 'POST', '/api/v1/channels/demo/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
    assert.equal(pub.status, 201, JSON.stringify(pub.json));

    const about = {
      summary: 'Widgets for every occasion',
      description: 'A library of widgets.\nBuilt in CI and signed with Sigstore.',
      home: 'https://github.com/acme/widgets',
      dev_url: 'https://github.com/acme/widgets',
      license: 'Apache-2.0',
    };
    const uploaded: Uploaded[] = [];
    uploaded.push(await upload(server, 'demo', { name: 'zlib', version: '1.3.1', build: 'h4ab18f5_1', subdir: 'linux-64', about: { summary: 'Massively spiffy yet delicately unobtrusive compression library', home: 'https://zlib.net', license: 'Zlib' } }));
    uploaded.push(await upload(server, 'demo', { name: 'libfoo', version: '0.1', build: 'pyhd8ed1ab_0', subdir: 'noarch', noarch: 'python' }));
    for (const [version, build, subdir] of [['1.9.0', 'h1_0', 'linux-64'], ['1.10.0', 'h1_0', 'linux-64'], ['2.1.0', 'h1_0', 'linux-64'], ['2.1.0', 'h2_0', 'osx-arm64']] as const) {
      uploaded.push(await upload(server, 'demo', {
        name: 'widgets', version, build, subdir, buildNumber: Number(build[1]) - 1,
        depends: ['python >=3.10', 'zlib >=1.3,<2.0a0'], about, index: { license: 'Apache-2.0' },
      }, stack));
    }
    uploaded.push(await upload(server, 'internal', { name: 'secretpkg', version: '1.0', build: '0', subdir: 'noarch', about: { summary: 'internal only' } }));
    const key = await api(server, 'POST', '/api/v1/keys', { channel: 'internal', scope: 'read' });
    assert.equal(key.status, 201);
    return {
      server,
      stack,
      uploaded,
      internalReadKey: key.json.secret,
      close: async () => {
        await server.stop();
        await stack?.close();
      },
    };
  } catch (e) {
    await server.stop();
    await stack?.close();
    throw e;
  }
}
