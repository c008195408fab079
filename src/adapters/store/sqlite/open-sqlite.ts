import * as fs from 'node:fs';
import * as path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database } from '../schema.ts';
import { cachedStatements } from './statement-cache.ts';

/**
 * The embedded default database. WAL lets readers run beside the one writer; `synchronous = FULL`
 * because the commit is the upload's acknowledgement and must survive a power cut, not just a crash.
 */
export function openSqlite(file: string): Kysely<Database> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const raw = new SqliteDatabase(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = FULL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 10000');
  return new Kysely<Database>({ dialect: new SqliteDialect({ database: cachedStatements(raw) }) });
}
