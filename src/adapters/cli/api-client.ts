import { CliError } from './cli-error.ts';

export interface ServerTarget {
  server: string;
  token: string | undefined;
}

/** JSON over HTTP to a Provena server, with errors turned into one-line CLI failures. */
export async function apiRequest<T>(
  target: ServerTarget,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const url = `${target.server.replace(/\/+$/, '')}${path}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new CliError(`cannot reach ${target.server}: ${(e as Error).cause ?? (e as Error).message}; check --server / PROVENA_SERVER`, 3);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!res.ok) throw new CliError(describeFailure(res.status, text), 1);
  return (text ? JSON.parse(text) : undefined) as T;
}

export function describeFailure(status: number, text: string): string {
  try {
    const j = JSON.parse(text) as { error?: string; detail?: string };
    if (j.error) return `server refused (${status} ${j.error}): ${j.detail ?? ''}`.trim();
  } catch {
    // not JSON: fall through
  }
  return `server answered ${status}: ${text.slice(0, 200)}`;
}
