import type { Database as BetterSqlite, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Enough for every query shape the server runs; shapes beyond it are prepared per call as before. */
const MAX_STATEMENTS = 2000;

/**
 * Kysely's SQLite driver prepares the SQL text again on every call, which costs more than running
 * a small statement. Prepared statements are reusable, so keep them by SQL text. Safe because the
 * driver runs one statement at a time on its single connection (a stream holds the connection).
 */
export function cachedStatements(db: BetterSqlite): SqliteDatabase {
  const statements = new Map<string, Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = statements.get(sql);
      if (stmt === undefined) {
        stmt = db.prepare(sql);
        if (statements.size < MAX_STATEMENTS) statements.set(sql, stmt);
      }
      return stmt;
    },
  };
}
