/**
 * Child process of the repodata-scale bench: builds one subdir's shard index, then its full files
 * through the server's RepodataPublisher (streamed from the database), alone in its process so that
 * its peak RSS is the rebuild's. Prints one JSON line: the seconds of the index, of the full files (and
 * of their two stages: repodata.json + .zst, then current_repodata.json + .zst; null for a subdir below
 * repodata_sync_records, built before refresh returns), peak RSS (bytes).
 *
 *   node --import tsx bench/sections/repodata-rebuild-worker.ts DATA_DIR CHANNEL SUBDIR
 */
import { join } from 'node:path';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import { LocalFullFiles, type WrittenFullFiles } from '../../src/core/channel/full-files.ts';
import { RepodataPublisher } from '../../src/core/channel/repodata-publisher.ts';

const [dataDir, channel, subdir] = process.argv.slice(2) as [string, string, string];
const store = new KyselyStore(openSqlite(join(dataDir, 'provena.sqlite')));
await store.migrate(); // as the server does on start
const blobs = new FsBlobStore(join(dataDir, 'blobs'));
const spoolDir = join(dataDir, 'tmp');
// the server's writer, watched for its stage figures
const local = new LocalFullFiles(store, blobs, spoolDir);
let stages: WrittenFullFiles['seconds'] | undefined;
let fullStarted = 0n;
const fullFiles = {
  async write(request: Parameters<LocalFullFiles['write']>[0]) {
    fullStarted = process.hrtime.bigint();
    const written = await local.write(request);
    stages = written.seconds;
    return written;
  },
};
let finished = false;
// the server's settings: a big subdir's full files come from the debounced rebuild, here at once
const publisher = new RepodataPublisher(store, blobs, [], undefined, {
  debounceMs: 0,
  spoolDir,
  fullFiles,
  onError: (err) => {
    if (finished) return; // the lease's release after the store was closed below: the build itself is recorded
    process.stderr.write(`rebuild failed: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
});
const rssBefore = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
await publisher.refresh(channel, subdir);
const indexSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
for (;;) {
  const state = (await store.repodata.get(channel, subdir))!;
  if (state.fullBuilt >= state.generation) break;
  await new Promise((r) => setTimeout(r, 5));
}
const fullSeconds = Number(process.hrtime.bigint() - fullStarted) / 1e9;
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(
  `${JSON.stringify({ seconds, indexSeconds, fullSeconds, repodataSeconds: stages?.repodata ?? null, currentSeconds: stages?.current ?? null, peakRssBytes: process.resourceUsage().maxRSS * 1024, rssBeforeBytes: rssBefore })}\n`,
);
finished = true;
await store.close();
