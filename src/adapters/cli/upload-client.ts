import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { describeFailure, type ServerTarget } from './api-client.ts';
import { CliError } from './cli-error.ts';
import { ProgressBar } from './progress.ts';
import { hashFile } from './file-digest.ts';

export interface UploadOptions {
  channel: string;
  force: boolean;
  attestation?: Buffer;
}

export type UploadResult = { status: 'uploaded'; body: unknown } | { status: 'exists'; detail: string };

/**
 * Uploads one package the way rattler-build does (multipart: `file` part with X-File-Name and
 * X-File-SHA256, optional `attestation` part), streaming the file with a known Content-Length.
 */
export async function uploadPackage(target: ServerTarget, file: string, opts: UploadOptions): Promise<UploadResult> {
  const filename = path.basename(file);
  const size = (await stat(file).catch(() => {
    throw new CliError(`cannot read ${file}: no such file`, 2);
  })).size;
  const sha256 = await hashFile(file);
  const boundary = `provena-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\n` +
      `Content-Disposition: form-data; name="file"; filename="${filename.replace(/"/g, '')}"\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${size}\r\n` +
      `X-File-Name: ${filename}\r\nX-File-SHA256: ${sha256}\r\n\r\n`,
  );
  const attestation = opts.attestation
    ? Buffer.concat([
        Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="attestation"\r\n\r\n`),
        opts.attestation,
      ])
    : Buffer.alloc(0);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const url = new URL(`${target.server.replace(/\/+$/, '')}/api/v1/upload/${encodeURIComponent(opts.channel)}`);
  if (opts.force) url.searchParams.set('force', 'true');

  const progress = new ProgressBar(`upload ${filename}`, size);
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + size + attestation.length + tail.length),
        ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', (e) => reject(new CliError(`cannot reach ${target.server}: ${e.message}`, 3)));
    req.write(head);
    const body = createReadStream(file, { highWaterMark: 1024 * 1024 });
    body.on('data', (c) => progress.tick((c as Buffer).length));
    body.on('error', reject);
    body.on('end', () => {
      req.write(attestation);
      req.end(tail);
    });
    body.pipe(req, { end: false });
  });
  progress.finish();
  if (status === 409) return { status: 'exists', detail: describeFailure(status, text) };
  if (status < 200 || status >= 300) throw new CliError(`${filename}: ${describeFailure(status, text)}`, 1);
  return { status: 'uploaded', body: JSON.parse(text) };
}
