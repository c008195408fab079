import { createHash } from 'node:crypto';
import { KNOWN_SUBDIRS, isKnownSubdir } from '../../core/conda/platforms.ts';
import { isProvenaError } from '../../core/errors.ts';
import { TUF_TARGET_FILES } from '../../core/tuf/target-copies.ts';
import { SignedRepodata } from '../tuf/tuf-client.ts';
import { CliError, usageError } from './cli-error.ts';
import { parse } from './run-cli.ts';

const USAGE = `usage: provena mirror-check MIRROR_URL --origin ORIGIN_URL [--subdir SUBDIR]... [--trust-store DIR] [--channel-root FILE] [--json]
compares the repodata a mirror serves with what the origin channel's signed metadata names;
exit 0 all current, 1 a file differs or is missing, 2 usage, 3 network`;

interface FileCheck {
  path: string;
  status: 'current' | 'differs' | 'missing';
  expected: { sha256: string; length: number };
  actual: { sha256: string; length: number } | null;
}

/**
 * `provena mirror-check MIRROR --origin ORIGIN`: the origin's metadata is read through the TUF client
 * (so it is itself verified: signatures, versions, expiry), then each repodata file the mirror serves
 * is hashed and compared with what the signed targets say; a stale, frozen or altered mirror shows.
 */
export async function mirrorCheckCommand(args: string[], _env: NodeJS.ProcessEnv, io = { out: (l: string) => process.stdout.write(`${l}\n`) }): Promise<number> {
  const { values, positionals } = parse(
    args,
    { origin: { type: 'string' }, subdir: { type: 'string', multiple: true }, 'trust-store': { type: 'string' }, 'channel-root': { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  if (positionals.length !== 1 || values.origin === undefined) throw usageError(USAGE);
  const mirror = positionals[0]!.replace(/\/+$/, '');
  const origin = values.origin.replace(/\/+$/, '');
  for (const u of [mirror, origin]) if (!/^https?:\/\//.test(u)) throw usageError(`expected an http(s) channel URL, got ${JSON.stringify(u)}`);
  const subdirs = values.subdir ?? [...KNOWN_SUBDIRS];
  for (const s of subdirs) if (!isKnownSubdir(s)) throw usageError(`--subdir: ${JSON.stringify(s)} is not a conda subdir`);

  let expected: Map<string, { sha256: string; length: number }>;
  try {
    const channel = await new SignedRepodata({ trustStore: values['trust-store'], root: values['channel-root'] }).channel(origin);
    if (channel === null) throw new CliError(`${origin} serves no signed repodata (no tuf/1.root.json): nothing to compare a mirror with`, 1);
    expected = await channel.targets(subdirs.flatMap((s) => TUF_TARGET_FILES.map((f) => `${s}/${f}`)));
  } catch (e) {
    if (isProvenaError(e)) throw new CliError(`${e.code}: ${e.detail}`, e.kind === 'unavailable' ? 3 : 1);
    throw e;
  }

  const checks: FileCheck[] = [];
  for (const [path, want] of expected) {
    const actual = await hashOf(`${mirror}/${path}`);
    const status = actual === null ? 'missing' : actual.sha256 === want.sha256 && actual.length === want.length ? 'current' : 'differs';
    checks.push({ path, status, expected: want, actual });
  }
  const bad = checks.filter((c) => c.status !== 'current');
  if (values.json) {
    io.out(JSON.stringify({ ok: bad.length === 0, mirror, origin, files: checks }));
  } else {
    for (const c of checks) {
      io.out(`${c.status === 'current' ? 'current' : c.status.toUpperCase()} ${c.path}${c.status === 'differs' ? `: mirror has sha256 ${c.actual!.sha256.slice(0, 16)}… (${c.actual!.length} bytes), origin signed ${c.expected.sha256.slice(0, 16)}… (${c.expected.length} bytes)` : ''}`);
    }
    io.out(bad.length === 0 ? `${mirror} serves the repodata ${origin} signed (${checks.length} files)` : `${mirror} is NOT current: ${bad.length} of ${checks.length} files differ from ${origin}'s signed metadata or are missing`);
  }
  return bad.length === 0 ? 0 : 1;
}

async function hashOf(url: string): Promise<{ sha256: string; length: number } | null> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
  } catch (e) {
    throw new CliError(`cannot reach ${url}: ${(e as Error).message}`, 3);
  }
  if (res.status === 404) return null;
  if (!res.ok) throw new CliError(`${url} answered ${res.status}`, 3);
  const h = createHash('sha256');
  let length = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    h.update(chunk);
    length += chunk.byteLength;
  }
  return { sha256: h.digest('hex'), length };
}
