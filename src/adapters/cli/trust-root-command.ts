import * as path from 'node:path';
import { loadSettings } from '../config/settings.ts';
import { TrustRootUpdateError, updateTrustRoot, type TrustRootUpdate } from '../sigstore/tuf-refresh.ts';
import { CliError, usageError } from './cli-error.ts';
import { parse } from './run-cli.ts';

const USAGE = 'provena trust-root update [--data DIR] [--staging] [--tuf-url URL] [--tuf-root FILE]';

/**
 * `provena trust-root update`: refreshes the Sigstore trusted root the server checks attestations against,
 * through TUF (src/adapters/sigstore/tuf-refresh.ts). One line out; exit 0 updated or already current,
 * 1 TUF or the trusted root refused, 2 usage or setup, 3 the repository could not be reached.
 */
export async function trustRootCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'update') throw usageError(`usage: ${USAGE}`);
  const { values } = parse(
    rest,
    {
      data: { type: 'string' },
      config: { type: 'string' },
      staging: { type: 'boolean' },
      'tuf-url': { type: 'string' },
      'tuf-root': { type: 'string' },
    },
    false,
  );
  // the same data directory `provena serve` would use (flag, config file, PROVENA_DATA, default)
  const dataDir = path.resolve(loadSettings({ data: values.data, config: values.config }, env).data);
  const tufUrl = values['tuf-url'];
  if (tufUrl !== undefined && !/^https?:\/\/[^/]/.test(tufUrl)) throw usageError(`--tuf-url must be an http(s) URL, got ${JSON.stringify(tufUrl)}`);
  const instance = values.staging ? 'staging' : 'public-good';

  let result: TrustRootUpdate;
  try {
    result = await updateTrustRoot({ dataDir, instance, mirrorUrl: tufUrl, tufRootFile: values['tuf-root'] });
  } catch (e) {
    if (!(e instanceof TrustRootUpdateError)) throw e;
    const kept = 'the server keeps using its current trusted root';
    switch (e.failure) {
      case 'unreachable':
        throw new CliError(`${e.message}; ${kept}. Check the network (or --tuf-url) and try again`, 3);
      case 'tuf':
      case 'invalid_root':
        throw new CliError(`${e.message}; nothing was written, ${kept}`, 1);
      case 'setup':
        throw new CliError(`${e.message}; ${kept}`, 2);
    }
  }
  process.stdout.write(`provena: ${describe(result, instance)}\n`);
  return 0;
}

function describe(r: TrustRootUpdate, instance: string): string {
  const tuf = `TUF root v${r.tufRootVersion}, targets v${r.targetsVersion} expiring ${r.targetsExpires}`;
  const m = r.root.material;
  const newest = newestStart(m);
  const content = `CAs ${m.certificateAuthorities.length}, logs ${m.tlogs.length}, TSAs ${m.timestampAuthorities.length}${newest ? `, newest key from ${newest}` : ''}`;
  if (!r.changed) return `${instance} trusted root already current (${tuf}; sha256 ${r.sha256.slice(0, 12)}; ${r.file})`;
  const was = r.previousSha256 ? `replaced sha256 ${r.previousSha256.slice(0, 12)}` : 'was the embedded copy';
  return `updated ${instance} trusted root from ${r.mirrorUrl} (${tuf}; ${content}; sha256 ${r.sha256.slice(0, 12)}, ${was}) in ${r.file}; restart provena serve to use it`;
}

/** The latest validity start among the root's keys and certificates: a date that tells roots apart. */
function newestStart(m: TrustRootUpdate['root']['material']): string | null {
  const starts = [...m.certificateAuthorities, ...m.timestampAuthorities, ...m.tlogs, ...m.ctlogs]
    .map((x) => x.validFor.start)
    .filter((d) => !Number.isNaN(d.getTime()));
  if (starts.length === 0) return null;
  return new Date(Math.max(...starts.map((d) => d.getTime()))).toISOString().slice(0, 10);
}
