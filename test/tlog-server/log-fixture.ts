// A transparency log over a real SQLite file and a real blob directory, in-process, for tests that
// need to reach under the server (tamper with rows, count checkpoints, restart on the same files).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import type { LogEntry } from '../../src/core/tlog/entry.ts';
import { type SignerKey, generateSignerKey } from '../../src/core/tlog/note-keys.ts';
import { TransparencyLog } from '../../src/core/tlog/transparency-log.ts';

export const ORIGIN = 'provena.test/log';

export interface LogFixture {
  dir: string;
  store: KyselyStore;
  blobs: FsBlobStore;
  log: TransparencyLog;
  key: SignerKey;
  errors: unknown[];
  /** closes the store and reopens everything on the same files (a restart) */
  reopen(opts?: { key?: SignerKey; origin?: string }): Promise<LogFixture>;
  close(): Promise<void>;
}

export async function openLogFixture(opts: { dir?: string; key?: SignerKey; origin?: string; intervalMs?: number; maxBatch?: number } = {}): Promise<LogFixture> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tlog-'));
  const store = new KyselyStore(openSqlite(path.join(dir, 'provena.sqlite')));
  await store.migrate();
  const blobs = new FsBlobStore(path.join(dir, 'blobs'));
  const key = opts.key ?? generateSignerKey(ORIGIN);
  const errors: unknown[] = [];
  const log = new TransparencyLog({
    store,
    blobs,
    key,
    origin: opts.origin ?? ORIGIN,
    clock: { now: () => new Date() },
    // long, so that only waiting for a receipt (or flush) publishes: tests count checkpoints
    intervalMs: opts.intervalMs ?? 60_000,
    maxBatch: opts.maxBatch,
    onError: (e) => errors.push(e),
  });
  const fixture: LogFixture = {
    dir,
    store,
    blobs,
    log,
    key,
    errors,
    async reopen(next = {}) {
      await fixture.close();
      return openLogFixture({ ...opts, dir, key: next.key ?? key, origin: next.origin ?? opts.origin });
    },
    async close() {
      await log.stop();
      await store.close();
    },
  };
  return fixture;
}

let counter = 0;

/** A distinct, valid `publish` entry. */
export function publishEntry(name = `pkg${counter++}`): LogEntry {
  return {
    channel: 'main',
    subdir: 'noarch',
    filename: `${name}-1.0-0.conda`,
    sha256: Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64),
    size: 1000 + counter,
    action: 'publish',
    publisher: { kind: 'key', id: 'k1' },
    attestation_sha256: null,
    time: new Date().toISOString(),
  };
}

/** Appends `n` entries, each in its own transaction (as uploads do). */
export async function appendMany(f: LogFixture, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await f.store.transaction((tx) => f.log.append(tx, publishEntry())));
  return out;
}
