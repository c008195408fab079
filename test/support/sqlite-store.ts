import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';

/** A real SQLite file in a fresh temporary directory, migrated. */
export async function tempSqliteStore(): Promise<{ store: KyselyStore; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-store-'));
  const store = new KyselyStore(openSqlite(path.join(dir, 'provena.sqlite')));
  await store.migrate();
  return { store, dir };
}
