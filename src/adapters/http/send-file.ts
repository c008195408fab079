import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BlobStore, ByteRange } from '../../core/channel/ports.ts';
import type { ServedFile } from '../../core/channel/served-files.ts';
import { notFound } from '../../core/errors.ts';

/**
 * Sends a channel file the way conda clients and CDNs expect: strong ETag, `If-None-Match` → 304,
 * single `Range` → 206 (conda-package-streaming reads a .conda's tail with `bytes=-10240`), HEAD.
 */
export async function sendServedFile(req: FastifyRequest, reply: FastifyReply, served: ServedFile, blobs: BlobStore) {
  // a known validator answers a revalidation without touching storage (conda's common request)
  if (served.etag !== undefined && etagMatches(req.headers['if-none-match'], served.etag)) {
    reply.header('etag', served.etag);
    reply.header('cache-control', served.cacheControl);
    return reply.code(304).send();
  }
  let file = served;
  let handle = null;
  if (file.source === 'blob') {
    handle = await blobs.open(file.key);
    if (!handle) {
      if (!file.fallback) throw notFound('file_not_found', 'the file is not in the channel');
      file = file.fallback;
    }
  }
  const size = handle ? handle.stat.size : (file as Extract<ServedFile, { source: 'bytes' }>).bytes.length;
  const etag = file.etag ?? handle!.stat.etag;
  reply.header('etag', etag);
  reply.header('cache-control', file.cacheControl);
  reply.header('accept-ranges', 'bytes');
  if (handle) reply.header('last-modified', handle.stat.lastModified.toUTCString());

  if (etagMatches(req.headers['if-none-match'], etag)) {
    await handle?.close();
    return reply.code(304).send();
  }

  let range: ByteRange | undefined;
  const rangeHeader = req.headers.range;
  const ifRange = req.headers['if-range'];
  if (rangeHeader !== undefined && (ifRange === undefined || ifRange === etag)) {
    const parsed = parseRange(rangeHeader, size);
    if (parsed === 'unsatisfiable') {
      await handle?.close();
      reply.header('content-range', `bytes */${size}`);
      return reply.code(416).type('application/json').send({ error: 'range_not_satisfiable', detail: `the file has ${size} bytes` });
    }
    range = parsed ?? undefined;
  }

  reply.type(file.contentType);
  if (range) {
    reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
  }
  const length = range ? range.end - range.start + 1 : size;
  reply.header('content-length', String(length));
  if (req.method === 'HEAD') {
    await handle?.close();
    return reply.send();
  }
  if (!handle) {
    const bytes = (file as Extract<ServedFile, { source: 'bytes' }>).bytes;
    return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).subarray(range?.start ?? 0, (range?.end ?? size - 1) + 1));
  }
  return reply.send(handle.stream(range));
}

export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  // weak comparison, as RFC 9110 prescribes for If-None-Match
  const strip = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => strip(t) === strip(etag));
}

/**
 * One byte range, or null to ignore the header (malformed or several ranges: RFC 9110 lets a server
 * answer those with the whole file), or 'unsatisfiable' for a range past the end.
 */
export function parseRange(header: string, size: number): ByteRange | null | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size) return 'unsatisfiable';
  if (end < start) return null;
  return { start, end };
}
