import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { provena } from '../support/cli.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { sha256Hex, uploadMultipart, uploadRaw } from '../support/upload.ts';

const SERVER_MAX = 400_000;

/** A package of about `size` bytes that compression cannot shrink. */
async function packageOfSize(name: string, size: number) {
  const spec = { name, version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const, files: { 'share/noise.bin': randomBytes(size) } };
  return { filename: packageFilename(spec), bytes: await makePackage(spec) };
}

async function nothingLeft(server: RunningServer, channel: string, filename: string) {
  const listed = await api(server, 'GET', `/api/v1/channels/${channel}/packages?filename=${filename}`);
  assert.deepEqual(listed.json.packages, []);
  assert.deepEqual(fs.readdirSync(path.join(server.dataDir, 'tmp')), [], 'no spool file is left');
}

describe('maximum package size per channel', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ env: { PROVENA_MAX_PACKAGE_SIZE: String(SERVER_MAX) } });
    for (const name of ['small', 'big', 'plain']) assert.equal((await api(server, 'POST', '/api/v1/channels', { name })).status, 201);
  });
  after(async () => {
    await server.stop();
  });

  it('is set with PATCH, shown in the channel JSON, and refuses values that are not byte counts', async () => {
    assert.equal((await api(server, 'GET', '/api/v1/channels/plain')).json.max_package_size, null);
    const set = await api(server, 'PATCH', '/api/v1/channels/small', { max_package_size: 20_000 });
    assert.equal(set.status, 200);
    assert.equal(set.json.max_package_size, 20_000);
    assert.equal((await api(server, 'GET', '/api/v1/channels/small')).json.max_package_size, 20_000);
    for (const bad of [0, -5, 1.5, '20000', true]) {
      const res = await api(server, 'PATCH', '/api/v1/channels/plain', { max_package_size: bad });
      assert.equal(res.status, 422, `${JSON.stringify(bad)}: ${JSON.stringify(res.json)}`);
      assert.equal(res.json.error, 'invalid_field');
    }
    const anonymous = await api(server, 'PATCH', '/api/v1/channels/plain', { max_package_size: 10 }, null);
    assert.equal(anonymous.status, 401);
    assert.equal((await api(server, 'GET', '/api/v1/channels/plain')).json.max_package_size, null);
  });

  it('refuses a larger upload with 413 naming the channel limit, leaving nothing; the same file goes to another channel', async () => {
    const pkg = await packageOfSize('toobig', 60_000);
    for (const send of [uploadRaw, uploadMultipart]) {
      const res = await send(server, 'small', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN });
      assert.equal(res.status, 413, JSON.stringify(res.json));
      assert.equal(res.json.error, 'package_too_large');
      assert.match(res.json.detail, /20000-byte limit for packages in channel small/);
      await nothingLeft(server, 'small', pkg.filename);
    }
    assert.equal((await uploadRaw(server, 'plain', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN })).status, 201);
    const fits = await packageOfSize('fits', 2_000);
    assert.equal((await uploadRaw(server, 'small', fits.filename, fits.bytes, { token: ADMIN_TOKEN })).status, 201);
  });

  it('answers 413 while the body is still streaming (no Content-Length), before the client finishes', async () => {
    const pkg = await packageOfSize('streamed', 200_000);
    const url = new URL(`${server.url}/api/v1/upload/small`);
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream', 'x-file-name': pkg.filename, 'x-file-sha256': sha256Hex(pkg.bytes) },
    });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
    });
    req.write(pkg.bytes.subarray(0, 100_000)); // more than the channel allows; the rest is never sent
    const res = await answer;
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).error, 'package_too_large');
    req.destroy();
    await nothingLeft(server, 'small', pkg.filename);
  });

  it("keeps the server's max_package_size when a channel allows more", async () => {
    assert.equal((await api(server, 'PATCH', '/api/v1/channels/big', { max_package_size: 10 * SERVER_MAX })).status, 200);
    const pkg = await packageOfSize('huge', SERVER_MAX + 10_000);
    const res = await uploadRaw(server, 'big', pkg.filename, pkg.bytes, { token: ADMIN_TOKEN });
    assert.equal(res.status, 413);
    assert.match(res.json.detail, new RegExp(`${SERVER_MAX}-byte limit for packages on this server`));
    await nothingLeft(server, 'big', pkg.filename);
  });

  it('`provena channel update NAME --max-package-size` sets, shows and clears the limit', async () => {
    const env = { PROVENA_SERVER: server.url, PROVENA_TOKEN: ADMIN_TOKEN };
    const set = await provena(['channel', 'update', 'plain', '--max-package-size', '100M'], env);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /packages up to 104857600 bytes/);
    assert.equal((await api(server, 'GET', '/api/v1/channels/plain')).json.max_package_size, 100 * 1024 * 1024);
    const cleared = await provena(['channel', 'update', 'plain', '--max-package-size', 'none', '--json'], env);
    assert.equal(cleared.code, 0, cleared.stderr);
    assert.equal(JSON.parse(cleared.stdout).max_package_size, null);
    const bad = await provena(['channel', 'update', 'plain', '--max-package-size', 'lots'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-package-size "lots": give a size such as 100M/);
  });
});
