/**
 * The web UI: server-rendered pages for people, next to the conda URLs and the JSON API.
 *
 *   GET  /                                   channels the visitor may see, latest publishes
 *   GET  /channels/NAME                      packages (search, subdir filter), usage
 *   GET  /channels/NAME/packages/PKG         versions, builds per subdir, files with provenance
 *   GET  /channels/NAME/files/SUBDIR/FILE    a channel file for a signed-in browser (private channels)
 *   GET  /channels/NAME/settings             channel admin: publishers, attestations, keys, visibility
 *   POST /channels/NAME/settings/...         the settings forms
 *   GET  /log, /log/entries/N                the transparency log
 *   GET  /signin, POST /signin, POST /signout
 *   GET  /static/...                         CSS, the copy-button script, the icon
 *
 * Security: pages carry a strict Content-Security-Policy (no inline script or style; the one script is
 * a file), every POST needs the session's CSRF token and a same-origin request, cookies are HttpOnly and
 * SameSite=Strict, and all package metadata is escaped (html.ts). Private channels answer exactly as
 * missing ones to visitors who may not read them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppServices } from '../../app.ts';
import type { Principal } from '../../core/channel/access.ts';
import { isProvenaError, notFound, unprocessable, type ProvenaError } from '../../core/errors.ts';
import { STATUS_BY_KIND } from '../http/error-status.ts';
import { sendServedFile } from '../http/send-file.ts';
import { isReceiptPath, sendFileReceipt } from '../http/routes/log.ts';
import { ASSET_BY_PATH } from './assets.ts';
import { WebCatalog } from './catalog.ts';
import { channelPageHtml, type ChannelQuery } from './channel-page.ts';
import { homePage } from './home-page.ts';
import type { Viewer } from './layout.ts';
import { settingsPage } from './links.ts';
import { logEntryPageHtml, logPageHtml } from './log-page.ts';
import { packagePageHtml, type PackageQuery } from './package-page.ts';
import { Sessions, sameOrigin } from './session.ts';
import { settingsPageHtml, type SettingsState } from './settings-page.ts';
import { errorPageHtml, safeNext, signinPageHtml } from './signin-page.ts';

const FORM_LIMIT_BYTES = 64 * 1024;
const FORM_MAX_FIELDS = 50;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const PAGE_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  vary: 'Cookie',
};

type Form = Record<string, string>;

interface Rendered {
  status?: number;
  body: string | Buffer;
  /** pages with secrets or settings: never stored by any cache */
  noStore?: boolean;
}

const SIGNED_OUT_REASONS: Record<string, string> = {
  token_revoked: 'the key you signed in with was revoked.',
  token_expired: 'the key you signed in with expired.',
  unknown_token: 'the key you signed in with is not known to this server.',
};

