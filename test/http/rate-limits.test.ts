import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { sha256Hex } from '../support/upload.ts';
import { parseExposition } from './prometheus-text.ts';

const UPLOADS_PER_MINUTE = 3;
// before() makes 2 keys and the per-address upload test UPLOADS_PER_MINUTE + 1 more with the admin
// token: exactly its minute's worth, so the next key creation is the first refused
const AUTH_PER_MINUTE = 2 + UPLOADS_PER_MINUTE + 1;

let serial = 0;
async function freshPackage() {
  const spec = { name: `rl${serial++}`, version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
  return { filename: packageFilename(spec), bytes: await makePackage(spec) };
}

async function upload(server: RunningServer, channel: string, token: string, ip: string) {
  const { filename, bytes } = await freshPackage();
  const res = await fetch(`${server.url}/api/v1/upload/${channel}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/octet-stream',
      'x-file-name': filename,
      'x-file-sha256': sha256Hex(bytes),
      'x-forwarded-for': ip,
    },
    body: bytes,
  });
  return { status: res.status, json: (await res.json()) as any, retryAfter: res.headers.get('retry-after'), filename };
}

async function stored(server: RunningServer, channel: string, filename: string): Promise<boolean> {
  const res = await api(server, 'GET', `/api/v1/channels/${channel}/packages?filename=${filename}`);
  return res.json.packages.length > 0;
}

function assertRateLimited(res: { status: number; json: any; retryAfter: string | null }) {
  assert.equal(res.status, 429, JSON.stringify(res.json));
  assert.equal(res.json.error, 'rate_limited');
  assert.match(res.json.detail, /at most \d+ a minute/);
  const after = Number(res.retryAfter);
  assert.ok(Number.isInteger(after) && after >= 1 && after <= 60, `Retry-After ${res.retryAfter}`);
}

async function createKey(server: RunningServer, channel: string, ip: string): Promise<{ status: number; secret?: string; retryAfter: string | null; json: any }> {
  const res = await fetch(`${server.url}/api/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ channel, scope: 'upload' }),
  });
  const json = (await res.json()) as any;
  return { status: res.status, secret: json.secret, retryAfter: res.headers.get('retry-after'), json };
}

