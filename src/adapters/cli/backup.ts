/**
 * `provena backup DEST`: a consistent copy of the embedded default (SQLite + files) while the server
 * may be running.
 *
 * Order is what makes it consistent. The database is snapshotted first (SQLite's online backup, one
 * read transaction under WAL, so uploads go on). Then the files are copied:
 * - package and `.sigs` blobs are content-addressed and a record is committed only after its blob is
 *   durable, so every blob the snapshot refers to exists before the snapshot and is copied; blobs of
 *   uploads committed later are copied too and are collected as orphans by the restored server;
 * - log tiles and entry bundles are functions of the tree prefix they cover, so those inside the
 *   snapshot's committed size are correct for it and are kept; tiles beyond it (and `log/checkpoint`)
 *   describe entries the snapshot lacks and are left out, since a restored log appends other entries
 *   at those indexes; the restored server signs its own checkpoint and serves missing tiles from the
 *   database;
 * - generated channel files (`channels/`) may be newer than the snapshot and are left out: every
 *   start regenerates each subdir's files from the database (recover.ts);
 * - everything else in the data directory (log-key, admin-token, trusted roots) is copied as is.
 * The manifest is written last: a backup without one is incomplete and `restore` refuses it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import type { Settings } from '../config/settings.ts';
import { parseTilePath } from '../../core/tlog/tile-path.ts';
import { hashesAtTileLevel } from '../../core/tlog/tiles.ts';
import { parseCheckpoint } from '../../core/tlog/checkpoint.ts';
import { parseNote } from '../../core/tlog/note.ts';
import { CliError, usageError } from './cli-error.ts';
import {
  BACKUP_FORMAT,
  type BackupManifest,
  DATABASE_FILE,
  MANIFEST,
  type ManifestFile,
  copyHashed,
  fsyncDir,
  hashFile,
  isEmptyOrMissing,
  walkFiles,
} from './backup-files.ts';

export async function backup(dest: string, settings: Settings, out: (line: string) => void): Promise<BackupManifest> {
  refuseExternalBackends(settings, 'backup');
  const dataDir = path.resolve(settings.data);
  const target = path.resolve(dest);
  const dbFile = path.join(dataDir, DATABASE_FILE);
  if (!fs.existsSync(dbFile)) throw usageError(`${dataDir} holds no Provena database (${DATABASE_FILE}); give the data directory with --data DIR`);
  if (!isEmptyOrMissing(target)) throw usageError(`${target} exists and is not empty; give a new or empty directory for the backup`);
  if (target === dataDir || target.startsWith(dataDir + path.sep)) throw usageError(`the backup cannot go inside the data directory ${dataDir}`);
  fs.mkdirSync(target, { recursive: true, mode: 0o700 });

  const snapshot = path.join(target, DATABASE_FILE);
  await snapshotDatabase(dbFile, snapshot);
  const facts = readSnapshotFacts(snapshot);
  const files: ManifestFile[] = [];

  for (const rel of walkFiles(dataDir)) {
    if (!isBackedUp(rel, facts.size)) continue;
    const from = path.join(dataDir, rel);
    let mode: number;
    try {
      mode = fs.statSync(from).mode & 0o777;
    } catch (e) {
      // a partial tile replaced by its full tile between listing and copying
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    try {
      files.push({ path: rel, mode, ...(await copyHashed(from, path.join(target, rel), mode)) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !fs.existsSync(from)) continue;
      throw e;
    }
  }

  const rebuilt = reconcileGeneratedFiles(snapshot, target, files);
  fs.chmodSync(snapshot, 0o600);
  files.unshift({ path: DATABASE_FILE, mode: 0o600, ...(await hashFile(snapshot)) });

  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    provena_version: provenaVersion(),
    created_at: new Date().toISOString(),
    schema_migration: facts.migration,
    log: { size: facts.size, checkpoint_size: facts.checkpointSize, checkpoint_root: facts.checkpointRoot, origin: facts.origin },
    files,
  };
  const tmp = path.join(target, `.${MANIFEST}.tmp`);
  fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, path.join(target, MANIFEST));
  fsyncDir(target);
  const bytes = files.reduce((n, f) => n + f.size, 0);
  out(`provena: backed up ${dataDir} to ${target}: ${files.length} files, ${bytes} bytes, log size ${facts.size}, schema ${facts.migration ?? 'none'}`);
  if (rebuilt.length > 0) out(`provena: repodata of ${rebuilt.join(', ')} changed during the backup; the restored server rebuilds it on start`);
  return manifest;
}

/** Backup and restore cover the embedded default; PostgreSQL and S3 have their own tools (docs/operations.md). */
export function refuseExternalBackends(settings: Settings, what: string): void {
  const database = (settings as { database?: string }).database;
  if (settings.storage !== undefined || (database !== undefined && !/^(sqlite:|file:)/.test(database) && /:\/\//.test(database))) {
    throw usageError(`provena ${what} covers the embedded default (SQLite + files); for PostgreSQL and S3 follow docs/operations.md (pg_dump, then the bucket)`);
  }
}

/**
 * SQLite's online backup from a second connection. Each step reads under a shared lock; a write by
 * the server between steps restarts the copy, so after a first small step the rest goes in one step:
 * one read transaction, a snapshot of one committed state, while the server keeps writing to its WAL.
 */
async function snapshotDatabase(source: string, target: string): Promise<void> {
  const db = new SqliteDatabase(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    await db.backup(target, { progress: () => 1 << 30 });
  } catch (e) {
    fs.rmSync(target, { force: true });
    throw new CliError(`cannot snapshot the database ${source}: ${(e as Error).message}`, 1);
  } finally {
    db.close();
  }
}

interface SnapshotFacts {
  size: number;
  checkpointSize: number;
  checkpointRoot: string | null;
  origin: string | null;
  migration: string | null;
}

export function readSnapshotFacts(file: string): SnapshotFacts {
  const db = new SqliteDatabase(file, { fileMustExist: true });
  try {
    // a self-contained file: no -wal or -shm beside it in the backup (the server turns WAL back on)
    db.pragma('journal_mode = DELETE');
    const has = (table: string) => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
    const migration = has('kysely_migration')
      ? ((db.prepare('SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1').get() as { name: string } | undefined)?.name ?? null)
      : null;
    if (!has('log_head')) return { size: 0, checkpointSize: 0, checkpointRoot: null, origin: null, migration };
    const head = db.prepare('SELECT size FROM log_head WHERE id = 1').get() as { size: number | bigint } | undefined;
    const cp = db.prepare('SELECT size, note FROM log_checkpoints ORDER BY size DESC LIMIT 1').get() as { size: number | bigint; note: string } | undefined;
    let origin: string | null = null;
    let root: string | null = null;
    if (cp) {
      const c = parseCheckpoint(parseNote(cp.note).text);
      origin = c.origin;
      root = Buffer.from(c.root).toString('base64');
    }
    return { size: Number(head?.size ?? 0), checkpointSize: Number(cp?.size ?? 0), checkpointRoot: root, origin, migration };
  } finally {
    db.close();
  }
}

/**
 * Generated repodata copied after the snapshot may be newer than it. The snapshot records which
 * version of each subdir's shard index, full files and shards is in place (repodata_state,
 * repodata_shards: sha256 and size); a subdir whose copied files are exactly those keeps them, and one
 * that changed meanwhile has its copies dropped and its state reset to "nothing built", so the
 * restored server's start rebuilds it from the records. A snapshot without that bookkeeping (an older
 * schema) is rebuilt whole on start anyway. Returns the subdirs reset.
 */
function reconcileGeneratedFiles(snapshot: string, target: string, files: ManifestFile[]): string[] {
  const db = new SqliteDatabase(snapshot, { fileMustExist: true });
  try {
    const has = (table: string) => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;
    if (!has('repodata_state') || !has('repodata_shards')) return [];
    const copied = new Map(files.map((f) => [f.path, f]));
    const matches = (rel: string, facts: { sha256: string; size: number } | null | undefined) => {
      const f = copied.get(rel);
      return facts != null && f !== undefined && f.sha256 === facts.sha256 && f.size === facts.size;
    };
    type Row = { channel: string; subdir: string; index_built: number; full_built: number; index_file: string | null; full_files: string | null };
    const rows = db.prepare('SELECT channel, subdir, index_built, full_built, index_file, full_files FROM repodata_state').all() as Row[];
    const reset: string[] = [];
    for (const r of rows) {
      const dir = `blobs/channels/${r.channel}/${r.subdir}`;
      let ok = true;
      if (Number(r.index_built) > 0) ok &&= matches(`${dir}/repodata_shards.msgpack.zst`, parseFacts(r.index_file));
      if (Number(r.full_built) > 0) {
        const full = parseFacts(r.full_files) as Record<string, { sha256: string; size: number }> | null;
        ok &&= full !== null && Object.entries(full).every(([p, facts]) => matches(`${dir}/${p}`, facts));
      }
      const shards = db.prepare('SELECT sha256 FROM repodata_shards WHERE channel = ? AND subdir = ? AND sha256 IS NOT NULL').all(r.channel, r.subdir) as { sha256: string }[];
      ok &&= shards.every((sh) => copied.has(`${dir}/shards/${sh.sha256}.msgpack.zst`));
      if (ok) continue;
      reset.push(`${r.channel}/${r.subdir}`);
      db.prepare(
        `UPDATE repodata_state SET index_built = 0, full_built = 0, index_owner = NULL, index_until = NULL, full_owner = NULL, full_until = NULL, index_file = NULL, full_files = NULL WHERE channel = ? AND subdir = ?`,
      ).run(r.channel, r.subdir);
      db.prepare('UPDATE repodata_shards SET built = NULL, sha256 = NULL WHERE channel = ? AND subdir = ?').run(r.channel, r.subdir);
      for (let i = files.length - 1; i >= 0; i--) {
        const p = files[i]!.path;
        if (p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('.conda') && !p.slice(dir.length + 1).includes('.tar.bz2')) {
          fs.rmSync(path.join(target, p));
          files.splice(i, 1);
        }
      }
    }
    return reset;
  } finally {
    db.close();
  }
}

function parseFacts(text: string | null): any {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Whether a data-directory file goes into a backup of a snapshot whose log has `logSize` entries. */
export function isBackedUp(rel: string, logSize: number): boolean {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  if (name.startsWith('.tmp')) return false; // half-written files
  if (rel === DATABASE_FILE || rel.startsWith(`${DATABASE_FILE}-`)) return false; // the snapshot replaces them
  if (rel.startsWith('tmp/')) return false; // upload spool
  if (rel === 'serve.pid') return false; // the running server's
  // a package at its static channel path is a link to its blob: placed again from the blob on start
  if (rel.startsWith('blobs/channels/') && /^blobs\/channels\/[^/]+\/[^/]+\/[^/]+\.(conda|tar\.bz2)($|\.)/.test(rel)) return false;
  if (rel === 'blobs/log/checkpoint') return false; // the restored server publishes its own
  if (rel.startsWith('blobs/log/')) {
    if (!rel.startsWith('blobs/log/tile/')) return true; // e.g. the key history, log/keys.json
    try {
      const r = parseTilePath(rel.slice('blobs/log/'.length));
      const tile = r.kind === 'tile' ? r.tile : { level: 0, ...r.bundle };
      return tile.index * 256 + tile.width <= hashesAtTileLevel(logSize, tile.level);
    } catch {
      return false;
    }
  }
  return true;
}

export function provenaVersion(): string {
  const pkg = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}
