import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writePackage } from '../support/package-factory.ts';
import { ADMIN_TOKEN, startServer, type RunningServer } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { provena } from '../support/cli.ts';


describe('provena publisher / channel update / upload --attestation', () => {
  let server: RunningServer;
  let stack: SigstoreStack;
  let env: Record<string, string>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-cli-att-'));
  before(async () => {
    stack = await startSigstoreStack();
    const root = path.join(dir, 'trusted_root.json');
    fs.writeFileSync(root, stack.trustedRootJson);
    server = await startServer({ args: ['--trusted-root', root] });
    env = { PROVENA_SERVER: server.url, PROVENA_TOKEN: ADMIN_TOKEN };
    assert.equal((await provena(['channel', 'create', 'signed'], env)).code, 0);
  });
  after(async () => {
    await server?.stop();
    await stack?.close();
  });

  it('adds, lists and removes Trusted Publishers of every kind', async () => {
    const gh = await provena(['publisher', 'add', 'signed', '--kind', 'github', '--repository', 'acme/widgets', '--workflow', 'release.yml', '--json'], env);
    assert.equal(gh.code, 0, gh.stderr);
    const ghId = JSON.parse(gh.stdout).id;
    const gl = await provena(['publisher', 'add', 'signed', '--kind', 'gitlab', '--project', 'acme/tools', '--ci-config-path', '.gitlab-ci.yml', '--environment', 'prod'], env);
    assert.equal(gl.code, 0, gl.stderr);
    assert.match(gl.stdout, /added publisher pub_[0-9a-f]+: gitlab acme\/tools .gitlab-ci.yml environment prod \(https:\/\/gitlab.com\)/);
    const gen = await provena(['publisher', 'add', 'signed', '--kind', 'generic', '--issuer', 'https://issuer.example', '--claim', 'sub=builder'], env);
    assert.equal(gen.code, 0, gen.stderr);
    const list = await provena(['publisher', 'list', 'signed'], env);
    assert.match(list.stdout, new RegExp(`${ghId}\\tgithub acme/widgets workflow release.yml`));
    assert.match(list.stdout, /generic https:\/\/issuer.example sub=builder/);
    const bad = await provena(['publisher', 'add', 'signed', '--kind', 'github', '--repository', 'acme/widgets', '--workflow', 'sub/dir.yml'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid_publisher/);
    const badClaim = await provena(['publisher', 'add', 'signed', '--kind', 'generic', '--issuer', 'https://i.example', '--claim', 'novalue'], env);
    assert.equal(badClaim.code, 2);
    const glId = /pub_[0-9a-f]+/.exec(gl.stdout)![0];
    assert.equal((await provena(['publisher', 'remove', 'signed', glId], env)).code, 0);
    assert.doesNotMatch((await provena(['publisher', 'list', 'signed'], env)).stdout, new RegExp(glId));
  });

  it('requires attestations and uploads a package with its bundle', async () => {
    const upd = await provena(['channel', 'update', 'signed', '--require-attestations'], env);
    assert.equal(upd.code, 0, upd.stderr);
    assert.match(upd.stdout, /attestations required/);
    const file = await writePackage(dir, { name: 'clisigned', version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' });
    const without = await provena(['upload', file, '--channel', 'signed'], env);
    assert.equal(without.code, 1);
    assert.match(without.stderr, /attestation_required/);
    assert.equal(without.stderr.trim().split('\n').length, 1);

    const sha256 = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const bundle = await stack.signAttestation({
      filename: path.basename(file),
      sha256,
      targetChannel: `${server.url}/signed`,
      identity: 'github',
      tokenOverrides: { iss: 'https://token.actions.githubusercontent.com' },
    });
    const bundleFile = path.join(dir, 'bundle.sigstore.json');
    fs.writeFileSync(bundleFile, bundle);
    const wrongChannel = await stack.signAttestation({
      filename: path.basename(file),
      sha256,
      targetChannel: `${server.url}/elsewhere`,
      identity: 'github',
      tokenOverrides: { iss: 'https://token.actions.githubusercontent.com' },
    });
    const wrongFile = path.join(dir, 'wrong.sigstore.json');
    fs.writeFileSync(wrongFile, wrongChannel);
    const refused = await provena(['upload', file, '--channel', 'signed', '--attestation', wrongFile], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /target_channel/);

    const ok = await provena(['upload', file, '--channel', 'signed', '--attestation', bundleFile], env);
    assert.equal(ok.code, 0, ok.stderr);
    const served = await fetch(`${server.url}/signed/linux-64/${path.basename(file)}.sigstore`);
    assert.equal(await served.text(), bundle);
    const mismatch = await provena(['upload', file, file, '--channel', 'signed', '--attestation', bundleFile], env);
    assert.equal(mismatch.code, 2);
    assert.match(mismatch.stderr, /one --attestation per file/);
  });
});
