import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyInstance } from 'fastify';

/**
 * A proxy's or client's `X-Request-Id` is kept when it is a plain token (so one id follows a request
 * through every hop); anything else (too long, spaces, control characters that could forge log lines)
 * is replaced by a fresh UUID.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const id = Array.isArray(given) ? given[0] : given;
  return id !== undefined && SANE_REQUEST_ID.test(id) ? id : randomUUID();
}

/** Fastify options: the id above on `req.id`, and under `request_id` in every log line of the request. */
export function requestIdOptions() {
  return {
    genReqId: requestIdOf,
    requestIdHeader: false as const,
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
  };
}

/** Every response carries its request's id, so a user's report can be matched to the server log. */
export function echoRequestId(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
}

/**
 * The request as logged: conda's token form (`/t/TOKEN/channel/...`) carries a read key in the path,
 * which must never reach a log line.
 */
export function logSerializers() {
  return {
    req(req: { method?: string; url?: string; host?: string; ip?: string; socket?: { remoteAddress?: string; remotePort?: number } }) {
      return {
        method: req.method,
        url: (req.url ?? '').replace(/^\/t\/[^/]+/, '/t/REDACTED'),
        host: req.host,
        remoteAddress: req.ip ?? req.socket?.remoteAddress,
        remotePort: req.socket?.remotePort,
      };
    },
  };
}
