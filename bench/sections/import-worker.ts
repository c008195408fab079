/**
 * Child process of the import bench: imports a channel directory into a fresh data directory through
 * ChannelImport, alone in its process so that its peak RSS is the import's. Prints one JSON line.
 *
 *   node --import tsx bench/sections/import-worker.ts bulk|per-record SOURCE_DIR DATA_DIR
 *   node --import tsx bench/sections/import-worker.ts read-stream|read-whole SOURCE_DIR
 *
 * `bulk` is what `provena import` does: the source repodata.json streamed, records in multi-row
 * inserts, log entries in one bulk append per batch. `per-record` is the path it replaced, kept here
 * as the baseline: the file parsed whole (JSON.parse), one INSERT and one log append per record
 * (a bench-only patch of insertMany; same transactions of 500). `read-stream` and `read-whole` only
 * read a (big) source's records, streamed as the import does or parsed whole, for the memory each needs.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/app.ts';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { readSource } from '../../src/adapters/cli/import-command.ts';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { KyselyPackageRepo } from '../../src/adapters/store/package-repo.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import { ChannelImport, type ImportSubdir } from '../../src/core/channel/channel-import.ts';
import type { StoredPackage } from '../../src/core/channel/model.ts';
import type { ChangeLog } from '../../src/core/channel/log-entries.ts';
import { generateSignerKey } from '../../src/core/tlog/note-keys.ts';

const [mode, source, dataDir] = process.argv.slice(2) as ['bulk' | 'per-record' | 'read-stream' | 'read-whole', string, string];
if (mode === 'read-stream' || mode === 'read-whole') {
  const t0 = performance.now();
  let count = 0;
  if (mode === 'read-stream') {
    for (const sd of await readSource(source)) for await (const _ of sd.records()) count++;
  } else {
    const doc = JSON.parse(fs.readFileSync(join(source, 'noarch/repodata.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    count = Object.keys(doc.packages ?? {}).length + Object.keys(doc['packages.conda'] ?? {}).length;
  }
  console.log(JSON.stringify({ mode, seconds: (performance.now() - t0) / 1000, imported: count, peakRssBytes: process.resourceUsage().maxRSS * 1024, rssBeforeBytes: 0 }));
  process.exit(0);
}
fs.mkdirSync(join(dataDir, 'tmp'), { recursive: true });
const store = new KyselyStore(openSqlite(join(dataDir, 'provena.sqlite')));
await store.migrate();
const blobs = new FsBlobStore(join(dataDir, 'blobs'));
const app = createApp({
  store,
  blobs,
  spoolDir: join(dataDir, 'tmp'),
  adminToken: randomBytes(16).toString('hex'),
  publicUrl: 'http://127.0.0.1:1',
  maxPackageBytes: 1e9,
  log: { key: generateSignerKey('bench.provena.test/log'), origin: 'bench.provena.test/log' },
  trustRoots: [],
});
const s = app.services;
await s.log.start();
await s.channels.create({ kind: 'admin' }, { name: 'bench' });
const rssBefore = process.memoryUsage().rss;

const t0 = performance.now();
let subdirs: ImportSubdir[];
let log: ChangeLog = s.log;
if (mode === 'bulk') {
  subdirs = await readSource(source);
} else {
  const file = join(source, 'noarch/repodata.json');
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
  const records = [...Object.entries(doc.packages ?? {}), ...Object.entries(doc['packages.conda'] ?? {})];
  subdirs = [{ subdir: 'noarch', count: records.length, records: async function* () { yield* records; }, fileOf: (f) => join(source, 'noarch', f) }];
  KyselyPackageRepo.prototype.insertMany = async function (pkgs: readonly StoredPackage[]) {
    const added = new Set<StoredPackage>();
    for (const p of pkgs) if ((await this.insert(p, { replace: false })) === 'inserted') added.add(p);
    return added;
  };
  log = { append: (tx, e) => s.log.append(tx, e), prepareReceipt: () => undefined };
}
const importer = new ChannelImport({
  store,
  blobs,
  log,
  clock: { now: () => new Date() },
  spool: { path: () => join(dataDir, 'tmp', `file-${randomBytes(12).toString('hex')}`) },
  refresh: (c, subdir) => s.repodata.refresh(c, subdir),
});
const report = await importer.run('bench', subdirs);
await s.log.flush();
const seconds = (performance.now() - t0) / 1000;
await s.log.stop();
await app.http.close();
await store.close();
if (report.refused.length > 0) throw new Error(`refused: ${JSON.stringify(report.refused.slice(0, 3))}`);
console.log(JSON.stringify({ mode, seconds, imported: report.imported, logRange: report.logRange, peakRssBytes: process.resourceUsage().maxRSS * 1024, rssBeforeBytes: rssBefore }));
