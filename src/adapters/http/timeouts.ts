import type { ServerOptions } from 'node:http';
import type { FastifyInstance } from 'fastify';

export interface TimeoutSettings {
  /** the request line and headers must arrive within this (slowloris headers) */
  headerSeconds: number;
  /** a non-upload request must be received completely within this (its response may take longer) */
  requestSeconds: number;
  /** an upload whose body sends no byte for this long is cut off and its spool file removed */
  uploadIdleSeconds: number;
}

/** Routes whose bodies may legitimately take hours: bounded by idleness, not by total time. */
const UPLOAD_ROUTES = new Set(['POST /api/v1/upload/:channel']);

/**
 * Node's own checks, for the server factory. Node's `requestTimeout` would also cut a large upload on
 * a slow link, so it is off and the whole-request limit is applied per route below instead.
 */
export function nodeServerTimeouts(t: TimeoutSettings): ServerOptions {
  const headersTimeout = t.headerSeconds * 1000;
  return {
    headersTimeout,
    requestTimeout: 0,
    // how often Node looks for connections past headersTimeout (default 30 s is too coarse for short limits)
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeout / 4))),
  };
}

/** The per-request limits: idle time for upload bodies, total receive time for everything else. */
export function requestTimeouts(app: FastifyInstance, t: TimeoutSettings): void {
  app.addHook('onRequest', async (req, reply) => {
    const raw = req.raw;
    if (UPLOAD_ROUTES.has(`${req.method} ${req.routeOptions.url}`)) {
      if (t.uploadIdleSeconds <= 0) return;
      const socket = raw.socket;
      // Node emits 'timeout' on an incomplete request when its socket has been idle this long
      raw.setTimeout(t.uploadIdleSeconds * 1000, () => {
        req.log.warn({ idle_seconds: t.uploadIdleSeconds }, 'upload body stalled: closing the connection');
        socket.destroy();
      });
      // once the body is in, processing (verification, signing) must not count as idleness
      raw.once('end', () => socket.setTimeout(0));
      return;
    }
    if (t.requestSeconds <= 0 || raw.complete) return;
    const timer = setTimeout(() => {
      if (raw.complete) return;
      req.log.warn({ timeout_seconds: t.requestSeconds }, 'request body not received in time: closing the connection');
      raw.socket.destroy();
    }, t.requestSeconds * 1000);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
  });
}
