import { createHash, randomBytes } from 'node:crypto';

export interface UploadResponse {
  status: number;
  json: any;
}

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The legacy form rattler-build still sends: raw body, X-File-Name / X-File-SHA256 request headers. */
export async function uploadRaw(
  server: { url: string },
  channel: string,
  filename: string,
  bytes: Uint8Array,
  opts: { token?: string | null; sha256?: string | null; force?: boolean; subdir?: string } = {},
): Promise<UploadResponse> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'x-file-name': filename,
  };
  const sha = opts.sha256 === undefined ? sha256Hex(bytes) : opts.sha256;
  if (sha !== null) headers['x-file-sha256'] = sha;
  if (opts.token !== null && opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(uploadUrl(server, channel, opts), {
    method: 'POST',
    headers,
    body: bytes,
  });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

/**
 * The current form, byte for byte as rattler-build's `upload prefix` builds it: a `file` part whose
 * own headers carry Content-Type, Content-Length, X-File-Name and X-File-SHA256, and an optional
 * `attestation` text part.
 */
export function multipartBody(filename: string, bytes: Uint8Array, opts: { attestation?: string; sha256?: string } = {}) {
  const boundary = `${randomBytes(8).toString('hex')}-${randomBytes(8).toString('hex')}`;
  const parts: Buffer[] = [
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        `content-type: application/octet-stream\r\ncontent-length: ${bytes.length}\r\n` +
        `x-file-name: ${filename}\r\nx-file-sha256: ${opts.sha256 ?? sha256Hex(bytes)}\r\n\r\n`,
    ),
    Buffer.from(bytes),
  ];
  if (opts.attestation !== undefined) {
    parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="attestation"\r\n\r\n${opts.attestation}`));
  }
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

export async function uploadMultipart(
  server: { url: string },
  channel: string,
  filename: string,
  bytes: Uint8Array,
  opts: { token?: string | null; attestation?: string; force?: boolean; sha256?: string; subdir?: string } = {},
): Promise<UploadResponse> {
  const { body, contentType } = multipartBody(filename, bytes, opts);
  const headers: Record<string, string> = { 'content-type': contentType };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(uploadUrl(server, channel, opts), {
    method: 'POST',
    headers,
    body,
  });
  return { status: res.status, json: await res.json().catch(() => undefined) };
}

function uploadUrl(server: { url: string }, channel: string, opts: { force?: boolean; subdir?: string }): string {
  const url = new URL(`${server.url}/api/v1/upload/${channel}`);
  if (opts.force) url.searchParams.set('force', 'true');
  if (opts.subdir) url.searchParams.set('subdir', opts.subdir);
  return url.toString();
}
