import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppServices } from '../../../app.ts';
import { invalid, notFound } from '../../../core/errors.ts';
import { principalOf } from '../principal.ts';
import { bearer, channelParams, errors } from '../api-schemas.ts';
import { sendServedFile } from '../send-file.ts';

type MetaParams = { token?: string; channel: string; file: string };

/**
 * Signed repodata: `/NAME/tuf/N.root.json`, `timestamp.json`, `N.snapshot.json`, `N.targets.json`
 * (and the `/t/TOKEN/` forms), readable by whoever may read the channel; and the owner's root update,
 * `PUT /api/v1/channels/NAME/tuf/root` with the signed root as the body.
 */
export function tufRoutes(app: FastifyInstance, s: AppServices) {
  const metadata = async (req: FastifyRequest<{ Params: MetaParams }>, reply: FastifyReply) => {
    const tuf = s.tuf;
    if (!tuf) throw notFound('tuf_disabled', 'this server does not sign repodata');
    const principal = await principalOf(req, s.access, req.params.token);
    const channel = await s.access.require(principal, req.params.channel, 'read');
    // the published object itself (channels/NAME/tuf/FILE): what a CDN reading the bucket serves too
    const doc = await tuf.document(channel.name, req.params.file);
    const visibility = channel.private ? 'private' : 'public';
    // versioned files never change; the timestamp must reach clients as soon as it is re-signed
    const cacheControl = doc.immutable ? `${visibility}, max-age=31536000, immutable` : 'no-cache';
    return sendServedFile(req, reply, { source: 'blob', key: doc.key, contentType: 'application/json', cacheControl }, s.blobs);
  };
  for (const prefix of ['', '/t/:token']) {
    app.route({ method: ['GET', 'HEAD'], exposeHeadRoute: false, url: `${prefix}/:channel/tuf/:file`, handler: metadata });
  }

  app.get<{ Params: { name: string } }>(
    '/api/v1/channels/:name/tuf',
    {
      schema: {
        summary: "The state of the channel's signed repodata root: its version, when it expires, who renews it",
        description:
          'keys=server: the server holds the root keys and renews the root before it expires; keys=offline: the owner must sign a new root (provena tuf sign-root) before `expires`; `warning` is set within 30 days of that.',
        tags: ['channels'],
        security: bearer,
        params: channelParams,
        response: {
          200: {
            type: 'object',
            required: ['root_version', 'root_expires', 'root_expires_in_seconds', 'root_keys'],
            properties: {
              root_version: { type: 'integer' },
              root_expires: { type: 'string', format: 'date-time' },
              root_expires_in_seconds: { type: 'integer', description: 'negative once expired' },
              root_keys: { type: 'string', enum: ['server', 'offline'] },
              warning: { type: 'string' },
            },
          },
          ...errors(401, 403, 404),
        },
      },
    },
    async (req) => {
      const tuf = s.tuf;
      if (!tuf) throw notFound('tuf_disabled', 'this server does not sign repodata');
      const channel = await s.access.require(await principalOf(req, s.access), req.params.name, 'admin');
      const r = await tuf.rootStatus(channel.name);
      return { root_version: r.version, root_expires: r.expires, root_expires_in_seconds: r.expiresInSeconds, root_keys: r.keys, ...(r.warning ? { warning: r.warning } : {}) };
    },
  );

  app.put<{ Params: { name: string }; Body: unknown }>(
    '/api/v1/channels/:name/tuf/root',
    {
      schema: {
        summary: "Put a new root in force for the channel's signed repodata (TUF)",
        description:
          'The body is the signed root metadata, the next version: signed by a threshold of the current root keys (the server adds its signature while it holds the current root key) and of its own; the server must hold the online keys it names.',
        tags: ['channels'],
        security: bearer,
        params: channelParams,
        body: { type: 'object', required: ['signed', 'signatures'], properties: { signed: { type: 'object' }, signatures: { type: 'array' } } },
        response: {
          200: { type: 'object', required: ['version'], properties: { version: { type: 'integer', description: 'the root version now in force' } } },
          ...errors(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (req) => {
    const tuf = s.tuf;
    if (!tuf) throw notFound('tuf_disabled', 'this server does not sign repodata');
    const channel = await s.access.require(await principalOf(req, s.access), req.params.name, 'admin');
    if (typeof req.body !== 'object' || req.body === null) throw invalid('body_invalid', 'the body must be the signed root metadata (JSON)');
    return tuf.submitRoot(channel.name, JSON.stringify(req.body));
    },
  );
}
