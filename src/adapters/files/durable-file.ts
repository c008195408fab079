import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface DurableWrite {
  /** file mode of a new file (default 0644; secrets pass 0600) */
  mode?: number;
  /**
   * `replace`: the file is swapped for the new bytes. `create`: the file is made only if it does not
   * exist yet (a hard link, which fails on an existing name, so two processes racing to create the
   * same file never both win and nobody reads half a file).
   */
  how: 'replace' | 'create';
}

/**
 * Writes bytes so that a reader, or a crash, sees the old file or the whole new one: written to a
 * private temporary name beside it, fsynced, then renamed (replace) or linked (create), and the
 * directory fsynced so the name survives a power cut. Returns false when `create` found the file there.
 */
export function writeFileDurably(file: string, data: string | Uint8Array, opts: DurableWrite): boolean {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = fs.openSync(tmp, 'wx', opts.mode ?? 0o644);
  try {
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (opts.how === 'replace') {
      fs.renameSync(tmp, file);
    } else {
      try {
        fs.linkSync(tmp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
  return true;
}

/** Makes the names in a directory durable (after a rename, link or create in it). */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