describe('rate limits (trust_proxy = loopback, so X-Forwarded-For names the client)', () => {
  let server: RunningServer;
  const keys: string[] = [];
  before(async () => {
    server = await startServer({
      env: {
        PROVENA_RATE_LIMIT_UPLOAD_PER_MINUTE: String(UPLOADS_PER_MINUTE),
        PROVENA_RATE_LIMIT_AUTH_PER_MINUTE: String(AUTH_PER_MINUTE),
        PROVENA_TRUST_PROXY: 'loopback',
      },
    });
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'rl' })).status, 201);
    for (let i = 0; i < 2; i++) {
      const k = await createKey(server, 'rl', `10.9.0.${i + 1}`);
      assert.equal(k.status, 201);
      keys.push(k.secret!);
    }
  });
  after(async () => {
    await server.stop();
  });

  it('limits uploads per API key, whatever address they come from; another key is still served', async () => {
    for (let i = 0; i < UPLOADS_PER_MINUTE; i++) {
      const ok = await upload(server, 'rl', keys[0]!, `10.1.0.${i + 1}`);
      assert.equal(ok.status, 201, JSON.stringify(ok.json));
    }
    const refused = await upload(server, 'rl', keys[0]!, '10.1.0.200');
    assertRateLimited(refused);
    assert.match(refused.json.detail, /credential/);
    assert.equal(await stored(server, 'rl', refused.filename), false, 'a refused upload stores nothing');
    assert.deepEqual(fs.readdirSync(path.join(server.dataDir, 'tmp')), []);
    const other = await upload(server, 'rl', keys[1]!, '10.1.0.201');
    assert.equal(other.status, 201, 'another key is served');
  });

  it('limits uploads per client address, whatever key they carry; another address is still served', async () => {
    const fresh: string[] = [];
    for (let i = 0; i < UPLOADS_PER_MINUTE + 1; i++) fresh.push((await createKeyOrNull(server, i))!);
    for (let i = 0; i < UPLOADS_PER_MINUTE; i++) {
      assert.equal((await upload(server, 'rl', fresh[i]!, '10.2.0.1')).status, 201);
    }
    const refused = await upload(server, 'rl', fresh[UPLOADS_PER_MINUTE]!, '10.2.0.1');
    assertRateLimited(refused);
    assert.match(refused.json.detail, /client address/);
    assert.equal(await stored(server, 'rl', refused.filename), false);
    assert.equal((await upload(server, 'rl', fresh[UPLOADS_PER_MINUTE]!, '10.2.0.2')).status, 201, 'another address is served');
  });

  it('limits key creation per credential (the admin token here)', async () => {
    // two keys were made in before(), and UPLOADS_PER_MINUTE + 1 in the previous test: the admin token's minute is spent
    const res = await createKey(server, 'rl', '10.3.0.1');
    assertRateLimited(res);
  });

  it('limits Trusted Publishing token exchange and web sign-in per address, before reading the body', async () => {
    for (const [path, body, type] of [
      ['/api/oidc/mint_token', JSON.stringify({ token: 'not.a.jwt' }), 'application/json'],
      ['/signin', 'token=nope', 'application/x-www-form-urlencoded'],
    ] as const) {
      const ip = path === '/signin' ? '10.4.0.2' : '10.4.0.1';
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < AUTH_PER_MINUTE + 1; i++) {
        last = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': type, 'x-forwarded-for': ip }, body });
        statuses.push(last.status);
        if (last.status !== 429) await last.arrayBuffer();
      }
      assert.ok(statuses.slice(0, AUTH_PER_MINUTE).every((s) => s !== 429), `${path}: ${statuses}`);
      assert.equal(statuses[AUTH_PER_MINUTE], 429, `${path}: ${statuses}`);
      assertRateLimited({ status: last!.status, json: await last!.json(), retryAfter: last!.headers.get('retry-after') });
      const elsewhere = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': type, 'x-forwarded-for': '10.4.0.99' }, body });
      assert.notEqual(elsewhere.status, 429, `${path}: another address is served`);
    }
  });

  it('counts each refused upload in provena_uploads_total with reason rate_limited', async () => {
    const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    // one per upload test above; the auth routes' refusals are not uploads
    assert.equal(metrics.sum('provena_uploads_total', { outcome: 'refused', reason: 'rate_limited' }), 2);
    assert.ok(metrics.sum('http_requests_total', { route: '/api/oidc/mint_token', status: '429' }) >= 1);
  });

  async function createKeyOrNull(s: RunningServer, i: number): Promise<string | null> {
    const k = await createKey(s, 'rl', `10.5.0.${i + 1}`);
    assert.equal(k.status, 201, JSON.stringify(k.json));
    return k.secret!;
  }
});

describe('rate limits without trust_proxy', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ env: { PROVENA_RATE_LIMIT_UPLOAD_PER_MINUTE: '2' } });
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'rl' })).status, 201);
  });
  after(async () => {
    await server.stop();
  });

  it('ignores X-Forwarded-For: a client cannot escape its limit by naming other addresses', async () => {
    // the admin token counts per credential too, so the address limit shows with the key limit: both 2
    assert.equal((await upload(server, 'rl', ADMIN_TOKEN, '10.6.0.1')).status, 201);
    assert.equal((await upload(server, 'rl', ADMIN_TOKEN, '10.6.0.2')).status, 201);
    const refused = await upload(server, 'rl', ADMIN_TOKEN, '10.6.0.3');
    assertRateLimited(refused);
    assert.match(refused.json.detail, /client address/, 'the socket address (127.0.0.1) was counted, not the header');
  });

  it('reads and channel listing are never limited', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await api(server, 'GET', '/api/v1/channels')).status, 200);
  });
});
