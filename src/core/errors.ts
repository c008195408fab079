/**
 * One error type for the whole domain. Each code belongs to a kind; adapters map kinds to HTTP status
 * and CLI exit codes in one table each (src/adapters/http/error-status.ts, src/adapters/cli/exit.ts),
 * so the core never knows about either.
 */
export type ErrorKind =
  | 'invalid' // the request is malformed (400)
  | 'unprocessable' // well-formed, but the content is refused (422)
  | 'unauthenticated' // no or unknown credentials (401)
  | 'forbidden' // credentials known, not allowed (403)
  | 'not_found' // 404 (also used to hide private channels)
  | 'conflict' // 409: already exists
  | 'too_large' // 413
  | 'rate_limited' // 429
  | 'unavailable' // 503: a dependency is down
  | 'internal'; // 500

export class ProvenaError extends Error {
  override readonly name = 'ProvenaError';
  constructor(
    /** machine-readable, stable: e.g. `filename_mismatch`, `sha256_mismatch` */
    readonly code: string,
    readonly kind: ErrorKind,
    /** what was wrong and what to do, for people */
    readonly detail: string,
    options?: { cause?: unknown; extra?: Record<string, unknown> },
  ) {
    super(`${code}: ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.extra = options?.extra;
  }
  readonly extra: Record<string, unknown> | undefined;
}

export const invalid = (code: string, detail: string, extra?: Record<string, unknown>) =>
  new ProvenaError(code, 'invalid', detail, { extra });
export const unprocessable = (code: string, detail: string, extra?: Record<string, unknown>) =>
  new ProvenaError(code, 'unprocessable', detail, { extra });
export const notFound = (code: string, detail: string) => new ProvenaError(code, 'not_found', detail);
export const conflict = (code: string, detail: string) => new ProvenaError(code, 'conflict', detail);
export const forbidden = (code: string, detail: string) => new ProvenaError(code, 'forbidden', detail);
export const unauthenticated = (code: string, detail: string) => new ProvenaError(code, 'unauthenticated', detail);
export const tooLarge = (code: string, detail: string) => new ProvenaError(code, 'too_large', detail);

export function isProvenaError(e: unknown): e is ProvenaError {
  return e instanceof ProvenaError;
}
