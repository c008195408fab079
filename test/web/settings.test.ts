import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { api, startServer, type RunningServer } from '../support/server.ts';
import { browserSkip, horizontalOverflow, launchBrowser, screenshot, watchedPage } from './browser.ts';

/**
 * The channel admin's page in a real browser: sign in with an admin key, add and remove Trusted
 * Publishers, create a key (secret shown once) and revoke it, switch attestations and visibility.
 * Each change is checked through the JSON API, i.e. it really happened on the server.
 */
describe('web UI: channel settings for a channel admin', { skip: browserSkip }, () => {
  let server: RunningServer;
  let browser: Browser;
  let context: BrowserContext;
  let adminKey: string;

  before(async () => {
    [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'team' })).status, 201);
    const key = await api(server, 'POST', '/api/v1/keys', { channel: 'team', scope: 'admin', description: 'web admin' });
    assert.equal(key.status, 201);
    adminKey = key.json.secret;
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await server?.stop();
  });

  const notice = (page: Page) => page.locator('.notice.ok').first().textContent();

  it('signs in with an admin key and manages publishers, keys, attestations and visibility', async () => {
    const { page, dialogs, errors } = await watchedPage(context);
    const url = server.url;
    const settings = `${url}/channels/team/settings`;

    // not signed in: asked to sign in, and brought back afterwards
    const first = await page.goto(settings);
    assert.equal(first!.status(), 401);
    await page.getByRole('link', { name: 'Sign in with a key' }).click();
    await page.getByLabel(/API key/).fill('pvn_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.equal(await page.getByRole('alert').textContent(), 'That key is not known to this server, or it was revoked or has expired.');
    await page.getByLabel(/API key/).fill(adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(settings);
    assert.equal(await page.locator('h1').textContent(), 'Settings for team');
    await screenshot(page, 'settings');
    await page.setViewportSize({ width: 375, height: 740 });
    assert.ok((await horizontalOverflow(page)) <= 0, 'the settings page scrolls sideways at 375 px');
    await screenshot(page, '375px-settings');
    await page.setViewportSize({ width: 1200, height: 900 });

    // Trusted Publishers: a refused one keeps what was typed and says why
    const gh = page.locator('form', { has: page.getByRole('group', { name: 'GitHub Actions' }) });
    await gh.getByLabel(/Repository/).fill('acme/widgets');
    await gh.getByLabel(/Workflow file/).fill('release.sh');
    await gh.getByRole('button', { name: 'Add GitHub publisher' }).click();
    assert.match((await page.getByRole('alert').textContent())!, /workflow: expected a file name under .github\/workflows\/ ending in .yml or .yaml/);
    assert.equal(await gh.getByLabel(/Repository/).inputValue(), 'acme/widgets');
    await gh.getByLabel(/Workflow file/).fill('release.yml');
    await gh.getByLabel(/Environment/).fill('pypi');
    await gh.getByRole('button', { name: 'Add GitHub publisher' }).click();
    await page.waitForURL(/done=publisher_added/);
    assert.equal(await notice(page), 'Trusted Publisher added.');
    const gl = page.locator('form', { has: page.getByRole('group', { name: 'GitLab CI/CD' }) });
    await gl.getByLabel(/Project/).fill('acme/tools/widgets');
    await gl.getByRole('button', { name: 'Add GitLab publisher' }).click();
    await page.waitForURL(/done=publisher_added/);
    const generic = page.locator('form', { has: page.getByRole('group', { name: 'Other OIDC issuer' }) });
    await generic.getByLabel(/Issuer URL/).fill('https://ci.example.com');
    await generic.getByLabel(/Claims/).fill('repository=acme/widgets\nref=refs/heads/main');
    await generic.getByRole('button', { name: 'Add publisher' }).click();
    await page.waitForURL(/done=publisher_added/);
    let listed = (await api(server, 'GET', '/api/v1/channels/team/publishers')).json.publishers;
    assert.deepEqual(listed.map((p: any) => p.kind).sort(), ['generic', 'github', 'gitlab']);
    const github = listed.find((p: any) => p.kind === 'github');
    assert.deepEqual([github.repository, github.workflow, github.environment], ['acme/widgets', 'release.yml', 'pypi']);
    assert.deepEqual(listed.find((p: any) => p.kind === 'gitlab').ci_config_path, '.gitlab-ci.yml');
    assert.deepEqual(listed.find((p: any) => p.kind === 'generic').claims, { repository: 'acme/widgets', ref: 'refs/heads/main' });
    const publishers = page.getByRole('table', { name: 'Trusted Publishers' });
    assert.equal(await publishers.locator('tbody tr').count(), 3);
    await publishers.getByRole('button', { name: `Remove publisher ${github.id}` }).click();
    await page.waitForURL(/done=publisher_removed/);
    assert.equal(await notice(page), 'Trusted Publisher removed.');
    listed = (await api(server, 'GET', '/api/v1/channels/team/publishers')).json.publishers;
    assert.equal(listed.some((p: any) => p.id === github.id), false);

    // API keys: the secret is shown once
    await page.getByLabel(/Scope/).selectOption('upload');
    await page.getByLabel(/Description/).fill('ci uploads');
    await page.getByLabel(/Expires after/).fill('30');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('#new-key-secret').textContent())!;
    assert.match(secret, /^pvn_[A-Za-z0-9_-]{43}$/);
    assert.match((await page.locator('#new-key-h').textContent())!, /^New upload key key_[0-9a-f]+$/);
    await screenshot(page, 'settings-new-key');
    const keyId = /key_[0-9a-f]+/.exec((await page.locator('#new-key-h').textContent())!)![0];
    const created = (await api(server, 'GET', '/api/v1/keys?channel=team')).json.keys.find((k: any) => k.id === keyId);
    assert.equal(created.scope, 'upload');
    assert.equal(created.description, 'ci uploads');
    assert.ok(Math.abs(Date.parse(created.expires_at) - (Date.now() + 30 * 86_400_000)) < 120_000);
    assert.equal((await api(server, 'GET', '/api/v1/channels/team', undefined, secret)).status, 200, 'the new key works');
    await page.goto(settings);
    assert.equal((await page.content()).includes(secret), false, 'the secret is not shown again');
    const keys = page.getByRole('table', { name: 'API keys of this channel' });
    await keys.getByRole('button', { name: `Revoke key ${keyId}` }).click();
    await page.waitForURL(/done=key_revoked/);
    assert.match((await keys.locator('tr', { hasText: keyId }).textContent())!, /revoked/);
    const revoked = await api(server, 'GET', '/api/v1/channels/team', undefined, secret);
    assert.equal(revoked.status, 401);
    assert.equal(revoked.json.error, 'token_revoked');

    // attestations required, then not
    await page.getByRole('button', { name: 'Require attestations' }).click();
    await page.waitForURL(/done=attestations_required/);
    assert.equal((await api(server, 'GET', '/api/v1/channels/team')).json.require_attestations, true);
    await page.getByRole('button', { name: 'Stop requiring attestations' }).click();
    await page.waitForURL(/done=attestations_optional/);
    assert.equal((await api(server, 'GET', '/api/v1/channels/team')).json.require_attestations, false);

    // private: gone for everyone else, still there for this key
    await page.getByRole('button', { name: 'Make private' }).click();
    await page.waitForURL(/done=private/);
    assert.equal((await api(server, 'GET', '/api/v1/channels/team')).json.private, true);
    assert.equal((await api(server, 'GET', '/api/v1/channels/team', undefined, null)).status, 404);
    const anon = await browser.newContext();
    const anonPage = await anon.newPage();
    await anonPage.goto(`${url}/`);
    assert.equal(await anonPage.getByText('team').count(), 0, 'a private channel is not named to others');
    assert.equal((await anonPage.goto(`${url}/channels/team`))!.status(), 404);
    await anon.close();
    await page.goto(`${url}/`);
    assert.equal(await page.getByRole('link', { name: 'team' }).count(), 1, 'the admin key still sees it');
    await page.goto(settings);
    await page.getByRole('button', { name: 'Make public' }).click();
    await page.waitForURL(/done=public/);
    assert.equal((await api(server, 'GET', '/api/v1/channels/team', undefined, null)).status, 200);

    // sign out
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${url}/`);
    assert.equal(await page.getByRole('link', { name: 'Sign in' }).count(), 1);
    assert.equal((await page.goto(settings))!.status(), 401);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors.filter((e) => !/status of (401|422)/.test(e)), []);
    await page.close();
  });

  it('signs a browser out when its key is revoked', async () => {
    const key = await api(server, 'POST', '/api/v1/keys', { channel: 'team', scope: 'admin' });
    const ctx = await browser.newContext();
    const { page } = await watchedPage(ctx);
    await page.goto(`${server.url}/signin`);
    await page.getByLabel(/API key/).fill(key.json.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 1);
    await api(server, 'DELETE', `/api/v1/keys/${key.json.id}`);
    await page.goto(`${server.url}/channels/team`);
    assert.equal(await page.getByRole('status').first().textContent(), 'You were signed out: the key you signed in with was revoked.');
    assert.equal((await ctx.cookies()).some((c) => c.name === 'provena_key'), false, 'the cookie is dropped');
    await ctx.close();
  });
});