export function webRoutes(app: FastifyInstance, s: AppServices): void {
  const catalog = new WebCatalog(s.store, s.repodata, s.blobs);
  const sessions = new Sessions(() => s.publicUrl.startsWith('https://'));

  async function viewerOf(req: FastifyRequest, reply: FastifyReply, needsSession = false): Promise<Viewer> {
    const key = sessions.keyOf(req);
    let principal: Principal = { kind: 'anonymous' };
    let signedOutReason: string | null = null;
    if (key !== null) {
      try {
        principal = await s.access.authenticate(key);
      } catch (e) {
        if (!isProvenaError(e) || e.kind !== 'unauthenticated') throw e;
        sessions.signOut(reply);
        signedOutReason = SIGNED_OUT_REASONS[e.code] ?? 'the key you signed in with no longer works.';
      }
    }
    const sid = needsSession || principal.kind !== 'anonymous' ? sessions.ensureSession(req, reply) : sessions.sessionId(req);
    return { principal, csrf: sid === null ? null : sessions.csrfToken(sid), signedOutReason };
  }

  function send(reply: FastifyReply, t0: bigint, r: Rendered) {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return reply
      .code(r.status ?? 200)
      .headers(PAGE_HEADERS)
      .header('cache-control', r.noStore ? 'no-store' : 'private, no-cache')
      .header('server-timing', `render;dur=${ms.toFixed(2)}`)
      .type('text/html; charset=utf-8')
      .send(r.body);
  }

  function redirect(reply: FastifyReply, location: string) {
    return reply.code(303).headers(PAGE_HEADERS).header('cache-control', 'no-store').header('location', location).send();
  }

  app.register(async (web) => {
    web.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT_BYTES }, (_req, body, done) => {
      const form: Form = Object.create(null) as Form;
      let n = 0;
      for (const [k, v] of new URLSearchParams(body as string)) {
        if (++n > FORM_MAX_FIELDS) break;
        if (!(k in form)) form[k] = v;
      }
      done(null, form);
    });

    web.setErrorHandler(async (err, req, reply) => {
      let viewer: Viewer;
      try {
        viewer = await viewerOf(req, reply);
      } catch {
        viewer = { principal: { kind: 'anonymous' }, csrf: null, signedOutReason: null };
      }
      const t0 = process.hrtime.bigint();
      const path = req.url.split('?')[0] ?? '/';
      if (isProvenaError(err)) {
        const status = STATUS_BY_KIND[err.kind];
        if (status >= 500) req.log.error({ err }, 'web page failed');
        return send(reply, t0, { status, body: errorPage(viewer, status, err, path) });
      }
      const e = err as { statusCode?: number; message: string };
      const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
      if (status >= 500) req.log.error({ err }, 'web page failed');
      const message = status >= 500 ? 'The server failed to show this page; the problem is in its log.' : e.message;
      return send(reply, t0, { status, body: errorPageHtml(viewer, status, status >= 500 ? 'Something went wrong' : 'Bad request', message) });
    });

    /** A page: resolve the visitor, render, send with the page headers. */
    const page = <Q, P>(url: string, render: (req: FastifyRequest<{ Querystring: Q; Params: P }>, viewer: Viewer) => Promise<Rendered>, needsSession = false) =>
      web.get<{ Querystring: Q; Params: P }>(url, async (req, reply) => {
        const t0 = process.hrtime.bigint();
        const viewer = await viewerOf(req, reply, needsSession);
        return send(reply, t0, await render(req, viewer));
      });

    /** A form post: same origin and the session's CSRF token, or nothing happens. */
    const form = <P>(url: string, handle: (req: FastifyRequest<{ Params: P }>, reply: FastifyReply, viewer: Viewer, form: Form, t0: bigint) => Promise<unknown>) =>
      web.post<{ Params: P }>(url, async (req, reply) => {
        const t0 = process.hrtime.bigint();
        const body = (req.body ?? {}) as Form;
        const viewer = await viewerOf(req, reply, true);
        if (typeof body !== 'object' || !sameOrigin(req, s.publicUrl) || !sessions.checkCsrf(req, body['_csrf'])) {
          return send(reply, t0, {
            status: 403,
            noStore: true,
            body: errorPageHtml(viewer, 403, 'Form refused', 'This form has expired or did not come from this site, so nothing was changed. Go back, reload the page and try again.'),
          });
        }
        return handle(req, reply, viewer, body, t0);
      });

    // --- static files -------------------------------------------------------------------------
    web.get<{ Params: { file: string }; Querystring: { v?: string } }>('/static/:file', async (req, reply) => {
      const asset = ASSET_BY_PATH.get(`/static/${req.params.file}`);
      if (!asset) return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
      const pinned = req.query.v !== undefined && `"${req.query.v}"` === asset.etag;
      reply
        .header('etag', asset.etag)
        .header('cache-control', pinned ? 'public, max-age=31536000, immutable' : 'public, max-age=300')
        .header('x-content-type-options', 'nosniff')
        .type(asset.contentType);
      if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
      return reply.send(asset.body);
    });

    // --- pages --------------------------------------------------------------------------------
    page('/', async (_req, viewer) => ({ body: await homePage(s, catalog, viewer) }));

    web.get('/channels', async (_req, reply) => redirect(reply, '/'));

    page<ChannelQuery, { name: string }>('/channels/:name', async (req, viewer) => ({
      body: await channelPageHtml(s, catalog, viewer, req.params.name, req.query),
    }));

    page<PackageQuery, { name: string; pkg: string }>('/channels/:name/packages/:pkg', async (req, viewer) => ({
      body: await packagePageHtml(s, catalog, viewer, req.params.name, req.params.pkg, req.query),
    }));

    web.get<{ Params: { name: string; subdir: string; file: string } }>('/channels/:name/files/:subdir/:file', async (req, reply) => {
      const { name, subdir, file } = req.params;
      const viewer = await viewerOf(req, reply);
      reply.header('x-content-type-options', 'nosniff').header('vary', 'Cookie');
      if (isReceiptPath(file)) return sendFileReceipt(reply, s, viewer.principal, name, subdir, file);
      const served = await s.servedFiles.resolve(viewer.principal, name, subdir, file);
      return sendServedFile(req, reply, served, s.blobs);
    });

    page<{ done?: string }, { name: string }>(
      '/channels/:name/settings',
      async (req, viewer) => ({ noStore: true, body: await settingsPageHtml(s, viewer, req.params.name, { done: req.query.done }) }),
      true,
    );

    page<{ before?: string; sha256?: string }, unknown>('/log', async (req, viewer) => ({ body: await logPageHtml(s, catalog, viewer, req.query) }));

    page<unknown, { index: string }>('/log/entries/:index', async (req, viewer) => ({ body: await logEntryPageHtml(s, viewer, req.params.index) }));

    page<{ next?: string }, unknown>('/signin', async (req, viewer) => ({ noStore: true, body: signinPageHtml(viewer, safeNext(req.query.next)) }), true);

    // --- forms --------------------------------------------------------------------------------
    form('/signin', async (_req, reply, viewer, f, t0) => {
      const token = (f['token'] ?? '').trim();
      const next = safeNext(f['next']);
      let principal: Principal = { kind: 'anonymous' };
      if (token !== '') {
        try {
          principal = await s.access.authenticate(token);
        } catch (e) {
          if (!isProvenaError(e) || e.kind !== 'unauthenticated') throw e;
        }
      }
      if (principal.kind === 'anonymous') {
        return send(reply, t0, { status: 401, noStore: true, body: signinPageHtml(viewer, next, 'That key is not known to this server, or it was revoked or has expired.') });
      }
      // a browser signs in with an API key (or the admin token), not with a CI job's short-lived upload token
      if (principal.kind !== 'key' && principal.kind !== 'admin') {
        return send(reply, t0, { status: 401, noStore: true, body: signinPageHtml(viewer, next, 'Sign in with an API key; upload tokens from Trusted Publishing are for CI jobs only.') });
      }
      sessions.signIn(reply, token);
      return redirect(reply, next);
    });

    form('/signout', async (_req, reply) => {
      sessions.signOut(reply);
      sessions.startSession(reply);
      return redirect(reply, '/');
    });

    /** Runs a settings change; a refusal (bad input) re-renders the page with the reason, 422. */
    type SettingsParams = { name: string; id: string };
    const settingsForm = (
      action: string,
      change: (req: FastifyRequest<{ Params: SettingsParams }>, viewer: Viewer, f: Form) => Promise<{ done: string; anchor: string } | { created: NonNullable<SettingsState['created']> }>,
      draftKind?: (f: Form) => string,
    ) =>
      form<SettingsParams>(`/channels/:name/settings${action}`, async (req, reply, viewer, f, t0) => {
        const name = req.params.name;
        try {
          const outcome = await change(req, viewer, f);
          if ('created' in outcome) {
            return send(reply, t0, { status: 201, noStore: true, body: await settingsPageHtml(s, viewer, name, { created: outcome.created }) });
          }
          return redirect(reply, `${settingsPage(name)}?done=${outcome.done}#${outcome.anchor}`);
        } catch (e) {
          if (!isProvenaError(e) || (e.kind !== 'unprocessable' && e.kind !== 'invalid' && e.kind !== 'conflict')) throw e;
          const draft = draftKind ? { kind: draftKind(f), fields: withoutCsrf(f) } : undefined;
          return send(reply, t0, { status: STATUS_BY_KIND[e.kind], noStore: true, body: await settingsPageHtml(s, viewer, name, { error: e.detail, draft }) });
        }
      });

    settingsForm('/visibility', async (req, viewer, f) => {
      const makePrivate = f['private'] === 'true';
      await s.channels.update(viewer.principal, req.params.name, { private: makePrivate });
      return { done: makePrivate ? 'private' : 'public', anchor: 'visibility' };
    });

    settingsForm('/attestations', async (req, viewer, f) => {
      const require = f['require'] === 'true';
      await s.channels.update(viewer.principal, req.params.name, { require_attestations: require });
      return { done: require ? 'attestations_required' : 'attestations_optional', anchor: 'attestations' };
    });

    settingsForm(
      '/publishers',
      async (req, viewer, f) => {
        await s.publishers.add(viewer.principal, req.params.name, publisherInput(f));
        return { done: 'publisher_added', anchor: 'publishers' };
      },
      (f) => f['kind'] ?? 'github',
    );

    settingsForm('/publishers/:id/remove', async (req, viewer) => {
      await s.publishers.remove(viewer.principal, req.params.name, req.params.id);
      return { done: 'publisher_removed', anchor: 'publishers' };
    });

    settingsForm(
      '/keys',
      async (req, viewer, f) => {
        // the channel must be administered by this visitor before anything about the request is judged
        await s.access.require(viewer.principal, req.params.name, 'admin');
        const days = (f['expires_days'] ?? '').trim();
        const created = await s.keys.create(viewer.principal, {
          channel: req.params.name,
          scope: f['scope'],
          description: (f['description'] ?? '').trim() === '' ? undefined : f['description']!.trim(),
          expires_days: days === '' ? undefined : /^\d{1,6}$/.test(days) ? Number(days) : days,
        });
        return { created };
      },
      () => 'key',
    );

    settingsForm('/keys/:id/revoke', async (req, viewer) => {
      await s.access.require(viewer.principal, req.params.name, 'admin');
      const key = await s.store.keys.get(req.params.id);
      // only this channel's keys are revoked from this channel's page
      if (!key || key.channel !== req.params.name) {
        throw notFound('key_not_found', `channel ${req.params.name} has no key ${JSON.stringify(req.params.id)}`);
      }
      await s.keys.revoke(viewer.principal, req.params.id);
      return { done: 'key_revoked', anchor: 'keys' };
    });
  });
}

