import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../../../app.ts';
import { principalOf } from '../principal.ts';
import { channelJson, packageJson } from '../json-views.ts';

export function channelRoutes(app: FastifyInstance, s: AppServices) {
  app.get('/api/v1/channels', async (req) => {
    const channels = await s.channels.list(await principalOf(req, s.access));
    return { channels: channels.map((c) => channelJson(c, s.publicUrl)) };
  });

  app.post<{ Body: { name?: unknown; private?: unknown } }>('/api/v1/channels', async (req, reply) => {
    const channel = await s.channels.create(await principalOf(req, s.access), req.body ?? {});
    return reply.code(201).send(channelJson(channel, s.publicUrl));
  });

  app.get<{ Params: { name: string } }>('/api/v1/channels/:name', async (req) => {
    const principal = await principalOf(req, s.access);
    const channel = await s.channels.get(principal, req.params.name);
    return { ...channelJson(channel, s.publicUrl), package_count: await s.store.packages.count(channel.name) };
  });

  app.patch<{ Params: { name: string }; Body: { private?: unknown; require_attestations?: unknown } }>(
    '/api/v1/channels/:name',
    async (req) => {
      const { private: priv, require_attestations } = req.body ?? {};
      const channel = await s.channels.update(await principalOf(req, s.access), req.params.name, { private: priv, require_attestations });
      return channelJson(channel, s.publicUrl);
    },
  );

  app.delete<{ Params: { name: string } }>('/api/v1/channels/:name', async (req, reply) => {
    await s.channels.delete(await principalOf(req, s.access), req.params.name);
    return reply.code(204).send();
  });

  app.get<{ Params: { name: string }; Querystring: { subdir?: string; filename?: string } }>(
    '/api/v1/channels/:name/packages',
    async (req) => {
      const pkgs = await s.packages.list(await principalOf(req, s.access), req.params.name, req.query);
      return { packages: pkgs.map(packageJson) };
    },
  );

  app.get<{ Params: { name: string; subdir: string; file: string } }>(
    '/api/v1/channels/:name/packages/:subdir/:file',
    async (req) => {
      const { name, subdir, file } = req.params;
      return packageJson(await s.packages.get(await principalOf(req, s.access), name, subdir, file));
    },
  );

  app.delete<{ Params: { name: string; subdir: string; file: string } }>(
    '/api/v1/channels/:name/packages/:subdir/:file',
    async (req) => {
      const { name, subdir, file } = req.params;
      const removed = await s.packages.remove(await principalOf(req, s.access), name, subdir, file);
      return { removed: packageJson(removed) };
    },
  );
}
