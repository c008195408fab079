import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { BlobStore, MetadataStore } from '../../core/channel/ports.ts';
import { type SignerKey, verifierKeyOf } from '../../core/tlog/note-keys.ts';
import { ed25519Signer, ed25519Verifier } from '../../core/tlog/note.ts';

/** One readiness check's answer: ok, or why not (an error code, never a path or a secret). */
export interface CheckResult {
  ok: boolean;
  reason?: string;
}

export interface Readiness {
  check(): Promise<Record<string, CheckResult>>;
}

/** A check that has not answered in this long counts as failed: a hung disk or database is not ready. */
const CHECK_TIMEOUT_MS = 5_000;

/**
 * What `/readyz` proves: the database answers a query, the blob store can write, read back and delete
 * a probe object, and the log signing key signs a note that verifies. Each check runs on every call.
 */
export function readinessChecks(deps: {
  store: MetadataStore;
  blobs: BlobStore;
  logKey: SignerKey;
  log: { error(obj: unknown, msg: string): void };
}): Readiness {
  const checks: Record<string, () => Promise<void>> = {
    database: async () => {
      await deps.store.channels.get('readyz-probe');
    },
    blobs: async () => {
      const key = `health/readyz-${randomBytes(8).toString('hex')}`;
      const bytes = randomBytes(32);
      await deps.blobs.putBytes(key, bytes);
      try {
        const handle = await deps.blobs.open(key);
        if (!handle) throw Object.assign(new Error('the probe object vanished after writing'), { code: 'probe_missing' });
        const chunks: Buffer[] = [];
        for await (const c of handle.stream()) chunks.push(c as Buffer);
        if (!Buffer.concat(chunks).equals(bytes)) throw Object.assign(new Error('the probe object read back different bytes'), { code: 'probe_mismatch' });
      } finally {
        await deps.blobs.delete(key);
      }
    },
    signing_key: async () => {
      const text = new Uint8Array(randomBytes(32));
      const signature = ed25519Signer(deps.logKey).sign(text);
      if (!ed25519Verifier(verifierKeyOf(deps.logKey)).verify(text, signature)) {
        throw Object.assign(new Error('a signature by the log key does not verify'), { code: 'signature_invalid' });
      }
    },
  };
  return {
    async check() {
      const entries = await Promise.all(
        Object.entries(checks).map(async ([name, run]): Promise<[string, CheckResult]> => {
          try {
            await withTimeout(run());
            return [name, { ok: true }];
          } catch (e) {
            deps.log.error({ err: e, check: name }, 'readiness check failed');
            return [name, { ok: false, reason: reasonOf(e) }];
          }
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}

/** `/healthz`: the process answers. `/readyz`: it can serve and store (503 naming what failed). Both public. */
export function healthRoutes(app: FastifyInstance, readiness: Readiness): void {
  app.get('/healthz', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });
  app.get('/readyz', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    const checks = await readiness.check();
    const failed = Object.entries(checks).filter(([, r]) => !r.ok);
    if (failed.length === 0) return { status: 'ready', checks };
    return reply.code(503).send({
      error: 'not_ready',
      detail: failed.map(([name, r]) => `${name}: ${r.reason}`).join('; ') + ' (the server log has the details)',
      checks,
    });
  });
}

/** An error code (ENOSPC, EACCES, SQLITE_BUSY, timeout ...) says why without leaking paths or data. */
function reasonOf(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[\w.-]{1,64}$/.test(code)) return code;
  if (e instanceof Error && e.name && e.name !== 'Error') return e.name;
  return 'failed';
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('the check did not answer in time'), { code: 'timeout' })), CHECK_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
