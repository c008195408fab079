import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { upload } from './fixture.ts';

/** A minimal browser over fetch: keeps cookies, sends forms. For what a real browser would never do. */
class Jar {
  readonly cookies = new Map<string, string>();
  constructor(private readonly base: string) {}

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(path: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<{ res: Response; body: string; setCookies: string[] }> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', this.header());
    let body = init.body;
    if (init.form) {
      headers.set('content-type', 'application/x-www-form-urlencoded');
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(this.base + path, { ...init, headers, body, redirect: 'manual' });
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair, ...attrs] = c.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      if (attrs.some((a) => /^\s*max-age=0$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { res, body: await res.text(), setCookies };
  }

  /** The CSRF token of the form on a page. */
  static csrf(html: string): string {
    const m = /name="_csrf" value="([^"]*)"/.exec(html);
    assert.ok(m, 'the page has a form with a CSRF token');
    return m[1]!;
  }
}

/** What the UI promises at the HTTP level: headers, cookies, CSRF, routes that do not shadow conda's. */
describe('web UI over HTTP: headers, cookies, CSRF, routing', () => {
  let server: RunningServer;
  let adminKey: string;

  before(async () => {
    server = await startServer();
    await api(server, 'POST', '/api/v1/channels', { name: 'open' });
    await api(server, 'POST', '/api/v1/channels', { name: 'covert', private: true });
    adminKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'open', scope: 'admin' })).json.secret;
    await upload(server, 'open', { name: 'pkg', version: '1.0', build: '0', subdir: 'noarch' });
    await upload(server, 'covert', { name: 'hush', version: '1.0', build: '0', subdir: 'noarch' });
  });
  after(async () => {
    await server.stop();
  });

  async function signedIn(key = adminKey): Promise<Jar> {
    const jar = new Jar(server.url);
    const page = await jar.request('/signin');
    const res = await jar.request('/signin', { method: 'POST', form: { _csrf: Jar.csrf(page.body), token: key, next: '/' } });
    assert.equal(res.res.status, 303);
    return jar;
  }

  it('sends pages with a strict CSP and the other protective headers', async () => {
    for (const path of ['/', '/channels/open', '/channels/open/packages/pkg', '/log', '/log/entries/0', '/signin', '/channels/nope']) {
      const res = await fetch(server.url + path);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8', path);
      assert.equal(
        res.headers.get('content-security-policy'),
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      assert.equal(res.headers.get('referrer-policy'), 'same-origin');
      assert.match(res.headers.get('cache-control')!, /^(private, no-cache|no-store)$/);
      assert.match(res.headers.get('vary')!, /Cookie/);
      assert.match(res.headers.get('server-timing')!, /^render;dur=\d+\.\d\d$/);
      const html = await res.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)/, `${path}: inline script`);
      assert.doesNotMatch(html, /\sstyle=|<style/, `${path}: inline style`);
      assert.match(html, /^<!doctype html>\n<html lang="en">/);
    }
    const head = await fetch(`${server.url}/channels/open`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  });

  it('serves the static files with content hashes, long caching and revalidation', async () => {
    const page = await (await fetch(`${server.url}/`)).text();
    for (const [path, type] of [[/href="(\/static\/provena\.css\?v=[0-9a-f]{16})"/, 'text/css'], [/src="(\/static\/provena\.js\?v=[0-9a-f]{16})"/, 'text/javascript']] as const) {
      const url = path.exec(page)![1]!;
      const res = await fetch(server.url + url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type')!, new RegExp(`^${type}`));
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const again = await fetch(server.url + url, { headers: { 'if-none-match': res.headers.get('etag')! } });
      assert.equal(again.status, 304);
    }
    assert.equal((await fetch(`${server.url}/static/nothing.js`)).status, 404);
  });

  it('sets HttpOnly, SameSite=Strict cookies and rotates the session at sign-in and sign-out', async () => {
    const jar = new Jar(server.url);
    const page = await jar.request('/signin');
    assert.equal(page.res.headers.get('cache-control'), 'no-store');
    const session = page.setCookies.find((c) => c.startsWith('provena_session='))!;
    assert.match(session, /; Path=\/; HttpOnly; SameSite=Strict$/);
    const before = jar.cookies.get('provena_session');
    const res = await jar.request('/signin', { method: 'POST', form: { _csrf: Jar.csrf(page.body), token: adminKey, next: '/channels/open' } });
    assert.equal(res.res.status, 303);
    assert.equal(res.res.headers.get('location'), '/channels/open');
    const key = res.setCookies.find((c) => c.startsWith('provena_key='))!;
    assert.match(key, /; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    assert.notEqual(jar.cookies.get('provena_session'), before, 'a new session at sign-in');
    // the old session's token is worthless now
    const stale = await jar.request('/signout', { method: 'POST', form: { _csrf: Jar.csrf(page.body) } });
    assert.equal(stale.res.status, 403);
    const home = await jar.request('/');
    assert.match(home.body, /Signed in with key key_[0-9a-f]+ \(admin on open\)/);
    const out = await jar.request('/signout', { method: 'POST', form: { _csrf: Jar.csrf(home.body) } });
    assert.equal(out.res.status, 303);
    assert.equal(jar.cookies.has('provena_key'), false);
    assert.doesNotMatch((await jar.request('/')).body, /Signed in/);
  });

  it('refuses a form without the session\'s CSRF token or from another origin, and changes nothing', async () => {
    const jar = await signedIn();
    const settings = await jar.request('/channels/open/settings');
    assert.equal(settings.res.status, 200);
    const token = Jar.csrf(settings.body);
    const other = await signedIn();
    const otherToken = Jar.csrf((await other.request('/channels/open/settings')).body);
    const attempts: [string, RequestInit & { form?: Record<string, string> }][] = [
      ['no token', { method: 'POST', form: { private: 'true' } }],
      ['wrong token', { method: 'POST', form: { private: 'true', _csrf: 'A'.repeat(43) } }],
      ['another session\'s token', { method: 'POST', form: { private: 'true', _csrf: otherToken } }],
      ['another origin', { method: 'POST', form: { private: 'true', _csrf: token }, headers: { origin: 'http://evil.example' } }],
      ['a cross-site fetch', { method: 'POST', form: { private: 'true', _csrf: token }, headers: { 'sec-fetch-site': 'cross-site' } }],
      ['a JSON body', { method: 'POST', body: JSON.stringify({ private: true, _csrf: 'x' }), headers: { 'content-type': 'application/json' } }],
    ];
    for (const [what, init] of attempts) {
      const res = await jar.request('/channels/open/settings/visibility', init);
      assert.equal(res.res.status, 403, what);
      assert.match(res.body, /Form refused/, what);
      assert.equal((await api(server, 'GET', '/api/v1/channels/open')).json.private, false, `${what}: nothing changed`);
    }
    // without the session cookie, a token alone is worthless too
    const bare = new Jar(server.url);
    bare.cookies.set('provena_key', jar.cookies.get('provena_key')!);
    assert.equal((await bare.request('/channels/open/settings/visibility', { method: 'POST', form: { private: 'true', _csrf: token } })).res.status, 403);
    // the real form works
    const ok = await jar.request('/channels/open/settings/visibility', { method: 'POST', form: { private: 'true', _csrf: token }, headers: { origin: server.url } });
    assert.equal(ok.res.status, 303);
    assert.equal(ok.res.headers.get('location'), '/channels/open/settings?done=private#visibility');
    assert.equal((await api(server, 'GET', '/api/v1/channels/open')).json.private, true);
    await jar.request('/channels/open/settings/visibility', { method: 'POST', form: { private: 'false', _csrf: token } });
    assert.equal((await api(server, 'GET', '/api/v1/channels/open')).json.private, false);
    // sign-in itself needs the token (no login CSRF)
    assert.equal((await new Jar(server.url).request('/signin', { method: 'POST', form: { token: adminKey } })).res.status, 403);
  });

  it('only sends people back to local pages after sign-in', async () => {
    for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example', 'javascript:alert(1)', '/%0d%0aSet-Cookie:x=1']) {
      const jar = new Jar(server.url);
      const page = await jar.request('/signin');
      const res = await jar.request('/signin', { method: 'POST', form: { _csrf: Jar.csrf(page.body), token: adminKey, next } });
      const location = res.res.headers.get('location')!;
      assert.ok(location === '/' || (location.startsWith('/') && !location.startsWith('//')), `${next} → ${location}`);
      assert.doesNotMatch(location, /evil|javascript/);
    }
  });

  it('keeps private channels out of sight, and cookies out of the JSON API and conda URLs', async () => {
    const missing = await fetch(`${server.url}/channels/absent`);
    const hidden = await fetch(`${server.url}/channels/covert`);
    assert.equal(hidden.status, 404);
    // the same page as for a channel that does not exist, but for the name asked for
    assert.equal((await hidden.text()).replaceAll('covert', 'X'), (await missing.text()).replaceAll('absent', 'X'));
    for (const path of ['/', '/log', '/channels/open']) {
      assert.doesNotMatch(await (await fetch(server.url + path)).text(), /covert|hush/, path);
    }
    assert.equal((await fetch(`${server.url}/channels/covert/files/noarch/hush-1.0-0.conda`)).status, 404);

    const reader = (await api(server, 'POST', '/api/v1/keys', { channel: 'covert', scope: 'read' })).json.secret;
    const jar = await signedIn(reader);
    assert.match((await jar.request('/')).body, /href="\/channels\/covert"/);
    assert.equal((await jar.request('/channels/covert/files/noarch/hush-1.0-0.conda')).res.status, 200);
    // the sign-in cookie means nothing to the API or to conda URLs: they take bearer tokens only
    const cookie = { cookie: jar.header() };
    const listed = (await (await fetch(`${server.url}/api/v1/channels`, { headers: cookie })).json()) as { channels: { name: string }[] };
    assert.equal(listed.channels.some((c) => c.name === 'covert'), false);
    assert.equal((await fetch(`${server.url}/covert/noarch/repodata.json`, { headers: cookie })).status, 404);
  });

  it('leaves conda URLs, the log endpoints and the API where they were', async () => {
    const repodata = await fetch(`${server.url}/open/noarch/repodata.json`);
    assert.equal(repodata.status, 200);
    assert.ok(((await repodata.json()) as any)['packages.conda']['pkg-1.0-0.conda']);
    assert.equal((await fetch(`${server.url}/open/notices.json`)).status, 200);
    assert.equal((await fetch(`${server.url}/open/noarch/pkg-1.0-0.conda`)).status, 200);
    assert.equal((await fetch(`${server.url}/log/checkpoint`)).headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal((await fetch(`${server.url}/log/key`)).status, 200);
    assert.equal((await api(server, 'GET', '/api/v1/log/entries/0')).status, 200);
    assert.equal((await api(server, 'GET', '/api/v1/channels/open', undefined, ADMIN_TOKEN)).status, 200);
    // a package page is cheap once the channel is in memory: it says how long it took
    const res = await fetch(`${server.url}/channels/open/packages/pkg`);
    assert.equal(res.status, 200);
    assert.ok(Number(/dur=([\d.]+)/.exec(res.headers.get('server-timing')!)![1]) < 1000);
    assert.equal((await fetch(`${server.url}/channels/open/packages/nope`)).status, 404);
    assert.equal((await fetch(`${server.url}/log/entries/999999`)).status, 404);
    assert.equal((await fetch(`${server.url}/log/entries/-1`)).status, 400);
  });
});
