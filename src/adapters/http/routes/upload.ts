import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppServices } from '../../../app.ts';
import type { SpooledFile } from '../../../core/channel/receive.ts';
import { invalid, ProvenaError } from '../../../core/errors.ts';
import { parseMultipart, PartConsumerGone, type MultipartPart } from '../multipart.ts';
import { principalOf } from '../principal.ts';
import { packageJson } from '../json-views.ts';
import { uploadReceipt } from './log.ts';

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
      { bodyLimit: Number.MAX_SAFE_INTEGER },
      async (req, reply) => {
        const force = req.query.force === 'true' || req.query.force === '1';
        const principal = await principalOf(req, s.access);
        const target = await s.ingest.authorize(principal, req.params.channel, force);
        const contentType = req.headers['content-type'] ?? '';
        const received = /^multipart\/form-data/i.test(contentType)
          ? await receiveMultipart(req, contentType, s)
          : await receiveRaw(req, s);
        const pkg = await s.ingest.accept(
          target,
          { filename: received.filename, declaredSha256: received.sha256, subdir: req.query.subdir, attestation: received.attestation },
          received.spooled,
        );
        return reply.code(201).send({ ...packageJson(pkg), receipt: await uploadReceipt(s, pkg.logIndex, req.log) });
      },
    );
  });
}

async function receiveRaw(req: FastifyRequest, s: AppServices): Promise<ReceivedUpload> {
  const filename = header(req, 'x-file-name');
  s.ingest.checkFilename(filename);
  const spooled = await s.ingest.receive(req.raw);
  return { spooled, filename, sha256: header(req, 'x-file-sha256'), attestation: undefined };
}

async function receiveMultipart(req: FastifyRequest, contentType: string, s: AppServices): Promise<ReceivedUpload> {
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
          spooling = s.ingest.receive(part.stream);
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

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
