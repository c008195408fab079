import type { TransparencyLog } from '../../core/tlog/transparency-log.ts';
import { isProvenaError } from '../../core/errors.ts';
import { CliError } from './cli-error.ts';
import type { LogIdentity } from './log-key.ts';
import type { KeyHistory } from '../../core/tlog/key-rotation.ts';

/**
 * Starts the log before the server takes requests: it resumes from the last signed checkpoint and
 * refuses to go on when the database no longer matches it (one line saying why, exit 1).
 */
export async function startLog(log: TransparencyLog, identity: LogIdentity, history?: KeyHistory | null): Promise<void> {
  // a key the log rotated away from must not sign again: monitors trust only the announced one now
  const retired = history?.rotations.find((r) => r.previous_key === log.verifierKey);
  if (retired) {
    throw new CliError(
      `the log key ${log.verifierKey} was rotated out at entry ${retired.index} in favour of ${retired.key}; start with that key (DATA/log-key as provena log rotate-key left it, or the log_key setting)`,
      1,
    );
  }
  try {
    await log.start();
  } catch (e) {
    if (isProvenaError(e)) throw new CliError(`the transparency log cannot start: ${e.detail}`, 1);
    throw e;
  }
  if (identity.generatedAt) {
    process.stdout.write(
      `provena: generated the transparency log key in ${identity.generatedAt} (keep it secret; back it up)\n` +
        `provena: log origin ${log.origin}; verifier key (publish it; also served at /log/key):\n  ${log.verifierKey}\n`,
    );
  }
}