function withoutCsrf(f: Form): Record<string, string> {
  const { _csrf: _, ...rest } = f;
  return rest;
}

/** The settings form's fields as the publisher spec wants them; empty optional fields are left out. */
function publisherInput(f: Form): Record<string, unknown> {
  const v = (k: string) => {
    const x = (f[k] ?? '').trim();
    return x === '' ? undefined : x;
  };
  switch (f['kind']) {
    case 'github':
      return { kind: 'github', repository: v('repository') ?? '', workflow: v('workflow') ?? '', environment: v('environment') };
    case 'gitlab':
      return { kind: 'gitlab', project: v('project') ?? '', ciConfigPath: v('ci_config_path') ?? '', environment: v('environment'), issuer: v('issuer') };
    case 'generic': {
      const claims: Record<string, string> = {};
      for (const line of (f['claims'] ?? '').split(/\r?\n/)) {
        if (line.trim() === '') continue;
        const eq = line.indexOf('=');
        if (eq <= 0) throw unprocessable('invalid_publisher', `claims: write one name=value per line; ${JSON.stringify(line.trim().slice(0, 80))} has no "="`);
        claims[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
      }
      return { kind: 'generic', issuer: v('issuer') ?? '', claims };
    }
    default:
      return { kind: f['kind'] ?? '' };
  }
}

function errorPage(viewer: Viewer, status: number, err: ProvenaError, path: string): string {
  switch (err.kind) {
    case 'not_found':
      return errorPageHtml(viewer, status, 'Not found', err.detail);
    case 'unauthenticated':
      return errorPageHtml(viewer, status, 'Sign in needed', 'This page is for the channel\'s admins: sign in with an admin key of this channel.', { signIn: path });
    case 'forbidden':
      return errorPageHtml(viewer, status, 'Not allowed', 'The key you signed in with does not allow this: it needs an admin key of this channel.', { signIn: path });
    case 'unavailable':
      return errorPageHtml(viewer, status, 'Unavailable', err.detail);
    default:
      return errorPageHtml(viewer, status, status >= 500 ? 'Something went wrong' : 'Refused', status >= 500 ? 'The server failed to show this page; the problem is in its log.' : err.detail);
  }
}
