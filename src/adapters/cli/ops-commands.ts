/** Operator commands on a data directory: `backup`, `restore`, `admin-token rotate` (docs/operations.md). */
import { loadSettings } from '../config/settings.ts';
import { usageError } from './cli-error.ts';
import { parse } from './run-cli.ts';

const DATA_OPTIONS = { data: { type: 'string' }, config: { type: 'string' } } as const;

export async function opsCommand(command: 'backup' | 'restore' | 'admin-token', args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parse(args, DATA_OPTIONS, true);
  const flags: Record<string, string> = {};
  if (values.data !== undefined) flags.data = values.data;
  if (values.config !== undefined) flags.config = values.config;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  switch (command) {
    case 'backup': {
      if (positionals.length !== 1) throw usageError('give one destination: provena backup DEST [--data DIR]');
      const { backup } = await import('./backup.ts');
      await backup(positionals[0]!, loadSettings(flags, env), out);
      return 0;
    }
    case 'restore': {
      if (positionals.length !== 1) throw usageError('give one backup: provena restore SRC --data NEWDIR');
      if (values.data === undefined) throw usageError('give the new data directory: provena restore SRC --data NEWDIR');
      const { restore } = await import('./restore.ts');
      await restore(positionals[0]!, loadSettings(flags, env), out);
      return 0;
    }
    case 'admin-token': {
      if (positionals.length !== 1 || positionals[0] !== 'rotate') throw usageError('usage: provena admin-token rotate [--data DIR]');
      const { rotateAdminToken } = await import('./admin-token.ts');
      rotateAdminToken(loadSettings(flags, env), out);
      return 0;
    }
  }
}
