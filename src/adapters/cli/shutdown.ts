import type { FastifyInstance } from 'fastify';

/**
 * Stops accepting connections and lets the requests in progress finish (a slow upload included: it
 * is received, committed and acknowledged). Idle keep-alive connections are closed as soon as they
 * are idle, so a finished client does not hold the shutdown for the keep-alive timeout. After
 * `timeoutSeconds` the remaining connections are cut: their uploads are not acknowledged and leave
 * nothing stored (the commit is the acknowledgement). Returns whether it had to cut.
 */
export async function drainHttp(http: FastifyInstance, timeoutSeconds: number, say: (line: string) => void): Promise<boolean> {
  const server = http.server;
  let forced = false;
  const reaper = setInterval(() => server.closeIdleConnections(), 100);
  const deadline = setTimeout(() => {
    forced = true;
    say(`provena: shutdown_timeout (${timeoutSeconds} s) passed; closing the remaining connections`);
    server.closeAllConnections();
  }, timeoutSeconds * 1000);
  try {
    await http.close();
  } finally {
    clearInterval(reaper);
    clearTimeout(deadline);
  }
  return forced;
}
