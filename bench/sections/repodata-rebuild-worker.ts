/**
 * Child process of the repodata-scale bench: builds one subdir's shard index and full files through
 * the server's RepodataPublisher (streamed from the database), alone in its process so that its peak
 * RSS is the rebuild's. Prints one JSON line: seconds, peak RSS (bytes).
 *
 *   node --import tsx bench/sections/repodata-rebuild-worker.ts DATA_DIR CHANNEL SUBDIR
 */
import { join } from 'node:path';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import { RepodataPublisher } from '../../src/core/channel/repodata-publisher.ts';

const [dataDir, channel, subdir] = process.argv.slice(2) as [string, string, string];
const store = new KyselyStore(openSqlite(join(dataDir, 'provena.sqlite')));
await store.migrate(); // as the server does on start
// the server's settings: a big subdir's full files come from the debounced rebuild, here at once
let finished = false;
const publisher = new RepodataPublisher(store, new FsBlobStore(join(dataDir, 'blobs')), [], undefined, {
  debounceMs: 0,
  spoolDir: join(dataDir, 'tmp'),
  onError: (err) => {
    if (finished) return; // the lease's release after the store was closed below: the build itself is recorded
    process.stderr.write(`rebuild failed: ${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
});
const rssBefore = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
await publisher.refresh(channel, subdir);
for (;;) {
  const state = (await store.repodata.get(channel, subdir))!;
  if (state.fullBuilt >= state.generation) break;
  await new Promise((r) => setTimeout(r, 10));
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(`${JSON.stringify({ seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024, rssBeforeBytes: rssBefore })}\n`);
finished = true;
await store.close();
