import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadSettings, SettingsError } from '../config/settings.ts';
import { CliError, usageError } from './cli-error.ts';
import { channelCommand, keyCommand, removeCommand, uploadCommand } from './client-commands.ts';
import { indexDirectory } from './index-command.ts';

const USAGE = `usage: provena <command> [options]

server:
  serve [--data DIR] [--host H] [--port N] [--public-url URL] [--config FILE] [--admin-token T]
  index DIR                              write repodata for a directory of packages

client (--server URL / PROVENA_SERVER, --token T / PROVENA_TOKEN):
  channel create NAME [--private] | list | delete NAME | update NAME [--private|--public]
  key create --channel NAME --scope read|upload|admin [--expires DAYS] [--json] | list [--channel NAME] | revoke ID
  upload FILE... --channel NAME [--skip-existing] [--force]
  remove NAME [SUBDIR/]FILE
`;

const SERVE_OPTIONS = {
  data: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'public-url': { type: 'string' },
  config: { type: 'string' },
  'admin-token': { type: 'string' },
  'max-package-size': { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** Runs one CLI command and returns its exit code; errors become one line on stderr. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve': {
        const { values } = parse(rest, SERVE_OPTIONS, false);
        const flags = Object.fromEntries(Object.entries(values).map(([k, v]) => [k.replace(/-/g, '_'), v as string]));
        const { serve } = await import('./serve.ts');
        await serve(loadSettings(flags, env));
        return 0; // the server keeps the process alive
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
