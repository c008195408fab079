import * as fs from 'node:fs';
import * as path from 'node:path';
import { FsBlobStore } from '../blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../store/kysely-store.ts';
import { openSqlite } from '../store/sqlite/open-sqlite.ts';
import type { Settings } from '../config/settings.ts';

/**
 * Where metadata and bytes live, chosen from the settings. The embedded default is SQLite and files
 * under the data directory; each backend is opened here and nowhere else.
 */
export async function openStore(settings: Settings, dataDir: string): Promise<KyselyStore> {
  const store = new KyselyStore(openSqlite(path.join(dataDir, 'provena.sqlite')));
  await store.migrate();
  return store;
}

export async function openBlobs(settings: Settings, dataDir: string): Promise<FsBlobStore> {
  const root = path.join(dataDir, 'blobs');
  fs.mkdirSync(root, { recursive: true });
  return new FsBlobStore(root);
}
