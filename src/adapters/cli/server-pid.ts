/**
 * DATA/serve.pid: which process serves a data directory, so commands that must not run beside the
 * server (`provena log rotate-key`) can refuse. A pid left by a crash is ignored once that process is
 * gone or is no longer a Provena server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const PID_FILE = 'serve.pid';

export function writeServerPid(dataDir: string): () => void {
  const file = path.join(dataDir, PID_FILE);
  fs.writeFileSync(file, `${process.pid}\n`);
  return () => {
    try {
      if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
}

/** The pid of a live server on this data directory, or null. */
export function runningServer(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, PID_FILE), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return null;
  }
  // a reused pid (e.g. after a crash in a container) is another program's
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('serve')) return null;
  } catch {
    // no /proc: trust the pid
  }
  return pid;
}
