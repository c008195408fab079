import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppServices } from '../../../app.ts';
import type { SpooledFile } from '../../../core/channel/receive.ts';
import { invalid, isProvenaError, ProvenaError } from '../../../core/errors.ts';
import type { UploadTarget } from '../../../core/channel/ingest.ts';
import { parseMultipart, PartConsumerGone, type MultipartPart } from '../multipart.ts';
import { principalOf } from '../principal.ts';
import { packageJson } from '../json-views.ts';
import { uploadReceipt } from './log.ts';
import { bearer, errors, packageSchema, receiptSchema } from '../api-schemas.ts';

/** Attestation bundles are a few KiB; anything near this is not one. */
const MAX_ATTESTATION_BYTES = 1024 * 1024;

interface ReceivedUpload {
  spooled: SpooledFile;
  filename: string | undefined;
  sha256: string | undefined;
  attestation: Buffer | undefined;
}

/**
 * `POST /api/v1/upload/NAME` as rattler-build's `upload prefix` sends it: multipart (parts `file` and
 * optional `attestation`) or the legacy raw body with X-File-Name / X-File-SHA256 request headers.
 */
export function uploadRoutes(app: FastifyInstance, s: AppServices) {
  app.register(async (scope) => {
    // the body is read by the handler as a stream, never buffered by the framework
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    scope.post<{ Params: { channel: string }; Querystring: { force?: string; subdir?: string } }>(
      '/api/v1/upload/:channel',
      { bodyLimit: Number.MAX_SAFE_INTEGER, schema: uploadSchema },
      async (req, reply) => {
        let pkg;
        try {
          const force = req.query.force === 'true' || req.query.force === '1';
          const principal = await principalOf(req, s.access);
          const target = await s.ingest.authorize(principal, req.params.channel, force);
          const contentType = req.headers['content-type'] ?? '';
          const received = /^multipart\/form-data/i.test(contentType)
            ? await receiveMultipart(req, contentType, s, target)
            : await receiveRaw(req, s, target);
          pkg = await s.ingest.accept(
            target,
            { filename: received.filename, declaredSha256: received.sha256, subdir: req.query.subdir, attestation: received.attestation },
            received.spooled,
          );
        } catch (e) {
          s.metrics.uploadRefused(isProvenaError(e) ? e.code : 'internal_error');
          throw e;
        }
        s.metrics.uploadAccepted(); // committed: the receipt below only reports it
        return reply.code(201).send({ ...packageJson(pkg), receipt: await uploadReceipt(s, pkg.logIndex, req.log) });
      },
    );
  });
}

const fileHeaders = {
  'X-File-Name': { type: 'string', description: 'the package filename, name-version-build.conda or .tar.bz2' },
  'X-File-SHA256': { type: 'string', description: 'the sha256 of the bytes, checked against what arrives' },
};

/** Documents rattler-build's two body forms; the handler reads the stream itself (no parser, no validation). */
const uploadSchema = {
  summary: 'Upload a package (upload scope): rattler-build upload prefix',
  description:
    'Multipart: a `file` part (its filename, or the part headers `X-File-Name` / `X-File-SHA256`) and an optional `attestation` part ' +
    '(a Sigstore bundle, verified before anything is stored). Raw: the package bytes as the body, with `X-File-Name` and ' +
    '`X-File-SHA256` request headers. The size limit cuts the stream off (413); refusals name the check (422).',
  tags: ['upload'],
  security: bearer,
  params: { type: 'object', required: ['channel'], properties: { channel: { type: 'string' } } },
  querystring: {
    type: 'object',
    properties: {
      force: { type: 'string', enum: ['true', '1', 'false', '0'], description: 'replace an existing file of the same name' },
      subdir: { type: 'string', description: "must equal the package's own subdir when given" },
    },
  },
  headers: { type: 'object', properties: fileHeaders },
  body: {
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: ['file'],
          properties: {
            file: { type: 'string', format: 'binary', description: 'the package' },
            attestation: { type: 'string', format: 'binary', description: 'a Sigstore bundle (CEP-27 statement), at most 1 MiB' },
          },
        },
      },
      'application/octet-stream': { schema: { type: 'string', format: 'binary', description: 'the package, with the X-File-* headers' } },
    },
  },
  response: {
    201: {
      description: 'stored: the package and its transparency-log receipt (null if it could not be made yet)',
      ...packageSchema,
      required: [...packageSchema.required, 'receipt'],
      properties: { ...packageSchema.properties, receipt: { anyOf: [receiptSchema, { type: 'null' }] } },
    },
    ...errors(400, 401, 403, 404, 409, 413, 422),
  },
};

async function receiveRaw(req: FastifyRequest, s: AppServices, target: UploadTarget): Promise<ReceivedUpload> {
  const filename = header(req, 'x-file-name');
  s.ingest.checkFilename(filename);
  const spooled = await s.ingest.receive(req.raw, target, declaredLength(req));
  return { spooled, filename, sha256: header(req, 'x-file-sha256'), attestation: undefined };
}

async function receiveMultipart(req: FastifyRequest, contentType: string, s: AppServices, target: UploadTarget): Promise<ReceivedUpload> {
  let filePart: MultipartPart | undefined;
  let spooling: Promise<SpooledFile> | undefined;
  let attestation: Buffer | undefined;
  const collecting: Promise<void>[] = [];
  try {
    await parseMultipart(
      req.raw,
      contentType,
      (part) => {
        if (part.name === 'file') {
          if (filePart) throw invalid('invalid_multipart', 'send one "file" part per upload');
          filePart = part;
          s.ingest.checkFilename(part.headers['x-file-name'] ?? part.filename);
          spooling = s.ingest.receive(part.stream, target);
          spooling.catch(() => undefined);
        } else if (part.name === 'attestation') {
          const collected = collect(part, MAX_ATTESTATION_BYTES).then((b) => void (attestation = b));
          collected.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
          collecting.push(collected);
        } else {
          part.stream.resume(); // unknown parts are read past, not stored
        }
      },
      { maxHeaderBytes: 16 * 1024, maxParts: 8 },
    );
  } catch (e) {
    let reason = e;
    if (e instanceof PartConsumerGone) {
      // the part's consumer that stopped reading has the real reason (too large, not a package ...)
      const settled = await Promise.allSettled([...(spooling ? [spooling] : []), ...collecting]);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) reason = failed.reason;
    }
    req.raw.resume(); // read and drop the rest, so the client, still sending, gets the answer
    if (spooling) await spooling.then((f) => f.discard(), () => undefined);
    throw reason;
  }
  if (!filePart || !spooling) throw invalid('missing_file', 'the form has no "file" part');
  const spooled = await spooling;
  try {
    await Promise.all(collecting);
  } catch (e) {
    await spooled.discard();
    throw e;
  }
  const part = filePart as MultipartPart;
  return {
    spooled,
    filename: part.headers['x-file-name'] ?? part.filename,
    sha256: part.headers['x-file-sha256'] ?? header(req, 'x-file-sha256'),
    attestation,
  };
}

function collect(part: MultipartPart, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    part.stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        part.stream.destroy();
        reject(new ProvenaError('attestation_too_large', 'unprocessable', `the attestation part exceeds ${max} bytes; a Sigstore bundle is a few KiB`));
        return;
      }
      chunks.push(c);
    });
    part.stream.on('end', () => resolve(Buffer.concat(chunks)));
    part.stream.on('error', reject);
  });
}

/** Content-Length of a raw upload body, so an oversized one is refused before a byte is spooled. */
function declaredLength(req: FastifyRequest): number | undefined {
  const v = Number(header(req, 'content-length'));
  return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
