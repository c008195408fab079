/**
 * The browser side of access: a session cookie (random id), the key cookie set by the sign-in form,
 * and CSRF tokens bound to the session.
 *
 * - Both cookies are HttpOnly and SameSite=Strict (Secure when the server is reached over https), so
 *   scripts cannot read them and other sites' pages cannot make the browser send them.
 * - Every form that changes something carries `_csrf` = HMAC(secret, session id): a synchronizer token
 *   without server-side state, checked in constant time with the session cookie it is bound to; the
 *   session id is replaced at sign-in and sign-out, so a token never outlives the session it was made for.
 * - The JSON API and conda URLs never read these cookies; only the web routes do.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'provena_session';
export const KEY_COOKIE = 'provena_key';
/** How long a sign-in lasts; the key's own expiry and revocation still apply at every request. */
export const KEY_COOKIE_MAX_AGE_S = 12 * 3600;

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
const MAX_KEY_LENGTH = 512;

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!out.has(name)) {
      try {
        out.set(name, decodeURIComponent(value));
      } catch {
        // a cookie we did not write; ignore it
      }
    }
  }
  return out;
}

export interface CookieOptions {
  maxAgeS?: number;
  secure: boolean;
}

export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  let c = `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict`;
  if (o.maxAgeS !== undefined) c += `; Max-Age=${o.maxAgeS}`;
  if (o.secure) c += '; Secure';
  return c;
}

/** Where cookies and CSRF tokens come from for one server process. */
export class Sessions {
  readonly #secret: Buffer;

  constructor(
    /** whether cookies get `Secure` (the public URL is https) */
    private readonly secure: () => boolean,
    secret: Buffer = randomBytes(32),
  ) {
    this.#secret = secret;
  }

  sessionId(req: FastifyRequest): string | null {
    const v = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    return v !== undefined && SESSION_ID.test(v) ? v : null;
  }

  keyOf(req: FastifyRequest): string | null {
    const v = parseCookies(req.headers.cookie).get(KEY_COOKIE);
    return v !== undefined && v.length > 0 && v.length <= MAX_KEY_LENGTH ? v : null;
  }

  /** The request's session id, starting a session (cookie on the reply) when there is none. */
  ensureSession(req: FastifyRequest, reply: FastifyReply): string {
    return this.sessionId(req) ?? this.startSession(reply);
  }

  /** A fresh session id, replacing any other (sign-in and sign-out rotate it). */
  startSession(reply: FastifyReply): string {
    const id = randomBytes(32).toString('base64url');
    this.addCookie(reply, serializeCookie(SESSION_COOKIE, id, { secure: this.secure() }));
    return id;
  }

  signIn(reply: FastifyReply, key: string): string {
    this.addCookie(reply, serializeCookie(KEY_COOKIE, key, { secure: this.secure(), maxAgeS: KEY_COOKIE_MAX_AGE_S }));
    return this.startSession(reply);
  }

  signOut(reply: FastifyReply): void {
    this.addCookie(reply, serializeCookie(KEY_COOKIE, '', { secure: this.secure(), maxAgeS: 0 }));
  }

  csrfToken(sessionId: string): string {
    return createHmac('sha256', this.#secret).update(`csrf\u0000${sessionId}`).digest('base64url');
  }

  /** Whether `token` is the CSRF token of the request's session. */
  checkCsrf(req: FastifyRequest, token: unknown): boolean {
    const sid = this.sessionId(req);
    if (sid === null || typeof token !== 'string' || token.length !== 43) return false;
    const expected = Buffer.from(this.csrfToken(sid));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private addCookie(reply: FastifyReply, cookie: string): void {
    const prev = reply.getHeader('set-cookie');
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)];
    // a later cookie of the same name in this response replaces an earlier one
    const name = cookie.slice(0, cookie.indexOf('='));
    reply.header('set-cookie', [...list.filter((c) => !c.startsWith(`${name}=`)), cookie]);
  }
}

/**
 * Whether a form post comes from this site's own pages: a browser sends `Origin` on POSTs (and
 * `Sec-Fetch-Site`); when present they must name this origin, as the request's Host or as the public
 * URL (behind a proxy that rewrites Host). The CSRF token is the real check.
 */
export function sameOrigin(req: FastifyRequest, publicUrl?: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (origin === 'null') return false;
  try {
    const o = new URL(origin);
    if (o.host === req.headers.host) return true;
    return publicUrl !== undefined && o.origin === new URL(publicUrl).origin;
  } catch {
    return false;
  }
}
