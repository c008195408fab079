import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadSettings, SettingsError } from '../config/settings.ts';
import { CliError, usageError } from './cli-error.ts';
import { channelCommand, keyCommand, removeCommand, uploadCommand } from './client-commands.ts';
import { indexDirectory } from './index-command.ts';
import { logCommand } from './log-commands.ts';
import { publisherCommand } from './publisher-commands.ts';

const USAGE = `usage: provena <command> [options]

server:
  serve [--data DIR] [--host H] [--port N] [--public-url URL] [--config FILE] [--admin-token T] [--trusted-root FILE|public-good|staging]...
        [--database postgres://... [--database-pool-size N] [--database-schema S]] [--blobs-dir DIR]
        [--storage s3://BUCKET/PREFIX [--s3-endpoint URL] [--s3-region R] [--s3-force-path-style true]]
  index DIR                              write repodata for a directory of packages
  migrate [--database postgres://... [--database-schema S] | --data DIR]   apply schema migrations (serve does too, on start)
  backup DEST [--data DIR]               consistent copy of the embedded default while it runs (docs/operations.md)
  restore SRC --data NEWDIR              check a backup's manifest and restore it into a new data directory
  admin-token rotate [--data DIR]        new admin token; a running server switches to it (old one refused)
  import DIR|repodata.json --channel NAME [--data DIR] [--database ...] [--storage s3://BUCKET/PREFIX] [--config FILE]
                                         load an existing channel (records, packages, log entries) into the server's storage
  trust-root update [--data DIR] [--staging] [--tuf-url URL] [--tuf-root FILE]   refresh the Sigstore trusted root via TUF

client (--server URL / PROVENA_SERVER, --token T / PROVENA_TOKEN):
  channel create NAME [--private] | list | delete NAME | update NAME [--private|--public] [--max-package-size SIZE|none]
  key create --channel NAME --scope read|upload|admin [--expires DAYS] [--json] | list [--channel NAME] | revoke ID
  upload FILE... --channel NAME [--attestation BUNDLE]... [--skip-existing] [--force]
  upload FILE... --trusted-publishing [--channel NAME] [--attestation BUNDLE]...   (in CI: OIDC, no API key)
  remove NAME [SUBDIR/]FILE
  publisher add CHANNEL --kind github|gitlab|generic ... | list CHANNEL | remove CHANNEL ID
  tuf keygen FILE | init CHANNEL --root-key FILE... [--threshold N] | sign-root CHANNEL --old-root-key FILE... ...
                                         signed repodata: offline root keys, root and online-key rotation

transparency log:
  log verify-receipt RECEIPT_FILE [--key VERIFIER_KEY_TEXT_OR_FILE [--keys SERVER/log/keys]] [--file PACKAGE]
  log monitor SERVER --state FILE [--watch NAME...] [--key VERIFIER_KEY_TEXT_OR_FILE] [--token READ_KEY]
  log rotate-key [--data DIR]            new signing key, announced in the log (server stopped; docs/operations.md)

provenance (exit 0 verified, 1 failed, 2 usage, 3 network; --json on every verify command):
  verify FILE|sha256:HEX --bundle BUNDLE (IDENTITY | --key PEM) [--channel URL]   offline
  verify URL/NAME/SUBDIR/FILE (IDENTITY | --policy FILE) [--log-state FILE]
  verify --channel URL SPEC... (IDENTITY | --policy FILE) [--subdir SUBDIR]... [--log-state FILE]
  verify-env LOCKFILE --policy POLICY [--environment ENV]... [--platform P]... [--log-state FILE]
            verify and verify-env read signed repodata (TUF) when offered: [--trust-store DIR] [--channel-root FILE]
  mirror-check MIRROR_URL --origin ORIGIN_URL [--subdir S]... [--trust-store DIR]   is a mirror serving what the origin signed?
  attest FILE... --channel URL [--identity-token T] [--fulcio-url U] [--rekor-url U] [--tsa-url U|--no-tsa]
  IDENTITY: --certificate-identity(-regexp) X --certificate-oidc-issuer(-regexp) Y | --repo OWNER/NAME
            [--signer-workflow OWNER/NAME/.github/workflows/FILE] [--ref REF]; trust: [--trusted-root FILE]... [--staging]
`;

