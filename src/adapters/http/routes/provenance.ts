import type { FastifyInstance } from 'fastify';
import type { AppServices } from '../../../app.ts';
import { notFound } from '../../../core/errors.ts';
import type { TrustedPublisher } from '../../../core/publish/publisher.ts';
import { sigsBlobKey } from '../../../core/channel/ports.ts';
import { readSmallBlob } from '../../../core/channel/small-blob.ts';
import { principalOf } from '../principal.ts';
import { bearer, channelParams, errors, fileParams, optionalBearer, publisherInputSchema, publisherSchema } from '../api-schemas.ts';

const tags = ['publishers'];

/** The API speaks snake_case; the core's publisher spec uses camelCase field names. */
function publisherInput(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { ci_config_path, repository_owner_id, ...rest } = body as Record<string, unknown>;
  return {
    ...rest,
    ...(ci_config_path === undefined ? {} : { ciConfigPath: ci_config_path }),
    ...(repository_owner_id === undefined ? {} : { repositoryOwnerId: repository_owner_id }),
  };
}

export function publisherJson(p: TrustedPublisher) {
  const base = { id: p.id, channel: p.channel, kind: p.kind, created_at: p.createdAt };
  switch (p.kind) {
    case 'github':
      return {
        ...base,
        repository: p.repository,
        workflow: p.workflow,
        environment: p.environment,
        repository_owner_id: p.repositoryOwnerId ?? null,
      };
    case 'gitlab':
      return { ...base, project: p.project, ci_config_path: p.ciConfigPath, environment: p.environment, issuer: p.issuer };
    case 'generic':
      return { ...base, issuer: p.issuer, claims: p.claims };
  }
}

/** Trusted Publishers of a channel, and the verified attestations of its packages. */
export function provenanceRoutes(app: FastifyInstance, s: AppServices) {
  app.post<{ Params: { name: string } }>(
    '/api/v1/channels/:name/publishers',
    {
      schema: {
        summary: 'Add a Trusted Publisher (channel admin)',
        tags,
        security: bearer,
        params: channelParams,
        body: publisherInputSchema,
        response: { 201: publisherSchema, ...errors(400, 401, 403, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const p = await s.publishers.add(await principalOf(req, s.access), req.params.name, publisherInput(req.body));
      return reply.code(201).send(publisherJson(p));
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/v1/channels/:name/publishers',
    {
      schema: {
        summary: "A channel's Trusted Publishers (channel admin)",
        tags,
        security: bearer,
        params: channelParams,
        response: { 200: { type: 'object', required: ['publishers'], properties: { publishers: { type: 'array', items: publisherSchema } } }, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      const list = await s.publishers.list(await principalOf(req, s.access), req.params.name);
      return { publishers: list.map(publisherJson) };
    },
  );

  app.delete<{ Params: { name: string; id: string } }>(
    '/api/v1/channels/:name/publishers/:id',
    {
      schema: {
        summary: 'Remove a Trusted Publisher (channel admin); its minted tokens stop at once',
        tags,
        security: bearer,
        params: { type: 'object', required: ['name', 'id'], properties: { name: { type: 'string' }, id: { type: 'string' } } },
        response: { 200: publisherSchema, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return publisherJson(await s.publishers.remove(await principalOf(req, s.access), req.params.name, req.params.id));
    },
  );

  app.get<{ Params: { name: string; subdir: string; file: string } }>(
    '/api/v1/channels/:name/packages/:subdir/:file/attestations',
    {
      schema: {
        summary: "A package's attestation bundles and the facts verified at upload",
        tags,
        security: optionalBearer,
        params: fileParams,
        response: {
          200: {
            type: 'object',
            required: ['filename', 'sha256', 'attestations_sha256', 'bundles', 'verified'],
            properties: {
              filename: { type: 'string' },
              sha256: { type: 'string' },
              attestations_sha256: { type: 'string', description: 'sha256 of the .sigs sidecar' },
              bundles: { type: 'array', items: { type: 'object', additionalProperties: true }, description: 'Sigstore bundles, as uploaded' },
              verified: {
                type: 'object',
                additionalProperties: true,
                description: 'issuer, identity, repository, workflow, ref, commit, Rekor log index and time, targetChannel, bundle_sha256, verified_at',
              },
            },
          },
          ...errors(401, 404),
        },
      },
    },
    async (req) => {
      const { name, subdir, file } = req.params;
      const pkg = await s.packages.get(await principalOf(req, s.access), name, subdir, file);
      const record = await s.store.attestations.get(pkg.channel, pkg.subdir, pkg.filename);
      if (!record || !pkg.attestationsSha256) throw notFound('attestation_not_found', `${name}/${subdir}/${file} has no attestation`);
      const sigs = await readSmallBlob(s.blobs, sigsBlobKey(record.sigsSha256), 'the attestation');
      return {
        filename: pkg.filename,
        sha256: pkg.sha256,
        attestations_sha256: record.sigsSha256,
        bundles: JSON.parse(sigs.toString('utf8')) as unknown[],
        verified: { ...record.verified, bundle_sha256: record.bundleSha256, verified_at: record.verifiedAt },
      };
    },
  );
}
