// A dishonest front for a real server, on 127.0.0.1: passes every request through unless `override`
// answers it (bytes to serve, or null for 404). Lets tests show a monitor a forked checkpoint, a
// rewritten entry bundle or a lying tile while the real server stays honest.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Override = (path: string, upstream: () => Promise<Uint8Array>) => Promise<Uint8Array | string | null | undefined>;

export interface LogProxy {
  url: string;
  override: Override | null;
  close(): Promise<void>;
}

export async function startLogProxy(upstream: string): Promise<LogProxy> {
  const proxy: LogProxy = { url: '', override: null, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    const fetchUpstream = async () => {
      const r = await fetch(upstream + path);
      if (!r.ok) throw new Error(`upstream ${path}: ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    };
    void (async () => {
      const answer = proxy.override ? await proxy.override(path, fetchUpstream) : undefined;
      if (answer === null) {
        res.writeHead(404).end();
      } else if (answer !== undefined) {
        res.writeHead(200).end(typeof answer === 'string' ? answer : Buffer.from(answer));
      } else {
        const r = await fetch(upstream + path, { method: req.method });
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' });
        res.end(Buffer.from(await r.arrayBuffer()));
      }
    })().catch((e) => res.writeHead(502).end(String(e)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise((resolve) => server.close(() => resolve()));
  return proxy;
}