/** `serve`'s flags, one per setting that has one (docs/configuration.md says which). */
export const SERVE_OPTIONS = {
  data: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'public-url': { type: 'string' },
  config: { type: 'string' },
  'admin-token': { type: 'string' },
  'max-package-size': { type: 'string' },
  'log-level': { type: 'string' },
  'trusted-root': { type: 'string', multiple: true },
  'log-origin': { type: 'string' },
  'log-key': { type: 'string' },
  'log-batch-ms': { type: 'string' },
  storage: { type: 'string' },
  's3-endpoint': { type: 'string' },
  's3-region': { type: 'string' },
  's3-force-path-style': { type: 'string' },
  database: { type: 'string' },
  'database-pool-size': { type: 'string' },
  'database-schema': { type: 'string' },
  'blobs-dir': { type: 'string' },
  'tuf-key-dir': { type: 'string' },
  'tuf-timestamp-seconds': { type: 'string' },
  'tuf-root-seconds': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** Runs one CLI command and returns its exit code; errors become one line on stderr. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve': {
        const { values } = parse(rest, SERVE_OPTIONS, false);
        const flags = Object.fromEntries(Object.entries(values).map(([k, v]) => [k.replace(/-/g, '_'), v as string | string[]]));
        const { serve } = await import('./serve.ts');
        await serve(loadSettings(flags, env));
        return 0; // the server keeps the process alive
      }
      case 'import': {
        const { values, positionals } = parse(rest, { ...SERVE_OPTIONS, channel: { type: 'string' } }, true);
        const { channel, ...serverValues } = values;
        if (positionals.length !== 1 || typeof channel !== 'string') {
          throw usageError('give one source and a channel: provena import DIR|repodata.json --channel NAME');
        }
        const flags = Object.fromEntries(Object.entries(serverValues).map(([k, v]) => [k.replace(/-/g, '_'), v as string | string[]]));
        const { importCommand } = await import('./import-command.ts');
        return await importCommand(positionals[0]!, channel, loadSettings(flags, env));
      }
      case 'migrate': {
        const { values } = parse(rest, SERVE_OPTIONS, false);
        const flags = Object.fromEntries(Object.entries(values).map(([k, v]) => [k.replace(/-/g, '_'), v as string | string[]]));
        const { migrateCommand } = await import('./migrate-command.ts');
        return await migrateCommand(loadSettings(flags, env));
      }
      case 'index': {
        const { positionals } = parse(rest, {}, true);
        if (positionals.length !== 1) throw usageError('give one directory: provena index DIR');
        await indexDirectory(positionals[0]!, (line) => process.stdout.write(`${line}\n`));
        return 0;
      }
      case 'channel':
        return await channelCommand(rest, env);
      case 'key':
        return await keyCommand(rest, env);
      case 'upload':
        return await uploadCommand(rest, env);
      case 'remove':
        return await removeCommand(rest, env);
      case 'log':
        return await logCommand(rest, env);
      case 'publisher':
        return await publisherCommand(rest, env);
      case 'trust-root':
        return await (await import('./trust-root-command.ts')).trustRootCommand(rest, env);
      case 'backup':
      case 'restore':
      case 'admin-token':
        return await (await import('./ops-commands.ts')).opsCommand(command, rest, env);
      case 'verify':
        return await (await import('./verify-command.ts')).verifyCommand(rest, env);
      case 'tuf':
        return await (await import('./tuf-commands.ts')).tufCommand(rest, env);
      case 'mirror-check':
        return await (await import('./mirror-check-command.ts')).mirrorCheckCommand(rest, env);
      case 'verify-env':
        return await (await import('./verify-env-command.ts')).verifyEnvCommand(rest, env);
      case 'attest':
        return await (await import('./attest-command.ts')).attestCommand(rest, env);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw usageError(`unknown command ${JSON.stringify(command)}; run provena --help`);
    }
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`provena: ${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof SettingsError) {
      process.stderr.write(`provena: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, positionals: boolean) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (e) {
    throw usageError(`${(e as Error).message}; run provena --help`);
  }
}
