import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';

/**
 * Kysely builds and compiles a query on every call: tens of microseconds, several times what SQLite
 * needs to run a small statement. The log appends on every upload and its benchmark target is
 * 20,000 appends/s, so its hot statements are compiled once per dialect, with markers where the
 * arguments go, and then run with fresh arguments. The SQL is still Kysely's, for any dialect.
 */
const MARK = '\u0000provena-arg:';

/** Stands in for argument `i` while the query is compiled. */
export const arg = (i: number): string => `${MARK}${i}`;

interface Prepared {
  query: CompiledQuery;
  /** for each compiled parameter: the argument it takes, or null for a constant */
  slots: (number | null)[];
}

// Keyed by the dialect adapter, which a Kysely instance shares with its transactions.
const preparedByAdapter = new WeakMap<object, Map<string, Prepared>>();

/** Runs the query `build` makes, compiled the first time `name` is asked for. One shape per name. */
export function runPrepared<R>(db: Kysely<any>, name: string, build: () => Compilable<R>, args: readonly unknown[]): Promise<QueryResult<R>> {
  const adapter = db.getExecutor().adapter;
  let cache = preparedByAdapter.get(adapter);
  if (cache === undefined) preparedByAdapter.set(adapter, (cache = new Map()));
  let p = cache.get(name);
  if (p === undefined) {
    const query = build().compile();
    const slots = query.parameters.map((v) => (typeof v === 'string' && v.startsWith(MARK) ? Number(v.slice(MARK.length)) : null));
    cache.set(name, (p = { query, slots }));
  }
  const { query, slots } = p;
  const parameters = query.parameters.map((v, i) => (slots[i] === null ? v : args[slots[i]!]));
  return db.executeQuery<R>({ ...query, parameters } as CompiledQuery<R>);
}
