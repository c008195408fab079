/**
 * `provena restore SRC --data NEWDIR`: checks every file of a backup against its manifest before a
 * byte is written, refuses a non-empty target, then copies (hashing again as it writes). The target
 * is a data directory `provena serve` starts on with no repair: the database snapshot, the blobs it
 * refers to, the log key; repodata is regenerated from the database on every start (recover.ts) and
 * the log signs whatever the snapshot committed beyond its last checkpoint, with the same key, so the
 * restored log is the old one at the snapshot's size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from '../config/settings.ts';
import { migrationProvider } from '../store/migrations.ts';
import { CliError, usageError } from './cli-error.ts';
import { refuseExternalBackends } from './backup.ts';
import { BACKUP_FORMAT, type BackupManifest, MANIFEST, copyHashed, fsyncDir, hashFile, isEmptyOrMissing, walkFiles } from './backup-files.ts';

export async function restore(src: string, settings: Settings, out: (line: string) => void): Promise<void> {
  refuseExternalBackends(settings, 'restore');
  const source = path.resolve(src);
  const target = path.resolve(settings.data);
  const manifest = readManifest(source);
  if (!isEmptyOrMissing(target)) throw usageError(`${target} exists and is not empty; restore into a new or empty data directory (--data DIR)`);
  await checkSchema(manifest);
  await verifyBackup(source, manifest);

  const created = !fs.existsSync(target);
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });
  try {
    for (const f of manifest.files) {
      const written = await copyHashed(path.join(source, f.path), path.join(target, f.path), f.mode);
      if (written.sha256 !== f.sha256 || written.size !== f.size) {
        throw new CliError(`backup file ${f.path} changed while it was restored (sha256 ${written.sha256}, manifest ${f.sha256}); nothing was restored`, 1);
      }
    }
    for (const dir of new Set(manifest.files.map((f) => path.dirname(path.join(target, f.path))))) fsyncDir(dir);
  } catch (e) {
    // never leave a half-restored data directory that a server might start on
    if (created) fs.rmSync(target, { recursive: true, force: true });
    else for (const name of fs.readdirSync(target)) fs.rmSync(path.join(target, name), { recursive: true, force: true });
    throw e;
  }
  out(
    `provena: restored ${manifest.files.length} files from ${source} (Provena ${manifest.provena_version}, ${manifest.created_at}) into ${target}; ` +
      `log ${manifest.log.origin ?? '(empty)'} at size ${manifest.log.size}; start it with: provena serve --data ${target}`,
  );
}

function readManifest(source: string): BackupManifest {
  const file = path.join(source, MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`${source} has no ${MANIFEST}: not a Provena backup, or one that did not finish`);
    throw usageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let m: BackupManifest;
  try {
    m = JSON.parse(text) as BackupManifest;
  } catch {
    throw new CliError(`${file} is not JSON: the backup is damaged`, 1);
  }
  if (m.format !== BACKUP_FORMAT || !Array.isArray(m.files) || typeof m.log !== 'object' || m.log === null) {
    throw new CliError(`${file} is not a ${BACKUP_FORMAT} manifest`, 1);
  }
  for (const f of m.files) {
    const safe =
      typeof f.path === 'string' &&
      !path.isAbsolute(f.path) &&
      !f.path.split('/').some((s) => s === '' || s === '.' || s === '..') &&
      Number.isSafeInteger(f.size) &&
      typeof f.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(f.sha256) &&
      Number.isInteger(f.mode);
    if (!safe) throw new CliError(`${file} lists an invalid file entry ${JSON.stringify(f)}`, 1);
  }
  return m;
}

/** A backup from a newer Provena has migrations this one does not know: refuse rather than downgrade. */
async function checkSchema(m: BackupManifest): Promise<void> {
  const known = Object.keys(await migrationProvider.getMigrations());
  if (m.schema_migration !== null && !known.includes(m.schema_migration)) {
    throw new CliError(`the backup's database has migration ${m.schema_migration}, which this Provena does not know (backup made by ${m.provena_version}); restore with that version or newer`, 1);
  }
}

/** Every listed file present with its size and sha256, and nothing unlisted: all before writing. */
async function verifyBackup(source: string, m: BackupManifest): Promise<void> {
  const listed = new Set(m.files.map((f) => f.path));
  for (const rel of walkFiles(source)) {
    if (rel !== MANIFEST && !listed.has(rel)) throw new CliError(`backup file ${rel} is not in the manifest: the backup was changed; nothing was restored`, 1);
  }
  for (const f of m.files) {
    let got: { size: number; sha256: string };
    try {
      got = await hashFile(path.join(source, f.path));
    } catch (e) {
      throw new CliError(`backup file ${f.path} is missing or unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was restored`, 1);
    }
    if (got.size !== f.size || got.sha256 !== f.sha256) {
      throw new CliError(`backup file ${f.path} is corrupt: sha256 ${got.sha256} (${got.size} bytes), the manifest says ${f.sha256} (${f.size} bytes); nothing was restored`, 1);
    }
  }
}
