import { Migrator, PostgresAdapter, sql, type Kysely } from 'kysely';
import { migrationProvider } from './migrations.ts';

/**
 * One advisory lock per schema (PostgreSQL's two-key form: Provena's class, then the schema), so
 * replicas starting at once migrate one after another while test schemas do not wait on each other.
 */
const LOCK_CLASS = 0x70766e61; // "pvna"

export interface MigrateOptions {
  /** PostgreSQL: create this schema first when it does not exist (the `database_schema` setting) */
  createSchema?: string;
}

/**
 * Brings the schema to the newest migration and returns the names it applied. On PostgreSQL the
 * whole run, from creating Kysely's bookkeeping tables to the last migration, holds a session
 * advisory lock: Kysely's own migration lock covers only the migrations, and the first process to
 * see an empty schema would otherwise race the others creating those tables. Later processes wait,
 * then find nothing left to do.
 */
export async function migrateToLatest(db: Kysely<any>, opts: MigrateOptions = {}): Promise<string[]> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return runMigrator(db, undefined);
  // one connection holds the lock and runs everything, so a pool of one suffices
  return db.connection().execute(async (conn) => {
    if (opts.createSchema !== undefined) await createSchema(conn, opts.createSchema);
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(conn);
    const schema = rows[0]?.schema ?? null;
    if (schema === null) {
      throw new Error('the database search_path names no existing schema: create it, or set database_schema to have Provena create it');
    }
    await sql`select pg_advisory_lock(${LOCK_CLASS}, hashtext(${schema}))`.execute(conn);
    try {
      // Kysely's bookkeeping tables in this schema: without the schema it looks for them in every
      // schema of the database and may find another application's (or another test's)
      return await migrateRetryingCatalogRaces(conn, schema);
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_CLASS}, hashtext(${schema}))`.execute(conn);
    }
  });
}

/**
 * Kysely's migrator looks for its bookkeeping tables by introspecting every table of the database
 * (pg_catalog, all schemas). When another application drops a schema during that query, PostgreSQL
 * fails it with "schema ... does not exist" (SQLSTATE 3F000) naming the other schema. Nothing of ours
 * changed, and the run is idempotent under the advisory lock, so it is simply tried again.
 */
async function migrateRetryingCatalogRaces(conn: Kysely<any>, schema: string): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runMigrator(conn, schema);
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const othersSchema = cause?.code === '3F000' && !String(cause.message).includes(`"${schema}"`);
      if (!othersSchema || attempt >= 5) throw e;
    }
  }
}

async function runMigrator(db: Kysely<any>, schema: string | undefined): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider, ...(schema !== undefined ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

async function createSchema(conn: Kysely<any>, schema: string): Promise<void> {
  try {
    await conn.schema.createSchema(schema).ifNotExists().execute();
  } catch (e) {
    // two processes creating it at once: `if not exists` can still fail on the catalog's unique index
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_namespace where nspname = ${schema}`.execute(conn);
    if (rows[0]?.n !== 1) throw e;
  }
}
