import { PassThrough, type Readable } from 'node:stream';
import { invalid } from '../../core/errors.ts';

/** One part of a multipart/form-data body. `stream` yields its bytes with backpressure. */
export interface MultipartPart {
  name: string;
  filename: string | undefined;
  /** the part's own headers, lower-cased: rattler-build puts X-File-Name and X-File-SHA256 here */
  headers: Record<string, string>;
  stream: PassThrough;
}

export interface MultipartLimits {
  maxHeaderBytes: number;
  maxParts: number;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

export function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) throw invalid('invalid_multipart', 'multipart/form-data needs a boundary parameter');
  return boundary;
}

/**
 * A streaming multipart/form-data parser that, unlike busboy, exposes each part's headers. A part is
 * handed to `onPart` as soon as its headers are read; its bytes follow through `part.stream`, and the
 * parser waits for the consumer (backpressure), so a 2 GB part never sits in memory.
 */
export async function parseMultipart(
  body: Readable,
  contentType: string,
  onPart: (part: MultipartPart) => void,
  limits: MultipartLimits,
): Promise<void> {
  const delimiter = Buffer.from(`\r\n--${boundaryOf(contentType)}`);
  // the body starts with `--boundary`; a virtual CRLF in front makes the first delimiter like the rest
  let buf: Buffer = Buffer.from(CRLF);
  let state: 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done' = 'preamble';
  let part: MultipartPart | null = null;
  let parts = 0;

  const write = async (data: Buffer) => {
    if (!part || data.length === 0) return;
    const stream = part.stream;
    if (stream.destroyed) throw new PartConsumerGone();
    if (!stream.write(data)) {
      await new Promise<void>((resolve, reject) => {
        const cleanup = () => {
          stream.off('drain', onDrain);
          stream.off('close', onClose);
        };
        const onDrain = () => (cleanup(), resolve());
        const onClose = () => (cleanup(), reject(new PartConsumerGone()));
        stream.on('drain', onDrain);
        stream.on('close', onClose);
      });
    }
  };

  // leaving the loop early (a refusal) must not destroy the request: the caller drains it so the
  // client, still sending, can read the answer
  for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      if (state === 'preamble' || state === 'body') {
        const at = buf.indexOf(delimiter);
        if (at === -1) {
          // keep a tail that could be the start of a delimiter split across chunks
          const keep = Math.min(buf.length, delimiter.length - 1);
          if (state === 'body') await write(buf.subarray(0, buf.length - keep));
          buf = buf.subarray(buf.length - keep);
          break;
        }
        if (state === 'body') {
          await write(buf.subarray(0, at));
          part?.stream.end();
          part = null;
        }
        buf = buf.subarray(at + delimiter.length);
        state = 'after-delimiter';
      } else if (state === 'after-delimiter') {
        if (buf.length < 2) break;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'done';
          break;
        }
        const eol = buf.indexOf(CRLF);
        if (eol === -1) {
          if (buf.length > 256) throw invalid('invalid_multipart', 'malformed multipart delimiter line');
          break;
        }
        buf = buf.subarray(eol + 2);
        state = 'headers';
      } else if (state === 'headers') {
        const end = buf.indexOf(HEADER_END);
        const headerText = end === -1 ? null : buf.subarray(0, end).toString('latin1');
        if (end === -1 && buf.length > limits.maxHeaderBytes) {
          throw invalid('invalid_multipart', `a multipart part's headers exceed ${limits.maxHeaderBytes} bytes`);
        }
        if (headerText === null) break;
        if (++parts > limits.maxParts) throw invalid('invalid_multipart', `more than ${limits.maxParts} parts in the form`);
        part = makePart(headerText);
        buf = buf.subarray(end + HEADER_END.length);
        state = 'body';
        onPart(part);
      } else {
        break;
      }
    }
    if (state === 'done') break;
  }
  if (state !== 'done') {
    part?.stream.destroy(invalid('invalid_multipart', 'the multipart body ended before its closing boundary'));
    throw invalid('invalid_multipart', 'the multipart body ended before its closing boundary; the upload was cut short');
  }
}

/** The part's consumer stopped reading (it failed); its own error says why. */
export class PartConsumerGone extends Error {
  constructor() {
    super('the consumer of a multipart part stopped reading');
  }
}

function makePart(headerText: string): MultipartPart {
  const headers: Record<string, string> = {};
  for (const line of headerText.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw invalid('invalid_multipart', `malformed part header line ${JSON.stringify(line.slice(0, 80))}`);
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const disposition = headers['content-disposition'] ?? '';
  if (!/^form-data\b/i.test(disposition)) throw invalid('invalid_multipart', 'each part needs Content-Disposition: form-data');
  const name = dispositionParam(disposition, 'name');
  if (name === undefined) throw invalid('invalid_multipart', 'a form part has no name');
  // Latin-1 header bytes carry UTF-8 filenames in practice
  const filename = dispositionParam(disposition, 'filename');
  return { name, filename, headers, stream: new PassThrough({ highWaterMark: 1024 * 1024 }) };
}

function dispositionParam(disposition: string, key: string): string | undefined {
  const m = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${key}=([^;\\s]+)`, 'i').exec(disposition);
  const raw = m?.[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m?.[2];
  return raw === undefined ? undefined : Buffer.from(raw, 'latin1').toString('utf8');
}
