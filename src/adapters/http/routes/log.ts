import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { AppServices } from '../../../app.ts';
import type { Principal } from '../../../core/channel/access.ts';
import { contentEtag } from '../../../core/channel/repodata-publisher.ts';
import type { ServedFile } from '../../../core/channel/served-files.ts';
import { invalid, notFound } from '../../../core/errors.ts';
import type { Receipt } from '../../../core/tlog/receipt.ts';
import { type TileResource, parseTilePath } from '../../../core/tlog/tile-path.ts';
import { bundleKey, tileKey } from '../../../core/tlog/tile-writer.ts';
import { sendServedFile } from '../send-file.ts';
import { keysDocument, readKeyHistory } from '../../../core/tlog/key-rotation.ts';
import { errors, receiptSchema } from '../api-schemas.ts';
import { principalOf } from '../principal.ts';

// c2sp.org/tlog-tiles: the checkpoint must not be cached beyond a few seconds; tiles never change.
const CHECKPOINT_CACHE = 'no-cache';
const TILE_CACHE = 'public, max-age=31536000, immutable';
const OCTETS = 'application/octet-stream';
const TEXT = 'text/plain; charset=utf-8';
const RECEIPT_SUFFIX = '.receipt.json';

/** The transparency log: static C2SP endpoints under /log, and proofs under /api/v1/log. */
export function logRoutes(app: FastifyInstance, s: AppServices) {
  const route = { method: ['GET', 'HEAD'] as ('GET' | 'HEAD')[], exposeHeadRoute: false };
  const text = (body: string, cacheControl: string): ServedFile => {
    const bytes = new TextEncoder().encode(body);
    return { source: 'bytes', bytes, contentType: TEXT, cacheControl, etag: contentEtag(bytes) };
  };

  app.route({
    ...route,
    url: '/log/checkpoint',
    handler: (req, reply) => sendServedFile(req, reply, text(s.log.latest().note, CHECKPOINT_CACHE), s.blobs),
  });
  app.route({
    ...route,
    url: '/log/key',
    handler: (req, reply) => sendServedFile(req, reply, text(`${s.log.verifierKey}\n`, 'public, max-age=3600'), s.blobs),
  });
  app.route({
    ...route,
    url: '/log/keys',
    // every key that signed this log, with the tree sizes it signed and the rotations (key-rotation.ts)
    handler: async (req, reply) => {
      const doc = keysDocument(s.log.origin, s.log.verifierKey, await readKeyHistory(s.blobs));
      const bytes = new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`);
      return sendServedFile(req, reply, { source: 'bytes', bytes, contentType: 'application/json', cacheControl: 'no-cache', etag: contentEtag(bytes) }, s.blobs);
    },
  });
  app.route<{ Params: { '*': string } }>({
    ...route,
    url: '/log/tile/*',
    handler: async (req, reply) => {
      const resource = tileResource(req.params['*']);
      const key = resource.kind === 'tile' ? tileKey(resource.tile) : bundleKey(resource.bundle);
      if (await s.blobs.stat(key)) return sendServedFile(req, reply, { source: 'blob', key, contentType: OCTETS, cacheControl: TILE_CACHE }, s.blobs);
      // not (or no longer) in the blob store: partial tiles are deleted once full, and rebuilt here
      const bytes = await s.log.tileFromStore(resource);
      if (!bytes) throw notFound('tile_not_found', `the log's signed tree has no ${req.params['*']}`);
      return sendServedFile(req, reply, { source: 'bytes', bytes, contentType: OCTETS, cacheControl: TILE_CACHE, etag: contentEtag(bytes) }, s.blobs);
    },
  });

  app.get<{ Params: { index: string } }>(
    '/api/v1/log/entries/:index',
    {
      schema: {
        summary: 'A log entry with its inclusion proof to the latest checkpoint (a receipt)',
        tags: ['log'],
        params: { type: 'object', required: ['index'], properties: { index: { type: 'string', pattern: '^(0|[1-9][0-9]*)$' } } },
        response: {
          200: {
            ...receiptSchema,
            required: [...receiptSchema.required, 'entry_json'],
            properties: { ...receiptSchema.properties, entry_json: { type: 'object', additionalProperties: true, description: 'the entry, parsed' } },
          },
          ...errors(400, 404),
        },
      },
    },
    async (req, reply) => {
      const principal = await principalOf(req, s.access);
      const entry = await s.log.entry(logNumber(req.params.index, 'index'), (channel) => mayReadChannel(s, principal, channel));
      // the answer depends on who asks when it carries an opening: no shared cache may keep it
      reply.header('vary', 'authorization');
      if (entry.opening) reply.header('cache-control', 'private, no-store');
      return entry;
    },
  );

  app.get<{ Querystring: { old?: string; new?: string } }>(
    '/api/v1/log/proof/consistency',
    {
      schema: {
        summary: 'Proof that the tree of size old is a prefix of the tree of size new',
        tags: ['log'],
        querystring: {
          type: 'object',
          required: ['old', 'new'],
          properties: { old: { type: 'string', pattern: '^[1-9][0-9]*$' }, new: { type: 'string', pattern: '^[1-9][0-9]*$' } },
        },
        response: {
          200: {
            type: 'object',
            required: ['old_size', 'new_size', 'proof'],
            properties: { old_size: { type: 'integer' }, new_size: { type: 'integer' }, proof: { type: 'array', items: { type: 'string' } } },
          },
          ...errors(400, 404),
        },
      },
    },
    async (req) => s.log.consistency(logNumber(req.query.old, 'old'), logNumber(req.query.new, 'new')),
  );
}

