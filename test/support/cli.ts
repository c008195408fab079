import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './server.ts';

/** No ambient CI credentials or server settings leak from the machine running the tests. */
export const CLEAN_ENV: Record<string, string> = {
  PROVENA_SERVER: '',
  PROVENA_TOKEN: '',
  PROVENA_ID_TOKEN: '',
  SIGSTORE_ID_TOKEN: '',
  ACTIONS_ID_TOKEN_REQUEST_URL: '',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: '',
  GITHUB_ACTIONS: '',
  PROVENA_FULCIO_URL: '',
  PROVENA_REKOR_URL: '',
  PROVENA_TSA_URL: '',
};

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI as a user runs it (bin/provena.js in a child process), with a clean environment plus `env`. */
export function provena(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/provena.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...CLEAN_ENV, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
