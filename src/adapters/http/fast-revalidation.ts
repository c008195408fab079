import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServedFiles } from '../../core/channel/served-files.ts';
import { etagMatches } from './send-file.ts';

/**
 * Answers anonymous `If-None-Match` revalidations of public repodata with 304 before the request
 * reaches the framework (conda sends one per subdir per run; the framework's per-request cost was
 * the ceiling there). Returns false, touching nothing, for every other request.
 */
export function answerRevalidation(req: IncomingMessage, res: ServerResponse, served: ServedFiles): boolean {
  const ifNoneMatch = req.headers['if-none-match'];
  if (!ifNoneMatch || (req.method !== 'GET' && req.method !== 'HEAD') || req.headers.authorization !== undefined) return false;
  const url = req.url ?? '';
  if (url.includes('?') || url.includes('%')) return false;
  const parts = url.split('/');
  if (parts.length !== 4 || parts[0] !== '') return false;
  const current = served.currentValidator(parts[1]!, parts[2]!, parts[3]!);
  if (!current || !etagMatches(ifNoneMatch, current.etag)) return false;
  res.writeHead(304, { etag: current.etag, 'cache-control': current.cacheControl });
  res.end();
  return true;
}
