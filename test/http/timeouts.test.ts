import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { sha256Hex } from '../support/upload.ts';

/** A raw connection that records what the server sends and when it closes. */
function connect(server: RunningServer) {
  const url = new URL(server.url);
  const socket = net.connect(Number(url.port), url.hostname);
  let received = '';
  socket.on('data', (d) => (received += d));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const ready = new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  return { socket, closed, ready, received: () => received };
}

/** Sends `line` every `ms` until the connection closes; returns how many were sent. */
function trickle(socket: net.Socket, line: () => string, ms: number): () => number {
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(line());
    sent++;
  }, ms);
  socket.on('close', () => clearInterval(timer));
  return () => sent;
}

async function waitUntil(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const spoolOf = (server: RunningServer) => fs.readdirSync(path.join(server.dataDir, 'tmp'));

describe('timeouts for slow clients', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      env: {
        PROVENA_HEADER_TIMEOUT_SECONDS: '1',
        PROVENA_REQUEST_TIMEOUT_SECONDS: '1',
        PROVENA_UPLOAD_IDLE_TIMEOUT_SECONDS: '3',
      },
    });
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'slow' })).status, 201);
  });
  after(async () => {
    await server.stop();
  });

  it('cuts off a client trickling its headers, while serving others meanwhile', async () => {
    const c = connect(server);
    await c.ready;
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: slow\r\n');
    let n = 0;
    const sent = trickle(c.socket, () => `X-Slow-${n++}: a\r\n`, 200);
    // another client is served while the slow one holds its connection
    assert.equal((await api(server, 'GET', '/healthz', undefined, null)).status, 200);
    await c.closed;
    assert.match(c.received(), /^HTTP\/1\.1 408/);
    assert.ok(sent() >= 1, 'the headers were still trickling when the server closed');
  });

  it('cuts off a non-upload request whose body stalls', async () => {
    const c = connect(server);
    await c.ready;
    c.socket.write(
      `POST /api/v1/channels HTTP/1.1\r\nHost: slow\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`,
    );
    assert.equal((await api(server, 'GET', '/api/v1/channels')).status, 200);
    await c.closed;
    assert.equal((await api(server, 'GET', '/api/v1/channels')).json.channels.length, 1, 'nothing was created');
    await waitUntil('the server logs why', () => server.output().includes('request body not received in time'));
  });

  it('cuts off an upload whose body stops, removing its spool file; nothing is stored', async () => {
    const spec = { name: 'stalled', version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
    const bytes = await makePackage(spec);
    const c = connect(server);
    await c.ready;
    c.socket.write(
      `POST /api/v1/upload/slow HTTP/1.1\r\nHost: slow\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n` +
        `Content-Type: application/octet-stream\r\nX-File-Name: ${packageFilename(spec)}\r\nX-File-SHA256: ${sha256Hex(bytes)}\r\n` +
        `Content-Length: ${bytes.length}\r\n\r\n`,
    );
    c.socket.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
    await waitUntil('the upload is spooling', () => spoolOf(server).length === 1);
    assert.equal((await api(server, 'GET', '/healthz', undefined, null)).status, 200, 'others are served meanwhile');
    await c.closed;
    await waitUntil('the spool file is removed', () => spoolOf(server).length === 0);
    const listed = await api(server, 'GET', '/api/v1/channels/slow/packages');
    assert.deepEqual(listed.json.packages, []);
    assert.match(server.output(), /upload body stalled/);
  });

  it('lets a slow upload that keeps sending finish, past the whole-request timeout of other requests', async () => {
    const spec = { name: 'steady', version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
    const bytes = await makePackage(spec);
    const c = connect(server);
    await c.ready;
    c.socket.write(
      `POST /api/v1/upload/slow HTTP/1.1\r\nHost: slow\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nConnection: close\r\n` +
        `Content-Type: application/octet-stream\r\nX-File-Name: ${packageFilename(spec)}\r\nX-File-SHA256: ${sha256Hex(bytes)}\r\n` +
        `Content-Length: ${bytes.length}\r\n\r\n`,
    );
    // ten pieces, 250 ms apart: longer in total than request_timeout (1 s), never idle for upload_idle_timeout (3 s)
    const pieces = 10;
    const size = Math.ceil(bytes.length / pieces);
    for (let i = 0; i < pieces; i++) {
      c.socket.write(bytes.subarray(i * size, (i + 1) * size));
      await new Promise((r) => setTimeout(r, 250));
    }
    await c.closed;
    assert.match(c.received(), /^HTTP\/1\.1 201/, c.received().slice(0, 300));
  });
});
