// `provena admin-token rotate` against a running server whose token lives in DATA/admin-token: the
// new token is written 0600 and printed once, the server switches to it (file change, or SIGHUP at
// once), the old token is refused from then on; a configured token is not rotated behind its back.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, startServer, type RunningServer } from '../support/server.ts';
import { provena } from '../support/cli.ts';

/** Polls until the server answers `status` to the token (the file watch polls once a second). */
async function until(server: RunningServer, token: string, status: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await api(server, 'POST', '/api/v1/channels', { name: `c${Math.random().toString(36).slice(2, 8)}` }, token);
    if (res.status === status) return;
    if (Date.now() > deadline) throw new Error(`the server still answers ${res.status} to the token, expected ${status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('provena admin-token rotate', () => {
  let server: RunningServer;
  let first: string;
  before(async () => {
    server = await startServer({ tokenFromDataDir: true });
    first = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
    assert.match(server.output(), /generated an admin token/);
  });
  after(async () => {
    await server?.stop();
  });

  it('replaces the token; the running server refuses the old one and accepts the new', async () => {
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'before' }, first)).status, 201);
    const res = await provena(['admin-token', 'rotate', '--data', server.dataDir]);
    assert.equal(res.code, 0, res.stderr);
    const file = path.join(server.dataDir, 'admin-token');
    const second = fs.readFileSync(file, 'utf8').trim();
    assert.notEqual(second, first);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(res.stdout.includes(second), 'printed once');
    await until(server, second, 201);
    const old = await api(server, 'POST', '/api/v1/channels', { name: 'withold' }, first);
    assert.equal(old.status, 401);
    assert.equal(old.json.error, 'unknown_token');

    // SIGHUP applies a rotation at once (no waiting for the poll)
    const again = await provena(['admin-token', 'rotate', '--data', server.dataDir]);
    assert.equal(again.code, 0);
    const third = fs.readFileSync(file, 'utf8').trim();
    server.process.kill('SIGHUP');
    await until(server, third, 201);
    assert.equal((await api(server, 'GET', '/api/v1/keys', undefined, second)).status, 401);
    assert.match(server.output(), /admin token replaced/);
  });

  it('keeps the current token when the file is emptied or unreadable', async () => {
    const file = path.join(server.dataDir, 'admin-token');
    const current = fs.readFileSync(file, 'utf8').trim();
    fs.writeFileSync(file, '');
    server.process.kill('SIGHUP');
    await until(server, current, 201);
    fs.writeFileSync(file, `${current}\n`);
  });

  it('refuses to rotate a token set by configuration, or without a data directory token', async () => {
    const configured = await provena(['admin-token', 'rotate', '--data', server.dataDir], { PROVENA_ADMIN_TOKEN: 'a-configured-token-0123456789' });
    assert.equal(configured.code, 2);
    assert.match(configured.stderr, /set by configuration/);
    const empty = fs.mkdtempSync(path.join(server.dataDir, '..', 'empty-'));
    const none = await provena(['admin-token', 'rotate', '--data', empty]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /has no admin-token/);
    assert.deepEqual(fs.readdirSync(empty), []);
  });
});

describe('the generated admin token', () => {
  it('refuses to start on an admin-token file that holds no usable token, in one line, and leaves the file as it was', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-token-'));
    try {
      fs.writeFileSync(path.join(dataDir, 'admin-token'), 'short\n', { mode: 0o600 });
      const res = await provena(['serve', '--data', dataDir, '--port', '0']);
      assert.equal(res.code, 2);
      assert.match(res.stderr, /admin-token holds no usable admin token; remove it/);
      assert.equal(res.stderr.trim().split('\n').length, 1);
      assert.equal(fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8'), 'short\n');
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
