import { isProvenaError } from '../../core/errors.ts';
import { readLockfile, type Lockfile } from '../../core/lockfiles/read-lockfile.ts';
import { usageError } from './cli-error.ts';
import { parse } from './run-cli.ts';
import { LOG_OPTIONS, processIo, readPolicyFile, readTextFile, TRUST_OPTIONS, type Io } from './verify-common.ts';
import { report, runOptions } from './verify-command.ts';
import { policyDecision, verifyPackages } from './verify-run.ts';

const OPTIONS = {
  ...TRUST_OPTIONS,
  ...LOG_OPTIONS,
  policy: { type: 'string' },
  environment: { type: 'string', multiple: true },
  platform: { type: 'string', multiple: true },
  jobs: { type: 'string' },
  download: { type: 'boolean' },
} as const;

export const VERIFY_ENV_USAGE = `usage: provena verify-env LOCKFILE --policy POLICY [--environment ENV]... [--platform PLATFORM]... [--jobs N] [--download]
       [--log-state FILE] [--log-key KEY]... [--trusted-root FILE]... [--staging] [--json]
LOCKFILE: an explicit spec (conda list --explicit --sha256|--md5), a pixi.lock (v5-v7) or a conda-lock.yml`;

/**
 * `provena verify-env LOCKFILE --policy POLICY`: every conda package the lock file pins is verified
 * against the policy of its channel, in parallel, with a progress bar and a table at the end.
 * Exit 0 only when the policy holds for every package.
 */
export async function verifyEnvCommand(args: string[], _env: NodeJS.ProcessEnv, io: Io = processIo): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, true);
  if (positionals.length !== 1) throw usageError(VERIFY_ENV_USAGE);
  if (values.policy === undefined) throw usageError(`give --policy POLICY (see docs/policy.md)\n${VERIFY_ENV_USAGE}`);
  const lockfilePath = positionals[0]!;
  const policy = readPolicyFile(values.policy);
  let lockfile: Lockfile;
  try {
    lockfile = readLockfile(readTextFile(lockfilePath, 'lock file'), lockfilePath, { environments: values.environment, platforms: values.platform });
  } catch (e) {
    if (isProvenaError(e)) throw usageError(e.detail);
    throw e;
  }
  const options = runOptions(values, { download: values.download === true });
  const run = await verifyPackages(lockfile.packages, (t) => policyDecision(policy, t), {
    ...options,
    progress: values.json ? undefined : { label: `verifying ${lockfile.packages.length} packages`, stream: io.errStream },
  });
  const code = report(run, values, io, {
    lockfile: lockfilePath,
    format: lockfile.format,
    policy: values.policy,
    other_packages: lockfile.otherPackages,
  });
  if (!values.json) {
    for (const o of lockfile.otherPackages) io.out(`${o.count} ${o.kind} package${o.count === 1 ? '' : 's'} not checked (not conda packages)`);
    io.out(code === 0 ? `policy ${values.policy} holds for ${lockfilePath}` : `policy ${values.policy} does NOT hold for ${lockfilePath}`);
  }
  return code;
}
