import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Telemetry } from '../../core/telemetry.ts';
import type { TransparencyLog } from '../../core/tlog/transparency-log.ts';
import { unauthenticated } from '../../core/errors.ts';

/** The label requests that matched no route get: a bounded set of labels whatever URLs are probed. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Prometheus metrics in a registry owned by one app (never prom-client's global default: tests and
 * benchmarks run several apps in one process). Implements the core's Telemetry port; HTTP metrics are
 * labelled by the route pattern (`/api/v1/upload/:channel`), never the raw URL.
 */
export class Metrics implements Telemetry {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'time from the request to the end of its response, by route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly #uploads = new Counter({
    name: 'provena_uploads_total',
    help: 'uploads by outcome (accepted, refused) and reason (the refusal error code; "ok" when accepted)',
    labelNames: ['outcome', 'reason'],
    registers: [this.registry],
  });
  readonly #attestations = new Counter({
    name: 'provena_attestation_verifications_total',
    help: 'attestation verifications by outcome ("verified" or the refusal error code)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly #attestationTime = new Histogram({
    name: 'provena_attestation_verification_seconds',
    help: 'time to verify one attestation (Sigstore crypto, CEP-27 statement, signer)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly #repodataTime = new Histogram({
    name: 'provena_repodata_generation_seconds',
    help: "time to generate and publish one subdir's repodata files",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(log: () => TransparencyLog) {
    collectDefaultMetrics({ register: this.registry });
    const latest = () => {
      try {
        return log().latest();
      } catch {
        return null; // the log has not started yet
      }
    };
    new Gauge({
      name: 'provena_log_size',
      help: 'entries in the transparency log covered by the latest signed checkpoint',
      registers: [this.registry],
      collect() {
        const c = latest();
        if (c) this.set(c.size);
      },
    });
    new Gauge({
      name: 'provena_log_checkpoint_age_seconds',
      help: 'seconds since the latest checkpoint was signed (grows while nothing new is logged)',
      registers: [this.registry],
      collect() {
        const c = latest();
        if (c) this.set(Math.max(0, (Date.now() - Date.parse(c.createdAt)) / 1000));
      },
    });
  }

  request(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#duration.observe({ method, route }, seconds);
  }

  uploadAccepted(): void {
    this.#uploads.inc({ outcome: 'accepted', reason: 'ok' });
  }

  uploadRefused(code: string): void {
    this.#uploads.inc({ outcome: 'refused', reason: code });
  }

  attestationChecked(outcome: string, seconds: number): void {
    this.#attestations.inc({ outcome });
    this.#attestationTime.observe(seconds);
  }

  repodataGenerated(seconds: number): void {
    this.#repodataTime.observe(seconds);
  }

  readonly #tufRootExpiry = new Gauge({
    name: 'provena_tuf_root_expiry_seconds',
    help: "seconds until a channel's TUF root expires; keys=server: renewed by the server, keys=offline: its owner must sign a new one",
    labelNames: ['channel', 'keys'],
    registers: [this.registry],
  });

  tufRootExpiry(channel: string, seconds: number, keys: 'server' | 'offline'): void {
    this.#tufRootExpiry.remove({ channel, keys: keys === 'server' ? 'offline' : 'server' });
    this.#tufRootExpiry.set({ channel, keys }, seconds);
  }
}

/** Counts every request Fastify answers and serves `GET /metrics` (behind `metrics_token` when set). */
export function metricsRoutes(app: FastifyInstance, metrics: Metrics, token: string | undefined): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? UNMATCHED_ROUTE;
    metrics.request(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (req, reply) => {
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      reply.header('www-authenticate', 'Bearer realm="metrics"');
      throw unauthenticated('metrics_token_required', 'this server protects /metrics: send Authorization: Bearer METRICS_TOKEN');
    }
    reply.header('cache-control', 'no-store');
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
