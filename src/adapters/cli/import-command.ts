import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../app.ts';
import { ChannelImport, type ImportSubdir } from '../../core/channel/channel-import.ts';
import { validateChannelName } from '../../core/channel/channels.ts';
import { isKnownSubdir } from '../../core/conda/platforms.ts';
import { RepodataScanner, RepodataSyntaxError, type RepodataPart } from '../../core/conda/repodata-scanner.ts';
import { isProvenaError } from '../../core/errors.ts';
import type { Settings } from '../config/settings.ts';
import { openBlobs, openStore } from './backends.ts';
import { CliError, usageError } from './cli-error.ts';
import { loadLogIdentity } from './log-key.ts';
import { startLog } from './log-start.ts';
import { ProgressBar } from './progress.ts';

/**
 * `provena import DIR|repodata.json --channel NAME`: loads an existing channel into the server's own
 * storage (the same data directory, database and bucket `serve` uses). DIR is laid out as a conda
 * channel (`SUBDIR/repodata.json` next to the package files); a single repodata.json takes the
 * package files next to it. Creates the channel (public) when it does not exist. Run it with the
 * server stopped, or restart the server after it, so every replica serves the new repodata.
 * Exit 0 when every file was imported or already there, 1 when any was refused (each named on stderr).
 */
export async function importCommand(source: string, channelName: string, settings: Settings): Promise<number> {
  const channel = checkChannelName(channelName);
  const subdirs = await readSource(source);
  const dataDir = path.resolve(settings.data);
  fs.mkdirSync(dataDir, { recursive: true });
  // its own spool, next to the blobs (a rename away on the file store); never the server's DATA/tmp,
  // which a starting server empties
  const spoolDir = path.join(dataDir, `import-tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(spoolDir, { recursive: true });
  const store = await openStore(settings, dataDir);
  try {
    const blobs = await openBlobs(settings, dataDir);
    const identity = loadLogIdentity(dataDir, settings);
    const app = createApp({
      store,
      blobs,
      spoolDir,
      adminToken: randomBytes(32).toString('hex'), // nothing is served: no one can use it
      publicUrl: settings.public_url,
      maxPackageBytes: settings.max_package_size,
      log: { key: identity.key, origin: identity.origin, batchMs: settings.log_batch_ms },
      trustRoots: [],
    });
    const s = app.services;
    await startLog(s.log, identity);
    try {
      if (!(await store.channels.get(channel))) {
        await s.channels.create({ kind: 'admin' }, { name: channel });
        process.stderr.write(`provena: created channel ${channel} (public)\n`);
      }
      const total = subdirs.reduce((n, sd) => n + sd.count, 0);
      process.stderr.write(`provena: importing ${total} files into ${channel} (${subdirs.map((sd) => `${sd.subdir}: ${sd.count}`).join(', ')})\n`);
      const bar = new ProgressBar(`import ${channel}`, total, 'items');
      const importer = new ChannelImport({
        store,
        blobs,
        log: s.log,
        clock: { now: () => new Date() },
        spool: { path: () => path.join(spoolDir, `file-${randomBytes(12).toString('hex')}`) },
        refresh: (c, subdir) => s.repodata.refresh(c, subdir),
      });
      const report = await importer.run(channel, subdirs, {
        file(subdir, filename, outcome, reason) {
          bar.tick(1);
          if (outcome === 'refused') process.stderr.write(`provena: refused ${subdir}/${filename}: ${reason}\n`);
        },
      });
      bar.finish();
      // sign a checkpoint over the new entries now, so the log's tiles are complete without a server
      await s.log.flush();
      const range = report.logRange ? `, log entries ${report.logRange[0]}..${report.logRange[1]}` : '';
      process.stdout.write(
        `provena: imported ${report.imported} files (${(report.bytes / 1024 / 1024).toFixed(1)} MB) into ${channel}, ` +
          `${report.identical} already there, ${report.refused.length} refused${range}\n`,
      );
      return report.refused.length > 0 ? 1 : 0;
    } finally {
      await s.log.stop();
    }
  } catch (e) {
    if (isProvenaError(e)) throw new CliError(`import failed: ${e.detail}`, 1);
    throw e;
  } finally {
    await store.close();
    fs.rmSync(spoolDir, { recursive: true, force: true });
  }
}

function checkChannelName(name: string): string {
  try {
    return validateChannelName(name);
  } catch (e) {
    if (isProvenaError(e)) throw usageError(e.detail);
    throw e;
  }
}

/** The subdirs to import: `DIR/SUBDIR/repodata.json` for each platform subdir, or the one file given. */
export async function readSource(source: string): Promise<ImportSubdir[]> {
  let stat;
  try {
    stat = fs.statSync(source);
  } catch {
    throw usageError(`${source} does not exist; give a channel directory (SUBDIR/repodata.json + packages) or a repodata.json`);
  }
  if (stat.isFile()) return [await readRepodata(source)];
  if (fs.existsSync(path.join(source, 'repodata.json'))) return [await readRepodata(path.join(source, 'repodata.json'))];
  const files = fs
    .readdirSync(source, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isKnownSubdir(e.name) && fs.existsSync(path.join(source, e.name, 'repodata.json')))
    .map((e) => path.join(source, e.name, 'repodata.json'));
  if (files.length === 0) {
    throw usageError(`${source} has no SUBDIR/repodata.json; index it first (provena index ${source}) or give a repodata.json`);
  }
  const subdirs: ImportSubdir[] = [];
  for (const file of files) subdirs.push(await readRepodata(file));
  return subdirs.sort((a, b) => a.subdir.localeCompare(b.subdir));
}

/**
 * A repodata.json to import, read twice as a stream and never whole (a conda-forge subdir is ~250 MB):
 * once now to check it all (JSON, structure, file names, its subdir), so a broken file stops the
 * import before anything is stored, and once while importing, a record at a time.
 */
async function readRepodata(file: string): Promise<ImportSubdir> {
  const dir = path.dirname(path.resolve(file));
  let info: { subdir?: unknown } | undefined;
  let count = 0;
  for await (const part of repodataParts(file)) {
    if (part.kind === 'field') {
      if (part.key === 'info') info = parseRaw(file, 'info', part.raw) as { subdir?: unknown } | undefined;
      continue;
    }
    if (part.filename.includes('/') || part.filename.includes('\\')) throw usageError(`${file}: ${JSON.stringify(part.filename)} is not a file name`);
    parseRaw(file, part.filename, part.raw);
    count++;
  }
  const subdir = typeof info?.subdir === 'string' ? info.subdir : path.basename(dir);
  if (!isKnownSubdir(subdir)) {
    throw usageError(`${file}: cannot tell its subdir (info.subdir is ${JSON.stringify(info?.subdir)}, the directory is ${path.basename(dir)})`);
  }
  return {
    subdir,
    count,
    async *records() {
      for await (const part of repodataParts(file)) {
        if (part.kind === 'record') yield [part.filename, JSON.parse(part.raw) as Record<string, unknown>] as const;
      }
    },
    fileOf: (filename) => path.join(dir, filename),
  };
}

/** The parts of a repodata.json (top-level fields, records), read in 1 MiB chunks. */
async function* repodataParts(file: string): AsyncGenerator<RepodataPart> {
  const parts: RepodataPart[] = [];
  const scanner = new RepodataScanner((p) => parts.push(p));
  try {
    for await (const chunk of fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1024 * 1024 })) {
      scanner.feed(chunk as string);
      for (const p of parts.splice(0)) yield p;
    }
    scanner.end();
  } catch (e) {
    if (e instanceof RepodataSyntaxError) throw usageError(`${file} is not a valid repodata.json: ${e.message}`);
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined) throw usageError(`cannot read ${file} (${code})`);
    throw e;
  }
  for (const p of parts.splice(0)) yield p;
}

function parseRaw(file: string, what: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (e) {
    throw usageError(`${file} is not readable JSON: the value of ${JSON.stringify(what)}: ${(e as Error).message}`);
  }
}
