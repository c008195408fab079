import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../../../app.ts';
import type { KeyRequest } from '../../../core/channel/keys.ts';
import { principalOf } from '../principal.ts';
import { keyJson } from '../json-views.ts';
import { bearer, errors, keySchema } from '../api-schemas.ts';

const tags = ['keys'];

export function keyRoutes(app: FastifyInstance, s: AppServices) {
  app.post<{ Body: KeyRequest }>(
    '/api/v1/keys',
    {
      schema: {
        summary: 'Create an API key for one channel (channel admin); the secret is in this answer only',
        tags,
        security: bearer,
        body: {
          type: 'object',
          required: ['channel', 'scope'],
          properties: {
            channel: { type: 'string' },
            scope: { type: 'string', enum: ['read', 'upload', 'admin'] },
            expires_days: { type: 'integer', minimum: 1, description: 'days until it expires; none: never' },
            description: { type: 'string', maxLength: 200 },
          },
        },
        response: {
          201: { ...keySchema, required: [...keySchema.required, 'secret'], properties: { ...keySchema.properties, secret: { type: 'string' } } },
          ...errors(400, 401, 403, 404, 422),
        },
      },
    },
    async (req, reply) => {
      const { key, secret } = await s.keys.create(await principalOf(req, s.access), req.body ?? {});
      return reply.code(201).send({ ...keyJson(key), secret });
    },
  );

  app.get<{ Querystring: { channel?: string } }>(
    '/api/v1/keys',
    {
      schema: {
        summary: 'API keys the caller administers (never their secrets)',
        tags,
        security: bearer,
        querystring: { type: 'object', properties: { channel: { type: 'string', description: 'only this channel' } } },
        response: { 200: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: keySchema } } }, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      const keys = await s.keys.list(await principalOf(req, s.access), req.query.channel);
      return { keys: keys.map(keyJson) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/keys/:id',
    {
      schema: {
        summary: 'Revoke an API key (channel admin)',
        tags,
        security: bearer,
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
        response: { 200: keySchema, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return keyJson(await s.keys.revoke(await principalOf(req, s.access), req.params.id));
    },
  );
}
