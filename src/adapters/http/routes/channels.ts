import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../../../app.ts';
import { principalOf } from '../principal.ts';
import { channelJson, packageJson } from '../json-views.ts';
import { bearer, channelParams, channelSchema, errors, fileParams, optionalBearer, packageSchema } from '../api-schemas.ts';

const tags = ['channels'];

export function channelRoutes(app: FastifyInstance, s: AppServices) {
  app.get(
    '/api/v1/channels',
    {
      schema: {
        summary: 'Channels the caller may see',
        tags,
        security: optionalBearer,
        response: { 200: { type: 'object', required: ['channels'], properties: { channels: { type: 'array', items: channelSchema } } }, ...errors(401) },
      },
    },
    async (req) => {
      const channels = await s.channels.list(await principalOf(req, s.access));
      return { channels: channels.map((c) => channelJson(c, s.publicUrl)) };
    },
  );

  app.post<{ Body: { name?: unknown; private?: unknown } }>(
    '/api/v1/channels',
    {
      schema: {
        summary: 'Create a channel (admin token)',
        tags,
        security: bearer,
        body: {
          type: 'object',
          required: ['name'],
          properties: {
            name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'lower-case letters, digits, `-`, `_`, `.`' },
            private: { type: 'boolean', default: false, description: 'readable only with a read key' },
          },
        },
        response: { 201: channelSchema, ...errors(400, 401, 403, 409, 422) },
      },
    },
    async (req, reply) => {
      const channel = await s.channels.create(await principalOf(req, s.access), req.body ?? {});
      return reply.code(201).send(channelJson(channel, s.publicUrl));
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/channels/:name',
    {
      schema: {
        summary: 'One channel, with its package count',
        tags,
        security: optionalBearer,
        params: channelParams,
        response: {
          200: { ...channelSchema, required: [...channelSchema.required, 'package_count'], properties: { ...channelSchema.properties, package_count: { type: 'integer' } } },
          ...errors(401, 404),
        },
      },
    },
    async (req) => {
      const principal = await principalOf(req, s.access);
      const channel = await s.channels.get(principal, req.params.name);
      return { ...channelJson(channel, s.publicUrl), package_count: await s.store.packages.count(channel.name) };
    },
  );

  app.patch<{ Params: { name: string }; Body: { private?: unknown; require_attestations?: unknown; max_package_size?: unknown } }>(
    '/api/v1/channels/:name',
    {
      schema: {
        summary: 'Change a channel (channel admin)',
        tags,
        security: bearer,
        params: channelParams,
        body: {
          type: 'object',
          properties: {
            private: { type: 'boolean' },
            require_attestations: { type: 'boolean', description: 'refuse uploads without a verified attestation' },
            max_package_size: { type: ['integer', 'null'], description: "largest package in bytes (413 above it); null: the server's limit" },
          },
        },
        response: { 200: channelSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const { private: priv, require_attestations, max_package_size } = req.body ?? {};
      const channel = await s.channels.update(await principalOf(req, s.access), req.params.name, { private: priv, require_attestations, max_package_size });
      return channelJson(channel, s.publicUrl);
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/api/v1/channels/:name',
    {
      schema: {
        summary: 'Delete a channel and its packages (admin token)',
        tags,
        security: bearer,
        params: channelParams,
        response: { 204: { description: 'deleted', type: 'null' }, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await s.channels.delete(await principalOf(req, s.access), req.params.name);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { name: string }; Querystring: { subdir?: string; filename?: string } }>(
    '/api/v1/channels/:name/packages',
    {
      schema: {
        summary: "A channel's packages",
        tags,
        security: optionalBearer,
        params: channelParams,
        querystring: {
          type: 'object',
          properties: { subdir: { type: 'string', description: 'only this subdir' }, filename: { type: 'string', description: 'only this file' } },
        },
        response: { 200: { type: 'object', required: ['packages'], properties: { packages: { type: 'array', items: packageSchema } } }, ...errors(401, 404) },
      },
    },
    async (req) => {
      const pkgs = await s.packages.list(await principalOf(req, s.access), req.params.name, req.query);
      return { packages: pkgs.map(packageJson) };
    },
  );

  app.get<{ Params: { name: string; subdir: string; file: string } }>(
    '/api/v1/channels/:name/packages/:subdir/:file',
    {
      schema: { summary: 'One package file', tags, security: optionalBearer, params: fileParams, response: { 200: packageSchema, ...errors(401, 404) } },
    },
    async (req) => {
      const { name, subdir, file } = req.params;
      return packageJson(await s.packages.get(await principalOf(req, s.access), name, subdir, file));
    },
  );

  app.delete<{ Params: { name: string; subdir: string; file: string } }>(
    '/api/v1/channels/:name/packages/:subdir/:file',
    {
      schema: {
        summary: 'Remove a package file (channel admin); its filename is never served again',
        tags,
        security: bearer,
        params: fileParams,
        response: { 200: { type: 'object', required: ['removed'], properties: { removed: packageSchema } }, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      const { name, subdir, file } = req.params;
      const removed = await s.packages.remove(await principalOf(req, s.access), name, subdir, file);
      return { removed: packageJson(removed) };
    },
  );
}
