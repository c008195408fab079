import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppServices } from '../../../app.ts';
import { publisherJson } from './provenance.ts';
import { errors, publisherSchema } from '../api-schemas.ts';

const tags = ['trusted-publishing'];

/** An id token is a few KiB; the body is `{"token": "..."}`. */
const MAX_MINT_BODY = 64 * 1024;

/**
 * Trusted Publishing's wire protocol, as prefix.dev speaks it and rattler-build / pixi use it
 * (../shared/docs/protocols.md §4): `GET /api/oidc/audience`, then `POST /api/oidc/mint_token` with
 * `{"token": JWT}`, answered with the upload token as plain text — or, asked with
 * `Accept: application/json`, as `{"token", "expires_at", "channels", "publisher", "publishers"}`.
 */
export function oidcRoutes(app: FastifyInstance, s: AppServices) {
  app.get(
    '/api/oidc/audience',
    {
      schema: {
        summary: 'The audience (`aud`) CI id tokens must carry',
        tags,
        response: { 200: { type: 'object', required: ['audience'], properties: { audience: { type: 'string' } } } },
      },
    },
    async () => ({ audience: s.trustedPublishing.audience() }),
  );

  app.register(async (scope) => {
    // the body is read as text and parsed here, so even a malformed request is an audited exchange
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_MINT_BODY }, (_req, body, done) => done(null, body));
    scope.post(
      '/api/oidc/mint_token',
      {
        schema: {
          summary: "Exchange a CI job's OIDC id token for a 15-minute upload token",
          description:
            'The upload token is answered as plain text (what rattler-build reads), or as JSON when asked with `Accept: application/json`. ' +
            'It uploads only to the channels whose Trusted Publishers match the job.',
          tags,
          body: {
            content: {
              'application/json': {
                schema: { type: 'object', required: ['token'], properties: { token: { type: 'string', description: 'the id token (a JWT)' } } },
              },
            },
          },
          response: {
            200: {
              description: 'the minted upload token',
              content: {
                'text/plain': { schema: { type: 'string', description: 'the token, `pvnp_…`' } },
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['token', 'expires_at', 'channels', 'publisher', 'publishers'],
                    properties: {
                      token: { type: 'string' },
                      expires_at: { type: 'string', format: 'date-time' },
                      channels: { type: 'array', items: { type: 'string' } },
                      publisher: { type: 'object', additionalProperties: true, description: 'the CI identity the transparency log records' },
                      publishers: { type: 'array', items: publisherSchema },
                    },
                  },
                },
              },
            },
            ...errors(400, 401, 403),
          },
        },
      },
      async (req, reply) => {
        const minted = await s.trustedPublishing.mint(tokenOf(req.body), { remoteAddress: req.ip });
        reply.header('cache-control', 'no-store');
        if (!wantsJson(req)) return reply.type('text/plain; charset=utf-8').send(minted.secret);
        return reply.type('application/json').send({
          token: minted.secret,
          expires_at: minted.token.expiresAt,
          channels: minted.publishers.map((p) => p.channel),
          publisher: minted.token.identity,
          publishers: minted.publishers.map(publisherJson),
        });
      },
    );
  });
}

function tokenOf(body: unknown): unknown {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>)['token'] : undefined;
  } catch {
    return undefined;
  }
}

/** JSON only when asked for by name: rattler accepts any type and reads the body as the token itself. */
function wantsJson(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return accept.split(',').some((part) => {
    const [type, ...params] = part.trim().toLowerCase().split(';').map((x) => x.trim());
    if (type !== 'application/json') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}
