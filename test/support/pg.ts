// The machine's PostgreSQL for tests: each test gets its own schema (t_<random>), so test files run
// in parallel on one database and leave nothing behind.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openPostgres } from '../../src/adapters/store/postgres/open-postgres.ts';
import { tempSqliteStore } from './sqlite-store.ts';

/** The database tests use (trust auth); PROVENA_TEST_PG overrides it. */
export const PG_URL = process.env.PROVENA_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PgSchema {
  schema: string;
  /** PG_URL with the schema as the connection's search_path, for `--database` */
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty schema; `drop()` removes it with everything in it. */
export async function tempPgSchema(opts: { create?: boolean } = {}): Promise<PgSchema> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  if (opts.create !== false) await adminQuery(`CREATE SCHEMA ${schema}`);
  return {
    schema,
    url: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    drop: async () => {
      await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

/** A migrated store on a fresh schema, with a small pool (many tests share the server's connections). */
export async function tempPgStore(poolSize = 4): Promise<{ store: KyselyStore; pg: PgSchema; open(): KyselyStore }> {
  const s = await tempPgSchema();
  const open = () => new KyselyStore(openPostgres({ url: PG_URL, poolSize, schema: s.schema }));
  const store = open();
  await store.migrate();
  return { store, pg: s, open };
}

export async function adminQuery(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** One kind of database a store test runs on; `cleanup` closes the store and removes what it made. */
export interface StoreKind {
  name: 'sqlite' | 'postgres';
  open(): Promise<{ store: KyselyStore; cleanup(): Promise<void> }>;
}

export const STORE_KINDS: StoreKind[] = [
  {
    name: 'sqlite',
    async open() {
      const { store } = await tempSqliteStore();
      return { store, cleanup: () => store.close() };
    },
  },
  {
    name: 'postgres',
    async open() {
      const { store, pg: s } = await tempPgStore();
      return {
        store,
        async cleanup() {
          await store.close();
          await s.drop();
        },
      };
    },
  },
];
