import * as fs from 'node:fs';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';

// src/adapters/http/ and dist/adapters/http/ are both three levels below package.json
const VERSION = (JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The HTTP API reference, generated from the route schemas by @fastify/swagger and served as
 * OpenAPI 3.1 at `GET /api/openapi.json`.
 *
 * Route schemas here DOCUMENT; they neither validate nor serialize. Validation stays in the core, whose
 * refusals carry domain codes (`invalid_channel_name`, `scope_invalid` …) with the status rattler-build
 * and the tests expect; Fastify's validator would answer first with generic 400s. And a response schema
 * would make Fastify serialize with fast-json-stringify, which drops every property the schema does not
 * name (the repodata `record`, an error's extra fields). So both compilers are replaced by ones that accept
 * everything and serialize with JSON.stringify, exactly what Fastify does for a route without a schema.
 *
 * @fastify/swagger collects routes with an onRoute hook, so it must be loaded before the routes are added:
 * call this first and add the routes in a plugin registered after it (server.ts).
 */
export function registerOpenApi(app: FastifyInstance): void {
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Provena',
        version: VERSION,
        description:
          'A conda channel server that proves where packages came from. Errors are `{"error": CODE, "detail": "..."}` ' +
          'with an HTTP status. Conda clients read channels at `/NAME/SUBDIR/...` (not listed here).',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'the admin token, an API key (`provena key create`), or an upload token minted by Trusted Publishing',
          },
        },
      },
      tags: [
        { name: 'channels', description: 'channels and their packages' },
        { name: 'keys', description: 'API keys (one channel, one scope)' },
        { name: 'upload', description: "rattler-build's prefix upload protocol" },
        { name: 'publishers', description: 'Trusted Publishers and verified attestations' },
        { name: 'trusted-publishing', description: 'OIDC token exchange for CI jobs' },
        { name: 'log', description: 'the transparency log' },
        { name: 'meta', description: 'this document' },
      ],
    },
    // what is not an API route (conda URLs, /log tiles, web pages) carries no tags and is left out
    hideUntagged: true,
  });
}

/** `GET /api/openapi.json`: registered in the routes' plugin, after registerOpenApi. */
export function openApiRoute(app: FastifyInstance): void {
  app.get(
    '/api/openapi.json',
    {
      schema: {
        summary: 'This API reference (OpenAPI 3.1)',
        tags: ['meta'],
        response: { 200: { description: 'the OpenAPI document', type: 'object', additionalProperties: true } },
      },
    },
    async (_req, reply) => reply.header('cache-control', 'no-cache').send(app.swagger()),
  );
}
