/**
 * Serves @sigstore/mock handlers over real HTTP on 127.0.0.1:0, so @sigstore/sign talks to the stack the
 * way it talks to sigstore.dev (fetch, JSON, status codes) instead of through an in-process shortcut.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HandlerFn } from '@sigstore/mock';

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  fn: HandlerFn;
}

export interface HttpService {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Routes can be added after listening: Rekor must know its own URL (checkpoint origin) first. */
  mount(route: Route): void;
  close(): Promise<void>;
}

export async function startHttpService(): Promise<HttpService> {
  const routes = new Map<string, HandlerFn>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const fn = routes.get(`${req.method} ${path}`);
    if (!fn) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `no route ${path}` }));
      return;
    }
    const result = await fn(Buffer.concat(chunks).toString('utf8'));
    const body = typeof result.response === 'string'
      ? result.response
      : Buffer.from(result.response.buffer, result.response.byteOffset, result.response.byteLength);
    // The mock's error answers carry no content type; sign's client reads `{message}` from JSON ones.
    res.writeHead(result.statusCode, { 'content-type': result.contentType ?? 'text/plain' }).end(body);
  };
  // A failing handler answers 500 (sign retries those); an aborted request just ends.
  const server = createServer((req, res) => void handle(req, res).catch((err: unknown) => {
    if (res.headersSent || req.destroyed) return void res.destroy();
    res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: String(err) }));
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    mount: (route) => void routes.set(`${route.method} ${route.path}`, route.fn),
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}
