import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../schema.ts';

export interface PostgresOptions {
  /** `postgres://USER:PASSWORD@HOST:PORT/DB?...`, as libpq and `pg` read it */
  url: string;
  /** connections per process at most; N replicas hold up to N × this many */
  poolSize: number;
  /** the schema to keep Provena's tables in (its search_path); created when missing */
  schema?: string;
}

const INT8_OID = 20;

/**
 * bigint columns (sizes, log indexes, counts) come back from `pg` as strings, because a JS number
 * cannot hold every int8. Provena's never leave the safe range (2^53 entries or bytes), so they are
 * read as numbers here, the same as SQLite returns them; a value beyond the range fails loudly
 * instead of being rounded.
 */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`the database returned the integer ${text}, beyond what Provena can hold exactly`);
  return n;
}

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

/**
 * PostgreSQL through a `pg` pool. Each transaction takes its own connection, so replicas and
 * concurrent requests are serialised only by row locks (the log head, a subdir's repodata state)
 * and primary keys, never by a process-wide mutex.
 */
export function openPostgres(o: PostgresOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.poolSize,
    types,
    // the schema as the connection's search_path: every unqualified table name resolves into it
    ...(o.schema !== undefined ? { options: `-c search_path=${o.schema}` } : {}),
  });
  // An idle connection the server closed (restart, failover) is dropped by the pool and replaced on
  // the next query; without a listener its error would end the process.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}
