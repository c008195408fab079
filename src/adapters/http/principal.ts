import type { FastifyRequest } from 'fastify';
import type { AccessControl, Principal } from '../../core/channel/access.ts';

const resolved = new WeakMap<FastifyRequest, Promise<Principal>>();

/** The bearer token of `Authorization: Bearer X` (rattler and conda also send `token X`). */
export function bearerOf(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^(?:Bearer|token)\s+(\S+)\s*$/i.exec(header);
  return m ? m[1] : header.trim();
}

/** Resolves the caller once per request; `pathToken` is the `/t/TOKEN/...` form conda uses. */
export function principalOf(req: FastifyRequest, access: AccessControl, pathToken?: string): Promise<Principal> {
  let p = resolved.get(req);
  if (!p) {
    p = access.authenticate(pathToken ?? bearerOf(req));
    resolved.set(req, p);
  }
  return p;
}
