/**
 * What `provena backup` and `provena restore` share: the manifest that lists every file of a backup
 * with its size and sha256, and a copy that hashes the bytes as it writes them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

export const MANIFEST = 'manifest.json';
export const BACKUP_FORMAT = 'provena-backup/1';
/** The database snapshot's name inside a backup and in a data directory. */
export const DATABASE_FILE = 'provena.sqlite';

export interface ManifestFile {
  /** relative, `/`-separated, as in the data directory */
  path: string;
  size: number;
  sha256: string;
  /** permission bits (secrets are 0600) */
  mode: number;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  provena_version: string;
  created_at: string;
  /** the newest migration the snapshot has run */
  schema_migration: string | null;
  log: {
    /** committed entries in the snapshot */
    size: number;
    /** the newest checkpoint in the snapshot (the restored server signs the rest on start) */
    checkpoint_size: number;
    checkpoint_root: string | null;
    origin: string | null;
  };
  files: ManifestFile[];
}

/** Copies `from` to `to` (created, never overwritten), fsynced; returns what was written. */
export async function copyHashed(from: string, to: string, mode: number): Promise<{ size: number; sha256: string }> {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const out = fs.createWriteStream(to, { flags: 'wx', mode });
  await pipeline(fs.createReadStream(from), tap, out);
  const fd = fs.openSync(to, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(to, mode);
  return { size, sha256: hash.digest('hex') };
}

export async function hashFile(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/** Every regular file under `root`, as relative `/`-separated paths, sorted. */
export function walkFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel === '' ? d.name : `${rel}/${d.name}`;
      if (d.isDirectory()) walk(child);
      else if (d.isFile()) out.push(child);
    }
  };
  walk('');
  return out.sort();
}

/** A target may be missing or an empty directory; anything else is refused before a byte is written. */
export function isEmptyOrMissing(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'ENOTDIR') return false;
    throw e;
  }
}

export { fsyncDir } from '../files/durable-file.ts';
