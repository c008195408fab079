import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makePackage } from '../support/package-factory.ts';
import { api } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { addPublisher, startTrustedPublishingServer, type TrustedPublishingEnv } from '../support/trusted-publishing.ts';
import { provena } from '../support/cli.ts';

/** No ambient CI credentials or server settings leak from the machine running the tests. */


/**
 * `provena upload --trusted-publishing` as a CI job runs it: in GitHub Actions against the issuer's
 * imitation of ACTIONS_ID_TOKEN_REQUEST_URL (audience asked from the server), elsewhere with
 * PROVENA_ID_TOKEN; no API key anywhere.
 */
describe('provena upload --trusted-publishing', () => {
  let env: TrustedPublishingEnv;
  let stack: SigstoreStack;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tp-cli-'));
  let n = 0;
  const packageFile = async () => {
    const name = `clitp${++n}`;
    const bytes = await makePackage({ name, version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' });
    const file = path.join(dir, `${name}-1.0-h0_0.conda`);
    fs.writeFileSync(file, bytes);
    return { file, filename: path.basename(file), sha256: createHash('sha256').update(bytes).digest('hex') };
  };

  before(async () => {
    stack = await startSigstoreStack();
    const rootFile = path.join(dir, 'trusted_root.json');
    fs.writeFileSync(rootFile, stack.trustedRootJson);
    env = await startTrustedPublishingServer({ args: ['--trusted-root', rootFile] });
    for (const name of ['cli', 'clilab', 'cliother']) assert.equal((await api(env.server, 'POST', '/api/v1/channels', { name })).status, 201);
    await addPublisher(env.server, 'cli', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
    await addPublisher(env.server, 'clilab', { kind: 'gitlab', project: 'acme/widgets', ci_config_path: '.gitlab-ci.yml' });
  });
  after(async () => {
    await env?.close();
    await stack?.close();
  });

  const actions = () => ({
    GITHUB_ACTIONS: 'true',
    ACTIONS_ID_TOKEN_REQUEST_URL: env.github.actionsTokenRequest.url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: env.github.actionsTokenRequest.token,
  });

  it('in GitHub Actions: asks the audience, gets the id token, exchanges it, uploads with the attestation', async () => {
    const pkg = await packageFile();
    const bundle = path.join(dir, `${pkg.filename}.sigstore.json`);
    fs.writeFileSync(bundle, await stack.signAttestation({
      filename: pkg.filename,
      sha256: pkg.sha256,
      targetChannel: `${env.server.url}/cli`,
      identity: 'github',
      tokenOverrides: { iss: 'https://token.actions.githubusercontent.com' },
    }));
    const res = await provena(['upload', pkg.file, '--trusted-publishing', '--attestation', bundle, '--server', env.server.url], actions());
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`uploaded cli/linux-64/${pkg.filename} sha256:${pkg.sha256}`), 'the channel is the token\'s only one');
    assert.match(res.stdout, /^::add-mask::pvnp_[A-Za-z0-9_-]+$/m, 'the minted token is masked in the job log');
    const facts = await api(env.server, 'GET', `/api/v1/channels/cli/packages/linux-64/${pkg.filename}/attestations`);
    assert.equal(facts.status, 200, 'stored with its verified attestation');
  });

  it('elsewhere (GitLab id_tokens): takes the id token from PROVENA_ID_TOKEN', async () => {
    const pkg = await packageFile();
    const idToken = await env.gitlab.gitlabToken();
    const res = await provena(['upload', pkg.file, '--trusted-publishing', '--channel', 'clilab', '--server', env.server.url], { PROVENA_ID_TOKEN: idToken });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`uploaded clilab/linux-64/${pkg.filename}`));
    assert.doesNotMatch(res.stdout, /add-mask/, 'only GitHub Actions understands ::add-mask::');
  });

  it('refuses a channel the job is not a publisher of, before uploading (exit 1)', async () => {
    const pkg = await packageFile();
    const res = await provena(['upload', pkg.file, '--trusted-publishing', '--channel', 'cliother', '--server', env.server.url], actions());
    assert.equal(res.code, 1);
    assert.match(res.stderr, /Trusted Publisher of cli, not of cliother/);
    assert.deepEqual((await api(env.server, 'GET', '/api/v1/channels/cliother/packages')).json.packages, []);
  });

  it('reports the server\'s refusal of the exchange in one line (exit 1)', async () => {
    const pkg = await packageFile();
    const idToken = await env.github.githubToken({ repository: 'evil/widgets' });
    const res = await provena(['upload', pkg.file, '--trusted-publishing', '--server', env.server.url], { PROVENA_ID_TOKEN: idToken });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /trusted publishing: server refused \(403 publisher_not_found\)/);
    assert.equal(res.stderr.trim().split('\n').length, 1);
  });

  it('says what is missing outside CI, or when the Actions request token is wrong', async () => {
    const pkg = await packageFile();
    const none = await provena(['upload', pkg.file, '--trusted-publishing', '--server', env.server.url], {});
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no OIDC id token: in GitHub Actions give the job "permissions: id-token: write"/);
    const wrong = await provena(['upload', pkg.file, '--trusted-publishing', '--server', env.server.url], { ...actions(), ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /GitHub Actions refused the id token request \(401\)/);
  });

  it('refuses --generate-attestation together with --attestation (exit 2); the signing flow is tested in test/verify/attest.test.ts', async () => {
    const pkg = await packageFile();
    const res = await provena(['upload', pkg.file, '--trusted-publishing', '--generate-attestation', '--attestation', pkg.file, '--server', env.server.url], actions());
    assert.equal(res.code, 2);
    assert.match(res.stderr, /give --attestation BUNDLE or --generate-attestation, not both/);
  });
});
