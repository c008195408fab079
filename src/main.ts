import { runCli } from './adapters/cli/run-cli.ts';

/** The one composition root: `provena <command>`. */
process.exitCode = await runCli(process.argv.slice(2), process.env);
