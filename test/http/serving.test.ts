import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KNOWN_SUBDIRS } from '../../src/core/conda/platforms.ts';
import { zstdDecompress } from '../../src/core/repodata/zstd.ts';
import { api, PACKAGES_DIR, startServer, type RunningServer } from '../support/server.ts';
import { sha256Hex, uploadRaw } from '../support/upload.ts';

const ZLIB = 'zlib-1.2.11-h7b6447c_3.conda';
const zlibBytes = fs.readFileSync(path.join(PACKAGES_DIR, ZLIB));

describe('serving a channel to conda clients', () => {
  let server: RunningServer;
  let readKey: string;
  before(async () => {
    server = await startServer();
    await api(server, 'POST', '/api/v1/channels', { name: 'pub' });
    await api(server, 'POST', '/api/v1/channels', { name: 'secret', private: true });
    await api(server, 'POST', '/api/v1/channels', { name: 'fresh' });
    assert.equal((await uploadRaw(server, 'pub', ZLIB, zlibBytes, { token: 'test-admin-token-0123456789abcdef' })).status, 201);
    assert.equal((await uploadRaw(server, 'secret', ZLIB, zlibBytes, { token: 'test-admin-token-0123456789abcdef' })).status, 201);
    readKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'secret', scope: 'read' })).json.secret;
  });
  after(async () => {
    await server.stop();
  });

  it('serves a package with a strong ETag, Cache-Control and Content-Length, and 304 on If-None-Match', async () => {
    const res = await fetch(`${server.url}/pub/linux-64/${ZLIB}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), `"${sha256Hex(zlibBytes)}"`);
    assert.match(res.headers.get('cache-control')!, /max-age=\d+/);
    assert.equal(res.headers.get('content-length'), String(zlibBytes.length));
    assert.equal(res.headers.get('accept-ranges'), 'bytes');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(zlibBytes));
    const cached = await fetch(`${server.url}/pub/linux-64/${ZLIB}`, { headers: { 'if-none-match': res.headers.get('etag')! } });
    assert.equal(cached.status, 304);
    assert.equal((await cached.arrayBuffer()).byteLength, 0);
    const stale = await fetch(`${server.url}/pub/linux-64/${ZLIB}`, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(stale.status, 200);
  });

  it('answers Range requests with 206, suffix ranges too, and 416 past the end', async () => {
    const tail = await fetch(`${server.url}/pub/linux-64/${ZLIB}`, { headers: { range: 'bytes=-10240' } });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get('content-range'), `bytes ${zlibBytes.length - 10240}-${zlibBytes.length - 1}/${zlibBytes.length}`);
    assert.ok(Buffer.from(await tail.arrayBuffer()).equals(zlibBytes.subarray(zlibBytes.length - 10240)));
    const mid = await fetch(`${server.url}/pub/linux-64/${ZLIB}`, { headers: { range: 'bytes=100-199' } });
    assert.equal(mid.status, 206);
    assert.ok(Buffer.from(await mid.arrayBuffer()).equals(zlibBytes.subarray(100, 200)));
    const open = await fetch(`${server.url}/pub/linux-64/${ZLIB}`, { headers: { range: `bytes=${zlibBytes.length - 5}-` } });
    assert.equal((await open.arrayBuffer()).byteLength, 5);
    const past = await fetch(`${server.url}/pub/linux-64/${ZLIB}`, { headers: { range: `bytes=${zlibBytes.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${zlibBytes.length}`);
    const ifRangeStale = await fetch(`${server.url}/pub/linux-64/${ZLIB}`, { headers: { range: 'bytes=0-9', 'if-range': '"old"' } });
    assert.equal(ifRangeStale.status, 200, 'If-Range with another validator sends the whole file');
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await fetch(`${server.url}/pub/linux-64/${ZLIB}`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), String(zlibBytes.length));
    assert.equal((await res.arrayBuffer()).byteLength, 0);
    const rd = await fetch(`${server.url}/pub/linux-64/repodata.json.zst`, { method: 'HEAD' });
    assert.equal(rd.status, 200);
  });

  it('revalidates repodata.json and its .zst with ETag → 304, and the .zst decodes to the JSON', async () => {
    const json = await fetch(`${server.url}/pub/linux-64/repodata.json`);
    const etag = json.headers.get('etag')!;
    assert.ok(etag);
    assert.match(json.headers.get('cache-control')!, /max-age=\d+/);
    const text = Buffer.from(await json.arrayBuffer());
    assert.equal((await fetch(`${server.url}/pub/linux-64/repodata.json`, { headers: { 'if-none-match': etag } })).status, 304);
    const zst = await fetch(`${server.url}/pub/linux-64/repodata.json.zst`);
    assert.equal(zst.status, 200);
    assert.ok(zstdDecompress(Buffer.from(await zst.arrayBuffer()), 1 << 26).equals(text));
    const current = await (await fetch(`${server.url}/pub/linux-64/current_repodata.json`)).json() as any;
    assert.ok(current['packages.conda'][ZLIB]);
  });

  it('answers valid empty repodata for every known subdir of a new channel, and 404 for unknown subdirs', async () => {
    for (const subdir of KNOWN_SUBDIRS) {
      const res = await fetch(`${server.url}/fresh/${subdir}/repodata.json`);
      assert.equal(res.status, 200, subdir);
      const rd = (await res.json()) as any;
      assert.equal(rd.info.subdir, subdir);
      assert.deepEqual([rd.packages, rd['packages.conda'], rd.removed], [{}, {}, []]);
      assert.equal((await fetch(`${server.url}/fresh/${subdir}/repodata.json.zst`)).status, 200);
      assert.equal((await fetch(`${server.url}/fresh/${subdir}/current_repodata.json`)).status, 200);
    }
    const unknown = await fetch(`${server.url}/fresh/linux-65/repodata.json`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys((await unknown.json()) as object).sort(), ['detail', 'error']);
    assert.equal((await fetch(`${server.url}/no-such-channel/noarch/repodata.json`)).status, 404);
    assert.equal((await fetch(`${server.url}/fresh/noarch/not-a-package.conda`)).status, 404);
    const notices = await fetch(`${server.url}/fresh/notices.json`);
    assert.equal(notices.status, 200);
    assert.deepEqual(await notices.json(), { notices: [] });
  });

  it('hides a private channel from readers without a read key, exactly like a missing one', async () => {
    for (const url of ['/secret/noarch/repodata.json', `/secret/linux-64/${ZLIB}`, '/secret/notices.json', '/api/v1/channels/secret']) {
      const anon = await fetch(server.url + url);
      const missing = await fetch(server.url + url.replace('secret', 'nonexistent'));
      assert.equal(anon.status, 404, url);
      assert.deepEqual(
        { ...((await anon.json()) as any), detail: undefined },
        { ...((await missing.json()) as any), detail: undefined },
        'same answer as a channel that does not exist',
      );
    }
    const listed = (await api(server, 'GET', '/api/v1/channels', undefined, null)).json.channels.map((c: any) => c.name);
    assert.ok(!listed.includes('secret'));
    const bearer = await fetch(`${server.url}/secret/linux-64/${ZLIB}`, { headers: { authorization: `Bearer ${readKey}` } });
    assert.equal(bearer.status, 200);
    assert.match(bearer.headers.get('cache-control')!, /^private/);
    const tokenUrl = await fetch(`${server.url}/t/${readKey}/secret/linux-64/repodata.json`);
    assert.equal(tokenUrl.status, 200);
    assert.ok(((await tokenUrl.json()) as any)['packages.conda'][ZLIB]);
    assert.equal((await fetch(`${server.url}/t/${readKey}/secret/linux-64/${ZLIB}`)).status, 200);
    assert.equal((await fetch(`${server.url}/t/pvn_wrong/secret/linux-64/repodata.json`)).status, 401);
    // a public channel is readable with any valid key, and a private one is not readable with another channel's key
    const pubKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'pub', scope: 'read' })).json.secret;
    assert.equal((await fetch(`${server.url}/t/${pubKey}/secret/linux-64/repodata.json`)).status, 404);
    assert.equal((await fetch(`${server.url}/t/${pubKey}/pub/linux-64/repodata.json`)).status, 200);
  });

  it('answers a revalidation only where a full request would succeed', async () => {
    const url = `${server.url}/secret/linux-64/repodata.json`;
    const withKey = await fetch(url, { headers: { authorization: `Bearer ${readKey}` } });
    const etag = withKey.headers.get('etag')!;
    assert.equal((await fetch(url, { headers: { authorization: `Bearer ${readKey}`, 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${server.url}/t/${readKey}/secret/linux-64/repodata.json`, { headers: { 'if-none-match': etag } })).status, 304);
    // the right validator without access still learns nothing: 404, as for a missing channel
    assert.equal((await fetch(url, { headers: { 'if-none-match': etag } })).status, 404);
    assert.equal((await fetch(url, { method: 'HEAD', headers: { 'if-none-match': etag } })).status, 404);
    // public: 304 with the caching headers, for GET and HEAD; a stale validator gets the file
    const pub = `${server.url}/pub/linux-64/current_repodata.json`;
    const full = await fetch(pub);
    const fresh = await fetch(pub, { headers: { 'if-none-match': full.headers.get('etag')! } });
    assert.equal(fresh.status, 304);
    assert.equal(fresh.headers.get('cache-control'), full.headers.get('cache-control'));
    assert.equal(fresh.headers.get('etag'), full.headers.get('etag'));
    assert.equal((await fetch(pub, { method: 'HEAD', headers: { 'if-none-match': full.headers.get('etag')! } })).status, 304);
    assert.equal((await fetch(pub, { headers: { 'if-none-match': '"stale"' } })).status, 200);
    assert.equal((await fetch(`${server.url}/pub/linux-64/repodata.json?x=1`, { headers: { 'if-none-match': full.headers.get('etag')! } })).status, 200);
  });

  it('makes a channel private and public again', async () => {
    const before = await fetch(`${server.url}/pub/noarch/repodata.json`);
    const etag = before.headers.get('etag')!;
    assert.equal((await fetch(`${server.url}/pub/noarch/repodata.json`, { headers: { 'if-none-match': etag } })).status, 304);
    await api(server, 'PATCH', '/api/v1/channels/pub', { private: true });
    assert.equal((await fetch(`${server.url}/pub/noarch/repodata.json`, { headers: { 'if-none-match': etag } })).status, 404, 'privacy applies at once, also to revalidations');
    await api(server, 'PATCH', '/api/v1/channels/pub', { private: false });
    await api(server, 'PATCH', '/api/v1/channels/fresh', { private: true });
    assert.equal((await fetch(`${server.url}/fresh/noarch/repodata.json`)).status, 404);
    await api(server, 'PATCH', '/api/v1/channels/fresh', { private: false });
    assert.equal((await fetch(`${server.url}/fresh/noarch/repodata.json`)).status, 200);
  });
});
