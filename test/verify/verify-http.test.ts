import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Http, redact, serverOf } from '../../src/adapters/cli/verify-http.ts';
import { isProvenaError } from '../../src/core/errors.ts';

/** How verify reads channels over HTTP: bounded bodies, status codes to exit codes, one retry for stale connections. */
describe('verify over HTTP', () => {
  let url = '';
  const hits = new Map<string, number>();
  let lastAuth: string | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const p = req.url ?? '/';
    hits.set(p, (hits.get(p) ?? 0) + 1);
    lastAuth = req.headers.authorization;
    if (p === '/flaky' && hits.get(p) === 1) return void req.socket.destroy(); // a connection closed under the client
    if (p === '/dead') return void req.socket.destroy();
    if (p === '/big') return void res.writeHead(200).end(Buffer.alloc(2048));
    if (p === '/forbidden') return void res.writeHead(403).end();
    if (p === '/broken') return void res.writeHead(500).end();
    if (p === '/missing') return void res.writeHead(404).end();
    res.writeHead(200).end('ok');
  });
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => {
    server.closeAllConnections();
    server.close(() => r());
  }));

  const fails = async (p: Promise<unknown>, code: string, kind: string) => {
    let caught: unknown;
    try {
      await p;
    } catch (e) {
      caught = e;
    }
    assert.ok(isProvenaError(caught), `expected ${code}`);
    assert.equal(caught.code, code);
    assert.equal(caught.kind, kind);
    return caught;
  };

  it('retries a GET whose connection the server closed, and gives up after three attempts (unavailable)', async () => {
    assert.equal(Buffer.from((await new Http().get(`${url}/flaky`, 100))!).toString(), 'ok');
    assert.equal(hits.get('/flaky'), 2);
    await fails(new Http().get(`${url}/dead`, 100), 'network_error', 'unavailable');
    assert.equal(hits.get('/dead'), 3);
  });

  it('maps statuses: 404 → nothing, 403 → access denied, 5xx → unavailable; refuses bodies over the bound', async () => {
    const http = new Http();
    assert.equal(await http.get(`${url}/missing`, 100), null);
    await fails(http.get(`${url}/forbidden`, 100), 'access_denied', 'forbidden');
    await fails(http.get(`${url}/broken`, 100), 'network_error', 'unavailable');
    await fails(http.get(`${url}/big`, 1024), 'response_too_large', 'unprocessable');
    await fails(http.get('http://127.0.0.1:1/x', 100), 'network_error', 'unavailable');
  });

  it('sends credentials of the URL as Basic authentication, and never shows them (nor a conda token) in messages', async () => {
    const withUser = url.replace('http://', 'http://alice:s3cret@');
    await new Http().get(`${withUser}/ok`, 100);
    assert.equal(lastAuth, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
    assert.equal(redact('https://alice:s3cret@h.example/t/tok-123/acme/linux-64/x.conda'), 'https://h.example/t/***/acme/linux-64/x.conda');
  });

  it('finds the log of a channel at the server root, past a conda token', () => {
    assert.equal(serverOf('https://conda.example.org/acme'), 'https://conda.example.org');
    assert.equal(serverOf('https://conda.example.org/t/tok/acme/'), 'https://conda.example.org');
    assert.equal(serverOf('https://example.org/prefix/acme'), 'https://example.org/prefix');
  });
});