/**
 * Whether `principal` may have the openings of entries about `channel`: its readers. A deleted
 * channel has no readers left but the admin.
 */
export async function mayReadChannel(s: AppServices, principal: Principal, channel: string): Promise<boolean> {
  const c = await s.access.channels.get(channel);
  return c === null ? principal.kind === 'admin' : s.access.allows(principal, c, 'read');
}

/** `/NAME/SUBDIR/FILE.receipt.json`: the receipt of the file's latest publish entry. */
export function isReceiptPath(file: string): boolean {
  return file.endsWith(RECEIPT_SUFFIX);
}

export async function sendFileReceipt(
  reply: FastifyReply,
  s: AppServices,
  principal: Principal,
  channelName: string,
  subdir: string,
  file: string,
) {
  const filename = file.slice(0, -RECEIPT_SUFFIX.length);
  const channel = await s.access.require(principal, channelName, 'read');
  const pkg = await s.store.packages.get(channel.name, subdir, filename);
  if (!pkg) throw notFound('file_not_found', `${channel.name}/${subdir}/${filename} does not exist`);
  const index = await s.log.latestEntryFor(channel.name, subdir, filename, 'publish', pkg.sha256);
  if (index === null) {
    throw notFound('receipt_not_found', `${channel.name}/${subdir}/${filename} was published before the transparency log existed`);
  }
  const receipt = await s.log.receipt(index);
  // a later checkpoint gives a newer receipt for the same entry: revalidate
  return reply.header('cache-control', channel.private ? 'private, no-cache' : 'no-cache').type('application/json').send(receipt);
}

/**
 * The upload response's receipt. The upload is committed whatever happens here, so a failure to
 * produce the receipt is logged and answered as null (the file's .receipt.json can be fetched later),
 * not as an error that would make clients retry a publish that succeeded.
 */
export async function uploadReceipt(s: AppServices, index: number, log: FastifyBaseLogger): Promise<Receipt | null> {
  try {
    return await s.log.receipt(index);
  } catch (err) {
    log.error({ err, logIndex: index }, 'transparency log: no receipt for a committed upload');
    return null;
  }
}

function tileResource(rest: string): TileResource {
  try {
    return parseTilePath(`tile/${rest}`);
  } catch {
    throw notFound('tile_not_found', `tile/${rest} is not a tile path (c2sp.org/tlog-tiles)`);
  }
}

function logNumber(v: string | undefined, name: string): number {
  if (v === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(v)) throw invalid('log_index_invalid', `${name} must be a non-negative decimal integer`);
  return Number(v);
}
