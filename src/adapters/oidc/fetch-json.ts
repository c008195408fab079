import type { FetchJson } from '../../core/publish/issuer-keys.ts';

const MAX_BYTES = 1024 * 1024;
const TIMEOUT_MS = 5_000;

/**
 * Fetches an issuer's discovery document or JWKS: GET, 5 s, at most 1 MiB, no redirects (the URL is
 * the one the issuer named; following redirects would let anyone on the way choose our keys).
 */
export const fetchJson: FetchJson = async (url) => {
  const res = await fetch(url, {
    headers: { accept: 'application/json' },
    redirect: 'error',
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_BYTES) throw new Error(`GET ${url}: ${declared} bytes is over the ${MAX_BYTES}-byte limit`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.length;
    if (size > MAX_BYTES) throw new Error(`GET ${url}: over the ${MAX_BYTES}-byte limit`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new Error(`GET ${url}: not JSON`);
  }
};
