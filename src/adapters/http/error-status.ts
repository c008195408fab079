import type { ErrorKind } from '../../core/errors.ts';

/** The one table from domain error kinds to HTTP status codes (rattler-build reads 401/403/409/413/422). */
export const STATUS_BY_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};
