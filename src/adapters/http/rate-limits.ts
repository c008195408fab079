import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Telemetry } from '../../core/telemetry.ts';

export interface RateLimitSettings {
  /** uploads per minute per credential and per client address; 0 disables */
  uploadPerMinute: number;
  /** attempts per minute at routes that take or make secrets, per credential and per address; 0 disables */
  authPerMinute: number;
}

type LimitKind = 'upload' | 'auth';

/** The routes that take or make secrets, or store bytes: by method and route pattern. */
const LIMITED_ROUTES: Record<string, LimitKind> = {
  'POST /api/v1/upload/:channel': 'upload',
  'POST /api/oidc/mint_token': 'auth',
  'POST /api/v1/keys': 'auth',
  'POST /signin': 'auth',
  'POST /channels/:name/settings/keys': 'auth',
};

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/**
 * Per-credential and per-address limits (fixed one-minute windows, @fastify/rate-limit's in-memory
 * store: each replica counts on its own). Checked in onRequest, before a byte of the body is read, so
 * a refused attempt costs nothing and stores nothing. The address is the socket's, or the first
 * untrusted X-Forwarded-For hop when `trust_proxy` says which proxies to believe.
 */
export function rateLimits(app: FastifyInstance, settings: RateLimitSettings, telemetry: Telemetry): void {
  if (settings.uploadPerMinute === 0 && settings.authPerMinute === 0) return;
  app.register(fastifyRateLimit, { global: false, cache: 20_000 });
  let limiters: Record<string, Limiter> | undefined;
  const build = (): Record<string, Limiter> => {
    const make = (max: number, key: (req: FastifyRequest) => string) => app.createRateLimit({ max, timeWindow: 60_000, keyGenerator: key });
    return {
      'upload:ip': make(settings.uploadPerMinute, (req) => `upload:ip:${req.ip}`),
      'upload:credential': make(settings.uploadPerMinute, (req) => `upload:cred:${credentialOf(req)}`),
      'auth:ip': make(settings.authPerMinute, (req) => `auth:ip:${req.ip}`),
      'auth:credential': make(settings.authPerMinute, (req) => `auth:cred:${credentialOf(req)}`),
    };
  };

  app.addHook('onRequest', async (req, reply) => {
    const kind = LIMITED_ROUTES[`${req.method} ${req.routeOptions.url}`];
    if (!kind) return;
    const perMinute = kind === 'upload' ? settings.uploadPerMinute : settings.authPerMinute;
    if (perMinute === 0) return;
    limiters ??= build();
    const checks: [string, Limiter][] = [['client address', limiters[`${kind}:ip`]!]];
    // per credential: an API key or minted upload token, whichever address it comes from
    if (credentialOf(req) !== undefined) checks.push(['credential', limiters[`${kind}:credential`]!]);
    for (const [what, limiter] of checks) {
      const r = await limiter(req);
      if (r.isAllowed || !r.isExceeded) continue;
      const retryAfter = Math.max(1, r.ttlInSeconds);
      if (kind === 'upload') telemetry.uploadRefused('rate_limited');
      // answered here rather than thrown: under a flood this is the hot path, and needs no stack trace
      return reply
        .code(429)
        .header('retry-after', String(retryAfter))
        .header('cache-control', 'no-store')
        .type('application/json')
        .send({
          error: 'rate_limited',
          detail: `too many ${kind === 'upload' ? 'uploads' : 'authentication attempts'} from this ${what}: at most ${perMinute} a minute; retry after ${retryAfter} s`,
        });
    }
  });
}

/** A digest of the bearer token (never the token itself, which stays out of memory maps and logs). */
function credentialOf(req: FastifyRequest): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m ? createHash('sha256').update(m[1]!).digest('base64url').slice(0, 22) : undefined;
}
