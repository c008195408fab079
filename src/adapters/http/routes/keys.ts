import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../../../app.ts';
import type { KeyRequest } from '../../../core/channel/keys.ts';
import { principalOf } from '../principal.ts';
import { keyJson } from '../json-views.ts';

export function keyRoutes(app: FastifyInstance, s: AppServices) {
  app.post<{ Body: KeyRequest }>('/api/v1/keys', async (req, reply) => {
    const { key, secret } = await s.keys.create(await principalOf(req, s.access), req.body ?? {});
    return reply.code(201).send({ ...keyJson(key), secret });
  });

  app.get<{ Querystring: { channel?: string } }>('/api/v1/keys', async (req) => {
    const keys = await s.keys.list(await principalOf(req, s.access), req.query.channel);
    return { keys: keys.map(keyJson) };
  });

  app.delete<{ Params: { id: string } }>('/api/v1/keys/:id', async (req) => {
    return keyJson(await s.keys.revoke(await principalOf(req, s.access), req.params.id));
  });
}
