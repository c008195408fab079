import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api, startServer, type RunningServer } from '../support/server.ts';
import { browserSkip, launchBrowser, screenshot, watchedPage } from './browser.ts';
import { upload, type Uploaded } from './fixture.ts';

/** Each payload sets a global flag and opens a dialog if it ever runs. */
const ABOUT = {
  summary: '<script>window.__xss="summary";alert("summary")</script>',
  description: '<img src=x onerror="window.__xss=\'description\';alert(\'description\')">',
  home: 'javascript:window.__xss="home";alert("home")',
  dev_url: ' JaVaScRiPt:window.__xss="dev_url";alert("dev_url")',
  doc_url: 'data:text/html,<script>alert("doc_url")</script>',
  license: '"><svg onload="window.__xss=\'about-license\';alert(\'about-license\')">',
};
const INDEX = {
  license: '<script>window.__xss="license";alert("license")</script>',
  depends: ['"><img src=x onerror="window.__xss=\'dep\';alert(\'dep\')">', "</code></li><script>alert('dep2')</script>", 'python >=3.8'],
  constrains: ['<iframe src="javascript:alert(\'constrains\')"></iframe>'],
};

/**
 * A package whose about.json and index.json carry script payloads, shown in a real browser: nothing runs.
 * Pages are checked with the Content-Security-Policy bypassed (so the escaping alone is what is proven)
 * and with it in force (the second line of defence is there and nothing trips it).
 */
describe('web UI: package metadata is untrusted input', { skip: browserSkip }, () => {
  let server: RunningServer;
  let browser: Browser;
  let evil: Uploaded;

  before(async () => {
    [server, browser] = await Promise.all([startServer(), launchBrowser()]);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'wild' })).status, 201);
    evil = await upload(server, 'wild', { name: 'evil', version: '6.6.6', build: 'h0_0', subdir: 'linux-64', about: ABOUT, index: INDEX, depends: INDEX.depends });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const pages = () => [
    '/',
    '/channels/wild',
    '/channels/wild?q=%3Cscript%3Ealert(%22q%22)%3C%2Fscript%3E',
    '/channels/wild/packages/evil',
    '/channels/wild/packages/evil?version=%22%3E%3Cscript%3Ealert(1)%3C/script%3E&subdir=%3Cb%3E',
    '/log',
    `/log?sha256=${encodeURIComponent('"><script>alert("sha")</script>')}`,
    `/log/entries/${evil.logIndex}`,
    '/signin?next=javascript:alert(%22next%22)',
  ];

  async function assertInert(page: Page, path: string) {
    assert.equal(await page.evaluate('window.__xss'), undefined, `${path}: a payload ran`);
    const scripts = (await page.evaluate('[...document.scripts].map((s) => s.src || "inline")')) as string[];
    assert.equal(scripts.length, 1, `${path}: scripts ${scripts.join(', ')}`);
    assert.match(scripts[0]!, /\/static\/provena\.js\?v=[0-9a-f]{16}$/);
    const handlers = await page.evaluate(`[...document.querySelectorAll('*')].flatMap((el) => [...el.attributes].filter((a) => a.name.startsWith('on')).map((a) => el.tagName + ' ' + a.name))`);
    assert.deepEqual(handlers, [], `${path}: event handler attributes`);
    const hrefs = (await page.evaluate(`[...document.querySelectorAll('[href], [src], [action]')].map((el) => el.getAttribute('href') ?? el.getAttribute('src') ?? el.getAttribute('action'))`)) as string[];
    for (const href of hrefs) assert.match(href, /^(\/|#|\?|https?:\/\/)/, `${path}: ${href}`);
    assert.equal(await page.locator('iframe, object, embed, svg, img').count(), 0, `${path}: injected elements`);
  }

  it('shows every payload as text and runs none of them (CSP bypassed: escaping alone)', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const { page, dialogs, errors } = await watchedPage(context);
    for (const path of pages()) {
      await page.goto(`${server.url}${path}`);
      await page.locator('details').evaluateAll('(ds) => ds.forEach((d) => { d.open = true; })');
      await assertInert(page, path);
    }
    await page.goto(`${server.url}/channels/wild/packages/evil`);
    await page.locator('details').evaluateAll('(ds) => ds.forEach((d) => { d.open = true; })');
    // the payloads are on the page, as text
    assert.equal(await page.locator('p.lead').textContent(), ABOUT.summary);
    assert.equal(await page.locator('p.description').textContent(), ABOUT.description);
    assert.equal(await page.locator('dt:text-is("License") + dd').first().textContent(), INDEX.license);
    assert.deepEqual(await page.locator('ul.deps').first().locator('li').allTextContents(), INDEX.depends);
    // a javascript: or data: URL is not a link, whatever its case or leading space
    for (const label of ['Homepage', 'Source', 'Documentation']) {
      const dd = page.locator(`dt:text-is("${label}") + dd`);
      assert.equal(await dd.locator('a').count(), 0, `${label} is not a link`);
    }
    assert.equal(await page.locator('dt:text-is("Homepage") + dd').textContent(), ABOUT.home);
    await page.getByText(ABOUT.home).click();
    assert.equal(await page.evaluate('window.__xss'), undefined);
    await screenshot(page, 'xss-package');

    // the sign-in form's "next" never sends the browser to a javascript: URL
    await page.goto(`${server.url}/signin?next=javascript:alert(%22next%22)`);
    assert.equal(await page.locator('input[name=next]').inputValue(), '/');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors.filter((e) => !/status of 40[04]/.test(e)), []);
    await context.close();
  });

  it('serves every page under a strict Content-Security-Policy that nothing violates', async () => {
    const context = await browser.newContext();
    const { page, dialogs, errors } = await watchedPage(context);
    for (const path of pages()) {
      const res = await page.goto(`${server.url}${path}`);
      const csp = res!.headers()['content-security-policy']!;
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res!.headers()['x-content-type-options'], 'nosniff');
      await assertInert(page, path);
    }
    assert.deepEqual(dialogs, []);
    assert.deepEqual(errors.filter((e) => /Content Security Policy/i.test(e)), [], 'no CSP violation: no inline script or style anywhere');
    await context.close();
  });
});
