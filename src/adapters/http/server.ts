import { createServer } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { answerRevalidation } from './fast-revalidation.ts';
import type { AppServices } from '../../app.ts';
import { isProvenaError } from '../../core/errors.ts';
import { STATUS_BY_KIND } from './error-status.ts';
import { channelRoutes } from './routes/channels.ts';
import { condaRoutes } from './routes/conda.ts';
import { keyRoutes } from './routes/keys.ts';
import { logRoutes } from './routes/log.ts';
import { provenanceRoutes } from './routes/provenance.ts';
import { oidcRoutes } from './routes/oidc.ts';
import { uploadRoutes } from './routes/upload.ts';
import { webRoutes } from '../web/routes.ts';
import { openApiRoute, registerOpenApi } from './openapi.ts';
import { healthRoutes } from './health.ts';
import { metricsRoutes } from './metrics.ts';
import { echoRequestId, logSerializers, requestIdOptions } from './request-id.ts';
import { rateLimits, type RateLimitSettings } from './rate-limits.ts';
import { nodeServerTimeouts, requestTimeouts, type TimeoutSettings } from './timeouts.ts';

export interface HttpOptions {
  logger: boolean | { level: string };
  /** when set, `GET /metrics` needs `Authorization: Bearer` this */
  metricsToken?: string;
  /** Fastify's trustProxy: which proxies' X-Forwarded-For to believe for the client address (default none) */
  trustProxy?: boolean | string;
  /** absent: no rate limits */
  rateLimits?: RateLimitSettings;
  timeouts?: TimeoutSettings;
}

export const DEFAULT_TIMEOUTS: TimeoutSettings = { headerSeconds: 30, requestSeconds: 60, uploadIdleSeconds: 60 };

/** The HTTP face of Provena: handlers parse, call a service, and let errors map to status here, in one place. */
export function buildHttpServer(services: AppServices, opts: HttpOptions): FastifyInstance {
  const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  const app = Fastify({
    // the hot revalidation path is answered in front of the framework (fast-revalidation.ts)
    serverFactory: (handler) =>
      createServer(nodeServerTimeouts(timeouts), (req, res) => {
        if (!answerRevalidation(req, res, services.servedFiles)) handler(req, res);
      }),
    logger: typeof opts.logger === 'object' ? { ...opts.logger, serializers: logSerializers() } : opts.logger,
    ...requestIdOptions(),
    trustProxy: opts.trustProxy ?? false,
    bodyLimit: 1024 * 1024,
    // conda filenames and channel names are plain; keep decoded params as they are
    routerOptions: { maxParamLength: 512 },
  });

  app.setErrorHandler((err, req, reply) => {
    if (isProvenaError(err)) {
      const status = STATUS_BY_KIND[err.kind];
      if (status >= 500) req.log.error({ err }, 'request failed');
      return reply.code(status).type('application/json').send({ error: err.code, detail: err.detail, ...err.extra });
    }
    const e = err as { statusCode?: number; code?: string; message: string };
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err }, 'unexpected error');
      return reply.code(500).send({ error: 'internal_error', detail: 'the server failed to handle the request; see its log' });
    }
    return reply.code(status).send({ error: (e.code ?? 'invalid_request').toLowerCase(), detail: e.message });
  });

  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', detail: `nothing is served at ${req.method} ${req.url.split('?')[0]}` }),
  );

  echoRequestId(app);
  requestTimeouts(app, timeouts);
  metricsRoutes(app, services.metrics, opts.metricsToken);
  if (opts.rateLimits) rateLimits(app, opts.rateLimits, services.metrics);
  healthRoutes(app, services.readiness);
  registerOpenApi(app); // before the routes: it collects them as they are added
  app.register(async (routes) => {
    openApiRoute(routes);
    channelRoutes(routes, services);
    keyRoutes(routes, services);
    uploadRoutes(routes, services);
    logRoutes(routes, services);
    provenanceRoutes(routes, services);
    oidcRoutes(routes, services);
    webRoutes(routes, services);
    condaRoutes(routes, services);
  });
  return app;
}
