import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startServer, type RunningServer } from '../support/server.ts';

describe('channels and API keys over HTTP', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  it('creates, lists, reads and deletes a channel', async () => {
    const created = await api(server, 'POST', '/api/v1/channels', { name: 'alpha' });
    assert.equal(created.status, 201);
    assert.deepEqual(
      { name: created.json.name, private: created.json.private, url: created.json.url },
      { name: 'alpha', private: false, url: `${server.url}/alpha` },
    );
    const list = await api(server, 'GET', '/api/v1/channels');
    assert.ok(list.json.channels.some((c: any) => c.name === 'alpha'));
    assert.equal((await api(server, 'GET', '/api/v1/channels/alpha')).json.package_count, 0);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'alpha' })).status, 409);
    assert.equal((await api(server, 'DELETE', '/api/v1/channels/alpha')).status, 204);
    assert.equal((await api(server, 'GET', '/api/v1/channels/alpha')).status, 404);
    assert.equal((await api(server, 'DELETE', '/api/v1/channels/alpha')).status, 404);
  });

  it('refuses channel names that are not lowercase conda-style names, with 422 and the reason', async () => {
    for (const name of ['Upper', 'has/slash', '..', 'a..b', '', 'with space', 'nul\u0000x', '-lead', 'x'.repeat(65), 'api', 't']) {
      const res = await api(server, 'POST', '/api/v1/channels', { name });
      assert.equal(res.status, 422, `name ${JSON.stringify(name)}`);
      assert.equal(res.json.error, 'invalid_channel_name');
      assert.match(res.json.detail, /name|reserved/);
    }
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 42 })).status, 422);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'ok-name', private: 'yes' })).status, 422);
  });

  it('needs the admin token to create or delete channels', async () => {
    const anon = await api(server, 'POST', '/api/v1/channels', { name: 'nope' }, null);
    assert.equal(anon.status, 401);
    assert.equal(anon.json.error, 'token_required');
    const bad = await api(server, 'POST', '/api/v1/channels', { name: 'nope' }, 'not-a-real-token');
    assert.equal(bad.status, 401);
    assert.equal(bad.json.error, 'unknown_token');
    await api(server, 'POST', '/api/v1/channels', { name: 'owned' });
    const key = await api(server, 'POST', '/api/v1/keys', { channel: 'owned', scope: 'admin' });
    const withChannelAdmin = await api(server, 'POST', '/api/v1/channels', { name: 'nope' }, key.json.secret);
    assert.equal(withChannelAdmin.status, 403);
    assert.equal(withChannelAdmin.json.error, 'admin_required');
    assert.equal((await api(server, 'DELETE', '/api/v1/channels/owned', undefined, key.json.secret)).status, 403);
  });

  it('creates keys shown once and stored hashed, lists and revokes them', async () => {
    await api(server, 'POST', '/api/v1/channels', { name: 'keyed' });
    const created = await api(server, 'POST', '/api/v1/keys', { channel: 'keyed', scope: 'upload', expires_days: 30 });
    assert.equal(created.status, 201);
    assert.match(created.json.secret, /^pvn_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.json.scope, 'upload');
    const in30 = Date.now() + 30 * 86_400_000;
    assert.ok(Math.abs(Date.parse(created.json.expires_at) - in30) < 60_000);
    const list = await api(server, 'GET', '/api/v1/keys?channel=keyed');
    const listed = list.json.keys.find((k: any) => k.id === created.json.id);
    assert.ok(listed);
    assert.equal(listed.secret, undefined, 'the secret is never shown again');
    // the database holds a hash, not the secret
    const { readFileSync } = await import('node:fs');
    const db = readFileSync(`${server.dataDir}/provena.sqlite`);
    assert.equal(db.includes(Buffer.from(created.json.secret)), false);

    assert.equal((await api(server, 'DELETE', `/api/v1/keys/${created.json.id}`)).status, 200);
    const after = await api(server, 'GET', '/api/v1/channels', undefined, created.json.secret);
    assert.equal(after.status, 401);
    assert.equal(after.json.error, 'token_revoked');
  });

  it('refuses bad key requests, each with its reason', async () => {
    await api(server, 'POST', '/api/v1/channels', { name: 'kbad' });
    const cases: [unknown, number, string][] = [
      [{ channel: 'kbad', scope: 'write' }, 422, 'invalid_scope'],
      [{ channel: 'kbad' }, 422, 'invalid_scope'],
      [{ scope: 'read' }, 422, 'invalid_field'],
      [{ channel: 'kbad', scope: 'read', expires_days: 0 }, 422, 'invalid_expiry'],
      [{ channel: 'kbad', scope: 'read', expires_days: 1.5 }, 422, 'invalid_expiry'],
      [{ channel: 'missing-channel', scope: 'read' }, 404, 'channel_not_found'],
    ];
    for (const [body, status, code] of cases) {
      const res = await api(server, 'POST', '/api/v1/keys', body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.json.error, code, JSON.stringify(body));
    }
  });

  it('keeps a key for channel A away from channel B', async () => {
    await api(server, 'POST', '/api/v1/channels', { name: 'chan-a' });
    await api(server, 'POST', '/api/v1/channels', { name: 'chan-b', private: true });
    const adminA = (await api(server, 'POST', '/api/v1/keys', { channel: 'chan-a', scope: 'admin' })).json.secret;
    // cannot mint keys for B, cannot see B exists, cannot change B
    const mint = await api(server, 'POST', '/api/v1/keys', { channel: 'chan-b', scope: 'read' }, adminA);
    assert.equal(mint.status, 404);
    assert.equal((await api(server, 'GET', '/api/v1/channels/chan-b', undefined, adminA)).status, 404);
    assert.equal((await api(server, 'PATCH', '/api/v1/channels/chan-b', { private: false }, adminA)).status, 404);
    const visible = (await api(server, 'GET', '/api/v1/channels', undefined, adminA)).json.channels.map((c: any) => c.name);
    assert.ok(visible.includes('chan-a'));
    assert.ok(!visible.includes('chan-b'));
    // a channel admin can mint and list keys for its own channel only
    const own = await api(server, 'POST', '/api/v1/keys', { channel: 'chan-a', scope: 'upload' }, adminA);
    assert.equal(own.status, 201);
    const keys = (await api(server, 'GET', '/api/v1/keys', undefined, adminA)).json.keys;
    assert.ok(keys.every((k: any) => k.channel === 'chan-a'));
    // and an upload key cannot mint keys at all
    const upload = own.json.secret;
    const up = await api(server, 'POST', '/api/v1/keys', { channel: 'chan-a', scope: 'read' }, upload);
    assert.equal(up.status, 403);
    assert.equal(up.json.error, 'scope_insufficient');
  });
});
