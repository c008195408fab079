import { invalid } from '../errors.ts';

/** CEP-27 bounds targetChannel; the same bound keeps URL parsing cheap. */
export const MAX_CHANNEL_URL_LENGTH = 2083;

/**
 * The one spelling of a channel URL used for comparison: lowercase scheme and host, default port dropped,
 * no trailing slash, no query, fragment or credentials; the path keeps its case (channel names are paths).
 * Dot segments are resolved by the URL parser, as any HTTP client would before fetching.
 */
export function normalizeChannelUrl(url: string): string {
  const u = parseHttpUrl(url);
  if (u === null) throw invalid('channel_url_invalid', `channel URL: expected an http(s) URL, got ${JSON.stringify(url)}`);
  return canonical(u);
}

/** What is wrong with an attested targetChannel, or null when it is a plain channel URL. */
export function targetChannelProblem(url: string): string | null {
  if (url.length === 0 || url.length > MAX_CHANNEL_URL_LENGTH) return `length must be 1..${MAX_CHANNEL_URL_LENGTH}, got ${url.length}`;
  const u = parseHttpUrl(url);
  if (u === null) return 'not an http(s) URL';
  // A signer that attests a URL with credentials or a query attests something other than a channel:
  // refusing is safer than guessing which part the signer meant.
  if (u.username !== '' || u.password !== '') return 'carries credentials';
  if (u.search !== '' || url.includes('?')) return 'carries a query';
  if (u.hash !== '' || url.includes('#')) return 'carries a fragment';
  return null;
}

function parseHttpUrl(url: string): URL | null {
  if (url.length > MAX_CHANNEL_URL_LENGTH * 2) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  if (u.hostname === '') return null;
  return u;
}

function canonical(u: URL): string {
  // URL already lowercases scheme and host and drops the scheme's default port.
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.protocol}//${u.host}${path}`;
}
