import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from '../config/settings.ts';
import { openMigratedStore } from './backends.ts';
import { redactUrl } from '../store/postgres/open-postgres.ts';

/**
 * `provena migrate`: brings the database of these settings (PostgreSQL with `database`, else the data
 * directory's SQLite file) to the newest schema and says what it applied. `serve` does the same on
 * start under the same lock; running it first lets an operator upgrade before rolling replicas.
 */
export async function migrateCommand(settings: Settings): Promise<number> {
  let where: string;
  if (settings.database !== undefined) {
    where = redactUrl(settings.database) + (settings.database_schema !== undefined ? ` (schema ${settings.database_schema})` : '');
  } else {
    const dataDir = path.resolve(settings.data);
    fs.mkdirSync(dataDir, { recursive: true });
    where = path.join(dataDir, 'provena.sqlite');
  }
  const { store, applied } = await openMigratedStore(settings, path.resolve(settings.data));
  await store.close();
  process.stdout.write(
    applied.length === 0 ? `provena: ${where} is up to date\n` : `provena: ${where}: applied ${applied.length} migration(s): ${applied.join(', ')}\n`,
  );
  return 0;
}
