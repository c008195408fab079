import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTufRepository, type TufRepository } from '../adapters/sigstore/tuf-repository.ts';
import { provena, type CliResult } from '../support/cli.ts';
import { makePackage } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { uploadMultipart } from '../support/upload.ts';

const GITHUB = 'https://token.actions.githubusercontent.com';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * `provena trust-root update` against a local TUF repository (no internet): the real CLI refreshes the
 * public-good trusted root through TUF, and a server started with the default `trusted_root = public-good`
 * then trusts what that root trusts. Here the TUF target is the test signing stack's root, so a bundle the
 * stack signs is refused before the update and accepted after it. Every TUF or content failure is refused with
 * its own reason and leaves the refreshed root as it was.
 */
describe('provena trust-root update', () => {
  let stack: SigstoreStack;
  let repo: TufRepository;
  let dataDir: string;
  let tufRootFile: string;
  let n = 0;
  const stackRoot = () => Buffer.from(stack.trustedRootJson);
  const refreshedFile = () => path.join(dataDir, 'trusted-roots', 'public-good.json');
  const update = (extra: string[] = []): Promise<CliResult> =>
    provena(['trust-root', 'update', '--data', dataDir, '--tuf-url', repo.url, '--tuf-root', tufRootFile, ...extra]);

  before(async () => {
    stack = await startSigstoreStack();
    repo = await startTufRepository();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tuf-'));
    tufRootFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tufroot-')), 'root.json');
    fs.writeFileSync(tufRootFile, repo.rootJson());
    repo.publish({ target: stackRoot() });
  });
  after(async () => {
    await repo?.close();
    await stack?.close();
  });

  /** Starts the server on the data dir with default settings and uploads one package with a stack-signed bundle. */
  async function uploadSignedByStack(): Promise<{ status: number; json: any; startLine: string }> {
    const server = await startServer({ dataDir });
    try {
      await api(server, 'POST', '/api/v1/channels', { name: 'tuf' });
      await api(server, 'POST', '/api/v1/channels/tuf/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
      const name = `tufpkg${++n}`;
      const bytes = await makePackage({ name, version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' });
      const filename = `${name}-1.0-h0_0.conda`;
      const bundle = await stack.signAttestation({ filename, sha256: sha256(bytes), targetChannel: `${server.url}/tuf`, identity: 'github', tokenOverrides: { iss: GITHUB } });
      const res = await uploadMultipart(server, 'tuf', filename, bytes, { token: ADMIN_TOKEN, attestation: bundle });
      const startLine = /provena: Sigstore trusted roots: .*/.exec(server.output())?.[0] ?? '';
      return { ...res, startLine };
    } finally {
      await server.stop();
    }
  }

  /** A failed update: its exit code, one line naming the reason, and the refreshed root unchanged. */
  async function refused(result: CliResult, code: number, reason: RegExp, before: Buffer | null) {
    assert.equal(result.code, code, result.stderr + result.stdout);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, reason);
    assert.match(lines[0]!, /keeps using its current trusted root/);
    if (before === null) assert.equal(fs.existsSync(refreshedFile()), false);
    else assert.deepEqual(fs.readFileSync(refreshedFile()), before);
    assert.deepEqual(fs.readdirSync(path.dirname(refreshedFile())).filter((f) => f !== 'public-good.json'), [], 'no temporary file left');
  }

  it('before the update the server uses the embedded public-good root and refuses the stack’s bundle as untrusted', async () => {
    const res = await uploadSignedByStack();
    assert.match(res.startLine, /public-good \(embedded copy\)/);
    assert.equal(res.status, 422, JSON.stringify(res.json));
    assert.equal(res.json.error, 'untrusted_certificate', JSON.stringify(res.json));
  });

  it('refuses while the TUF repository cannot be reached, and nothing is written', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const res = await provena(['trust-root', 'update', '--data', dataDir, '--tuf-url', `http://127.0.0.1:${closedPort}`, '--tuf-root', tufRootFile]);
    await refused(res, 3, new RegExp(`cannot reach the TUF repository http://127\\.0\\.0\\.1:${closedPort} \\(ECONNREFUSED\\)`), null);
  });

  it('updates through TUF: writes the verified target as DATA/trusted-roots/public-good.json and says what it got', async () => {
    const res = await update();
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stderr, '');
    assert.equal(res.stdout.trim().split('\n').length, 1);
    assert.match(res.stdout, new RegExp(`updated public-good trusted root from ${repo.url} \\(TUF root v1, targets v1 expiring \\d{4}-`));
    assert.match(res.stdout, /was the embedded copy/);
    assert.ok(res.stdout.includes(sha256(stackRoot()).slice(0, 12)));
    assert.deepEqual(fs.readFileSync(refreshedFile()), stackRoot());
    assert.ok(fs.existsSync(path.join(dataDir, 'tuf')), 'TUF metadata cached under DATA/tuf');
  });

  it('says "already current" when the repository has nothing new', async () => {
    const res = await update();
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^provena: public-good trusted root already current \(TUF root v1, targets v1 /);
    assert.deepEqual(fs.readFileSync(refreshedFile()), stackRoot());
  });

  it('after the update the server (default trusted_root = public-good) uses the refreshed copy and accepts the stack’s bundle', async () => {
    const res = await uploadSignedByStack();
    assert.match(res.startLine, new RegExp(`public-good \\(refreshed copy ${refreshedFile().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    assert.equal(res.status, 201, JSON.stringify(res.json));
  });

  it('refuses a target whose bytes do not match the signed hash', async () => {
    const kept = fs.readFileSync(refreshedFile());
    const tampered = Buffer.from(stackRoot());
    tampered[tampered.indexOf('"tlogs"') + 1] = 'T'.charCodeAt(0); // same length, one byte changed
    repo.publish({ target: stackRoot(), servedTarget: tampered });
    await refused(await update(), 1, /TUF verification failed \(target length or hash\): trusted_root\.json: Expected hash [0-9a-f]{64} but got [0-9a-f]{64}/, kept);
  });

  it('refuses expired timestamp metadata', async () => {
    const kept = fs.readFileSync(refreshedFile());
    repo.publish({ target: Buffer.from(stack.trustedRootJson.replace('"tlogs"', ' "tlogs"')), timestampExpires: new Date(Date.now() - 3600_000) });
    await refused(await update(), 1, /TUF verification failed \(expired metadata\): Final timestamp\.json is expired/, kept);
  });

  it('refuses metadata signed by a key the TUF root does not list', async () => {
    const kept = fs.readFileSync(refreshedFile());
    repo.publish({ target: Buffer.from(stack.trustedRootJson.replace('"tlogs"', ' "tlogs"')), timestampSignedByStranger: true });
    await refused(await update(), 1, /TUF verification failed \(signature\): timestamp was signed by 0\/1 keys/, kept);
  });

  it('refuses a correctly signed target that is not a Sigstore trusted root', async () => {
    const kept = fs.readFileSync(refreshedFile());
    repo.publish({ target: Buffer.from(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' })) });
    await refused(await update(), 1, /trusted_root\.json from .* passed TUF but is not a usable Sigstore trusted root: .*expected mediaType/, kept);
    repo.publish({ target: Buffer.from('not json at all') });
    await refused(await update(), 1, /is not a usable Sigstore trusted root: not JSON/, kept);
  });

  it('follows a TUF root rotation and then takes the new target', async () => {
    repo.rotateRoot();
    const changed = Buffer.from(stack.trustedRootJson.replace('"tlogs"', ' "tlogs"'));
    repo.publish({ target: changed });
    const res = await update();
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /updated public-good trusted root .*\(TUF root v2, /);
    assert.match(res.stdout, new RegExp(`replaced sha256 ${sha256(stackRoot()).slice(0, 12)}`));
    assert.deepEqual(fs.readFileSync(refreshedFile()), changed);
  });

  it('refuses usage errors with one line: unknown subcommand, bad --tuf-url, unreadable --tuf-root', async () => {
    const sub = await provena(['trust-root', 'refresh', '--data', dataDir]);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /usage: provena trust-root update/);
    const url = await provena(['trust-root', 'update', '--data', dataDir, '--tuf-url', 'ftp://x']);
    assert.equal(url.code, 2);
    assert.match(url.stderr, /--tuf-url must be an http\(s\) URL/);
    const root = await provena(['trust-root', 'update', '--data', dataDir, '--tuf-url', repo.url, '--tuf-root', path.join(dataDir, 'absent.json')]);
    assert.equal(root.code, 2);
    assert.match(root.stderr, /cannot read --tuf-root .*absent\.json/);
  });

  it('staging has no embedded TUF root: without --tuf-root it says to give one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tuf-'));
    const res = await provena(['trust-root', 'update', '--data', dir, '--staging']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /no initial TUF root is known for https:\/\/tuf-repo-cdn\.sigstage\.dev: give its root\.json .* with --tuf-root FILE/);
    assert.equal(fs.existsSync(path.join(dir, 'trusted-roots', 'staging.json')), false);
  });
});
