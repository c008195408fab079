import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { browserSkip, horizontalOverflow, launchBrowser, readmeScreenshot, screenshot, watchedPage } from './browser.ts';
import { startWebFixture, type WebFixture } from './fixture.ts';

/**
 * What a person does with the UI, in a real browser against the real server: from the channel list to a
 * package, its provenance panel and its transparency-log entry; search; the log; a phone-sized screen.
 */
describe('web UI: browsing channels, packages, provenance and the log', { skip: browserSkip }, () => {
  let fx: WebFixture;
  let browser: Browser;
  let context: BrowserContext;

  before(async () => {
    [fx, browser] = await Promise.all([startWebFixture(), launchBrowser()]);
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  });
  /** The README's pictures: a tall desktop window from the top of the page. */
  async function readmeShot(pageUrl: string, name: string, height: number, openProvenance: boolean) {
    const p = await context.newPage();
    await p.setViewportSize({ width: 1280, height });
    await p.goto(pageUrl);
    if (openProvenance) await p.locator('details.provenance summary').first().click();
    await readmeScreenshot(p, name);
    await p.close();
  }

  after(async () => {
    await context?.close();
    await browser?.close();
    await fx?.close();
  });

  it('navigates home → channel → package → provenance panel → log entry', async () => {
    const { page, dialogs, errors } = await watchedPage(context);
    const url = fx.server.url;
    await page.goto(`${url}/`);
    assert.equal(await page.locator('h1').textContent(), 'Channels');
    const channelsTable = page.getByRole('table', { name: 'Channels you can see' });
    assert.equal(await channelsTable.getByRole('link', { name: 'demo', exact: true }).count(), 1);
    assert.equal(await page.getByText('internal').count(), 0, 'a private channel is not even named to a visitor');
    await screenshot(page, 'home');

    await channelsTable.getByRole('link', { name: 'demo', exact: true }).click();
    await page.waitForURL(`${url}/channels/demo`);
    assert.match((await page.locator('h1').textContent())!, /^demo/);
    // newest publish first: widgets was published after zlib and libfoo
    const names = await page.locator('table tbody tr td:first-child').allTextContents();
    assert.deepEqual(names, ['widgets', 'libfoo', 'zlib']);
    assert.equal(await page.locator('#conda-cmd').textContent(), `conda install -c ${url}/demo PACKAGE`);
    assert.equal(await page.locator('#pixi-cfg').textContent(), `channels = ["${url}/demo", "conda-forge"]`);
    await screenshot(page, 'channel');

    await page.getByRole('link', { name: 'widgets', exact: true }).click();
    await page.waitForURL(`${url}/channels/demo/packages/widgets`);
    assert.equal(await page.locator('h1').textContent(), 'widgets');
    assert.equal(await page.locator('p.lead').textContent(), 'Widgets for every occasion');
    assert.equal(await page.getByRole('link', { name: 'https://github.com/acme/widgets' }).first().getAttribute('href'), 'https://github.com/acme/widgets');
    // versions in conda's order: 1.10.0 is newer than 1.9.0
    const versions = await page.getByRole('table', { name: /Versions/ }).locator('tbody tr td:first-child').allTextContents();
    assert.deepEqual(versions, ['2.1.0', '1.10.0', '1.9.0']);
    const perSubdir = await page.getByRole('table', { name: /Versions/ }).locator('tbody tr').first().locator('td').nth(1).textContent();
    assert.match(perSubdir!, /linux-64 × 1/);
    assert.match(perSubdir!, /osx-arm64 × 1/);
    const headings = await page.locator('section h3').allTextContents();
    assert.deepEqual(headings, ['widgets 2.1.0', 'widgets 1.10.0', 'widgets 1.9.0']);

    // the provenance panel of the newest linux-64 file
    const latest = fx.uploaded.find((u) => u.filename === 'widgets-2.1.0-h1_0.conda')!;
    const card = page.locator(`article[id="file-linux-64-${latest.filename}"]`);
    assert.equal(await card.locator('dd code').filter({ hasText: latest.sha256 }).count(), 1);
    assert.deepEqual(await card.locator('ul.deps li').allTextContents(), ['python >=3.10', 'zlib >=1.3,<2.0a0']);
    assert.equal(await card.getByRole('link', { name: 'zlib >=1.3,<2.0a0' }).getAttribute('href'), '/channels/demo/packages/zlib', 'a dependency in the channel links to it');
    const panel = card.locator('details.provenance');
    assert.equal(await panel.getAttribute('open'), null, 'collapsed until asked for');
    await panel.locator('summary').click();
    assert.notEqual(await panel.getAttribute('open'), null);
    assert.match((await panel.locator('summary').textContent())!, /verified\s+signed by acme\/widgets/);
    const fact = async (label: string) => (await panel.locator(`dt:text-is("${label}") + dd`).textContent())?.trim();
    assert.equal(await fact('Signer repository'), 'https://github.com/acme/widgets');
    assert.match((await fact('Workflow'))!, /^https:\/\/github.com\/acme\/widgets\/.github\/workflows\/release.yml@refs\/heads\/main$/);
    assert.equal(await fact('Ref'), 'refs/heads/main');
    assert.equal(await fact('OIDC issuer'), 'https://token.actions.githubusercontent.com');
    assert.equal(await fact('Target channel'), `${url}/demo`);
    const commit = (await fact('Commit'))!;
    assert.match(commit, /^[0-9a-f]{40}$/);
    assert.equal(await panel.getByRole('link', { name: commit }).getAttribute('href'), `https://github.com/acme/widgets/commit/${commit}`);
    // the local stack's Rekor is not the public-good instance: its index is not linked to search.sigstore.dev
    assert.match((await fact('Rekor log index'))!, /^\d+ \(not the public-good Rekor\)$/);
    assert.equal(await page.locator('a[href^="https://search.sigstore.dev"]').count(), 0);
    assert.ok(Date.parse((await panel.locator('dt:text-is("Verified at") + dd time').getAttribute('datetime'))!) > 0);
    // the sidecar links serve what they say
    for (const [name, type] of [['.sigstore', 'application/json'], ['.v0.sigs', 'application/json'], ['receipt', 'application/json']] as const) {
      const href = (await panel.getByRole('link', { name, exact: true }).getAttribute('href'))!;
      const res = await page.request.get(`${url}${href}`);
      assert.equal(res.status(), 200, `${name} ${href}`);
      assert.match(res.headers()['content-type']!, new RegExp(type));
    }
    const download = (await card.getByRole('link', { name: latest.filename }).getAttribute('href'))!;
    assert.equal(download, `/demo/linux-64/${latest.filename}`, 'public files link to the conda URL itself');
    await screenshot(page, 'package-provenance');
    await readmeShot(`${url}/channels/demo/packages/widgets`, 'package-page', 1640, true);

    await panel.getByRole('link', { name: `entry #${latest.logIndex}` }).click();
    await page.waitForURL(`${url}/log/entries/${latest.logIndex}`);
    assert.equal(await page.locator('h1').textContent(), `Log entry ${latest.logIndex}`);
    assert.equal((await page.locator('dt:text-is("Action") + dd').textContent())?.trim(), 'publish');
    assert.equal((await page.locator('dt:text-is("sha256") + dd').textContent())?.trim(), latest.sha256);
    const entryJson = JSON.parse((await page.locator('#entry-json').textContent())!);
    assert.equal(entryJson.filename, latest.filename);
    assert.equal(typeof entryJson.attestation_sha256, 'string');
    assert.match((await page.locator('pre code').last().textContent())!, /^127\.0\.0\.1\/log\n\d+\n/);
    await screenshot(page, 'log-entry');
    await page.getByRole('link', { name: latest.filename }).click();
    await page.waitForURL(new RegExp(`/channels/demo/packages/widgets#file-linux-64-`));

    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('searches a channel by name prefix and substring and filters by subdir', async () => {
    const { page, errors } = await watchedPage(context);
    await page.goto(`${fx.server.url}/channels/demo`);
    const names = () => page.locator('table tbody tr td:first-child').allTextContents();

    await page.getByLabel('Package name').fill('wid');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=wid/);
    assert.deepEqual(await names(), ['widgets']);

    // "lib": libfoo starts with it, zlib contains it: prefix matches first
    await page.getByLabel('Package name').fill('lib');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=lib/);
    assert.deepEqual(await names(), ['libfoo', 'zlib']);
    assert.match((await page.getByRole('status').first().textContent())!, /2 packages matching/);

    await page.getByLabel('Package name').fill('');
    await page.getByLabel('Subdir').selectOption('noarch');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/subdir=noarch/);
    assert.deepEqual(await names(), ['libfoo']);

    await page.getByLabel('Package name').fill('nothing-like-this');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=nothing/);
    assert.equal(await page.getByText('No package matches.').count(), 1);

    // on the package page: the file filter
    await page.goto(`${fx.server.url}/channels/demo/packages/widgets`);
    await page.getByLabel('Version').selectOption('2.1.0');
    await page.getByLabel('Subdir').selectOption('osx-arm64');
    await page.getByRole('button', { name: 'Show files' }).click();
    await page.waitForURL(/version=2.1.0/);
    assert.deepEqual(await page.locator('article.file h4').allTextContents(), ['widgets-2.1.0-h2_0.conda']);
    await screenshot(page, 'search');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the log: checkpoint, verifier key, paged entries linking to packages, search by sha256', async () => {
    const { page, errors } = await watchedPage(context);
    const url = fx.server.url;
    await page.goto(`${url}/log`);
    assert.equal(await page.locator('h1').textContent(), 'Transparency log');
    const key = await (await fetch(`${url}/log/key`)).text();
    assert.equal(await page.locator('#verifier-key').textContent(), key.trim());
    const note = await page.locator('#checkpoint-note').textContent();
    assert.match(note!, /^127\.0\.0\.1\/log\n(\d+)\n[A-Za-z0-9+/=]{44}\n\n— /);
    const size = Number(/\n(\d+)\n/.exec(note!)![1]);
    assert.equal(await page.locator('dt:text-is("Tree size") + dd').textContent(), `${size} entries`);
    const rows = page.getByRole('table', { name: 'Log entries, newest first' }).locator('tbody tr');
    assert.equal(await rows.count(), Math.min(size, 50));
    assert.equal(await rows.first().locator('td').first().textContent(), String(size - 1), 'newest first');
    // the private channel's entries are there, but say nothing about it
    const text = await page.locator('main').textContent();
    assert.equal(/internal|secretpkg/.test(text!), false, 'no private channel name or file on the log page');
    assert.ok((await page.getByText('an entry about a channel you cannot see').count()) >= 1);
    await readmeShot(`${url}/log`, 'log-page', 1250, false);
    await screenshot(page, 'log');

    // an entry links to its package
    const zlib = fx.uploaded.find((u) => u.filename.startsWith('zlib-'))!;
    const row = rows.filter({ has: page.locator('td:first-child', { hasText: new RegExp(`^${zlib.logIndex}$`) }) });
    await row.getByRole('link', { name: zlib.filename }).click();
    await page.waitForURL(/\/channels\/demo\/packages\/zlib#file-linux-64-zlib-1\.3\.1-h4ab18f5_1\.conda$/);

    // search by sha256 ("you can use this to find the log entry")
    await page.goto(`${url}/log`);
    await page.getByLabel(/Package sha256/).fill(zlib.sha256.toUpperCase());
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForURL(/sha256=/);
    const found = page.getByRole('table', { name: 'Entries for this sha256' }).locator('tbody tr');
    assert.equal(await found.count(), 1);
    assert.equal(await found.locator('td').first().textContent(), String(zlib.logIndex));
    await found.getByRole('link', { name: String(zlib.logIndex), exact: true }).click();
    await page.waitForURL(`${url}/log/entries/${zlib.logIndex}`);

    // a private file's sha256 finds nothing for a visitor without access
    const secret = fx.uploaded.find((u) => u.channel === 'internal')!;
    await page.goto(`${url}/log?sha256=${secret.sha256}`);
    assert.equal(await page.getByText(/No entry found for this sha256/).count(), 1);
    await page.goto(`${url}/log?sha256=not-a-hash`);
    assert.equal(await page.getByRole('alert').count(), 1);
    // older pages exist once the log is longer than a page
    await page.goto(`${url}/log?before=3`);
    assert.deepEqual(await rows.locator('td:first-child').allTextContents(), ['2', '1', '0']);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('keeps private channels invisible until signed in with a key that may read them', async () => {
    const anon = await watchedPage(context);
    const url = fx.server.url;
    const missing = await anon.page.goto(`${url}/channels/no-such-channel`);
    const hidden = await anon.page.goto(`${url}/channels/internal`);
    assert.equal(missing!.status(), 404);
    assert.equal(hidden!.status(), 404);
    assert.equal(await anon.page.locator('h1').textContent(), 'Not found');
    for (const p of ['/channels/internal/packages/secretpkg', '/channels/internal/settings', '/channels/internal/files/noarch/secretpkg-1.0-0.conda']) {
      assert.equal((await anon.page.goto(`${url}${p}`))!.status(), 404, p);
    }
    await anon.page.close();

    const signedIn = await browser.newContext();
    const { page, errors } = await watchedPage(signedIn);
    await page.goto(`${url}/signin`);
    await page.getByLabel(/API key/).fill(fx.internalReadKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${url}/`);
    assert.match((await page.locator('.who').textContent())!, /Signed in with key key_[0-9a-f]+ \(read on internal\)/);
    await page.getByRole('table', { name: 'Channels you can see' }).getByRole('link', { name: 'internal' }).click();
    await page.getByRole('link', { name: 'secretpkg' }).click();
    await page.waitForURL(`${url}/channels/internal/packages/secretpkg`);
    // private files download through the UI's cookie route (conda URLs take bearer tokens only)
    const href = (await page.getByRole('link', { name: 'secretpkg-1.0-0.conda' }).getAttribute('href'))!;
    assert.equal(href, '/channels/internal/files/noarch/secretpkg-1.0-0.conda');
    const res = await page.request.get(`${url}${href}`);
    assert.equal(res.status(), 200);
    assert.equal(res.headers()['etag'], `"${fx.uploaded.find((u) => u.channel === 'internal')!.sha256}"`);
    assert.match(res.headers()['cache-control']!, /^private/);
    // a read key does not open the settings
    assert.equal((await page.goto(`${url}/channels/internal/settings`))!.status(), 403);
    await page.goto(`${url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${url}/`);
    assert.equal(await page.getByText('internal').count(), 0);
    assert.deepEqual(errors.filter((e) => !/status of 40[34]/.test(e)), []);
    await signedIn.close();
  });

  it('works on a 375-px-wide screen and with the keyboard alone', async () => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const { page, errors } = await watchedPage(phone);
    const url = fx.server.url;
    for (const [p, name] of [['/', 'home'], ['/channels/demo', 'channel'], ['/channels/demo/packages/widgets', 'package'], ['/log', 'log'], ['/signin', 'signin']] as const) {
      await page.goto(`${url}${p}`);
      if (p.includes('/packages/')) await page.locator('details.provenance summary').first().click();
      assert.ok((await horizontalOverflow(page)) <= 0, `${p} scrolls sideways at 375 px`);
      assert.equal(await page.locator('h1').count(), 1, `${p}: one h1`);
      // every visible form control has a label
      const unlabeled = await page.evaluate(`[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((el) => el.labels.length === 0 && !el.getAttribute('aria-label')).map((el) => el.id || el.name)`);
      assert.deepEqual(unlabeled, [], `${p}: controls without a label`);
      await screenshot(page, `375px-${name}`);
    }

    // keyboard: the first Tab reaches the skip link, Enter moves into the main content
    const desk = await browser.newContext({ viewport: { width: 1024, height: 800 } });
    const kb = await watchedPage(desk);
    await kb.page.goto(`${url}/channels/demo`);
    await kb.page.keyboard.press('Tab');
    assert.equal(await kb.page.evaluate('document.activeElement.textContent'), 'Skip to content');
    await kb.page.keyboard.press('Enter');
    assert.equal(await kb.page.evaluate('document.activeElement.id'), 'main');
    // tab to the search field, type, submit with Enter
    for (let i = 0; i < 20 && (await kb.page.evaluate('document.activeElement.id')) !== 'q'; i++) await kb.page.keyboard.press('Tab');
    assert.equal(await kb.page.evaluate('document.activeElement.id'), 'q');
    await kb.page.keyboard.type('zl');
    await kb.page.keyboard.press('Enter');
    await kb.page.waitForURL(/q=zl/);
    assert.deepEqual(await kb.page.locator('table tbody tr td:first-child').allTextContents(), ['zlib']);
    // a provenance panel opens from the keyboard
    await kb.page.goto(`${url}/channels/demo/packages/widgets`);
    await kb.page.locator('details.provenance summary').first().focus();
    await kb.page.keyboard.press('Enter');
    assert.notEqual(await kb.page.locator('details.provenance').first().getAttribute('open'), null);
    assert.deepEqual([...errors, ...kb.errors], []);
    await phone.close();
    await desk.close();
  });

  it('copies the install command with the copy button', async () => {
    const ctx = await browser.newContext();
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: fx.server.url });
    const { page, errors } = await watchedPage(ctx);
    await page.goto(`${fx.server.url}/channels/demo/packages/widgets`);
    const button = page.getByRole('button', { name: 'Copy the install command' });
    assert.equal(await button.isVisible(), true, 'the script reveals the button');
    await button.click();
    await page.waitForFunction('document.querySelector("button[data-copy=install-cmd]").textContent === "Copied"');
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), `conda install -c ${fx.server.url}/demo widgets`);
    assert.deepEqual(errors, []);
    await ctx.close();
  });
});
