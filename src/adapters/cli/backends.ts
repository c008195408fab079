import * as fs from 'node:fs';
import * as path from 'node:path';
import { FsBlobStore } from '../blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../store/kysely-store.ts';
import { openSqlite } from '../store/sqlite/open-sqlite.ts';
import { openPostgres, redactUrl } from '../store/postgres/open-postgres.ts';
import { SettingsError, type Settings } from '../config/settings.ts';
import { openS3BlobStore } from '../blobs/s3/open-s3.ts';
import type { BlobStore } from '../../core/channel/ports.ts';
import { isProvenaError } from '../../core/errors.ts';
import { CliError } from './cli-error.ts';

/** How old a temporary file in a shared `blobs_dir` must be before a starting replica removes it. */
const SHARED_TEMPORARIES_GRACE_MS = 60 * 60 * 1000;

/**
 * Where metadata and bytes live, chosen from the settings. The embedded default is SQLite and files
 * under the data directory; each backend is opened here and nowhere else.
 */
export async function openStore(settings: Settings, dataDir: string): Promise<KyselyStore> {
  return (await openMigratedStore(settings, dataDir)).store;
}

/**
 * `database = postgres://...`: PostgreSQL (a pool of `database_pool_size`, tables in `database_schema`
 * or the URL's search_path); unset: DATA/provena.sqlite. Pending migrations run first, under a lock on
 * PostgreSQL, so replicas may start together; `applied` names what this call migrated.
 */
export async function openMigratedStore(settings: Settings, dataDir: string): Promise<{ store: KyselyStore; applied: string[] }> {
  if (settings.database === undefined) {
    if (settings.database_schema !== undefined) throw new SettingsError('setting database_schema: only for PostgreSQL; set database too');
    const store = new KyselyStore(openSqlite(path.join(dataDir, 'provena.sqlite')));
    return { store, applied: await store.migrate() };
  }
  const schema = settings.database_schema;
  const store = new KyselyStore(openPostgres({ url: settings.database, poolSize: settings.database_pool_size, schema }));
  try {
    return { store, applied: await store.migrate({ createSchema: schema }) };
  } catch (e) {
    await store.close().catch(() => undefined);
    const why = (e as Error).message || String((e as { code?: string }).code ?? e);
    throw new CliError(`cannot open the PostgreSQL database ${redactUrl(settings.database)}: ${why} (check the database setting and that the server accepts connections)`, 1);
  }
}

/** `storage = s3://BUCKET/PREFIX`: a bucket (docs/configuration.md); unset: files under DATA/blobs. */
export async function openBlobs(settings: Settings, dataDir: string): Promise<BlobStore> {
  if (settings.storage !== undefined) {
    if ((settings.s3_access_key_id === undefined) !== (settings.s3_secret_access_key === undefined)) {
      throw new SettingsError('setting s3_access_key_id: set both s3_access_key_id and s3_secret_access_key, or neither (then the AWS credential chain is used)');
    }
    try {
      return await openS3BlobStore({ ...settings, storage: settings.storage });
    } catch (e) {
      throw new CliError(`${isProvenaError(e) ? e.detail : (e as Error).message}`, 1);
    }
  }
  // blobs_dir: a directory replicas on one shared file system can all use
  const root = settings.blobs_dir !== undefined ? path.resolve(settings.blobs_dir) : path.join(dataDir, 'blobs');
  fs.mkdirSync(root, { recursive: true });
  // a shared directory holds other replicas' in-flight temporaries: only old ones are a crash's leftovers
  return new FsBlobStore(root, settings.blobs_dir !== undefined ? { temporariesGraceMs: SHARED_TEMPORARIES_GRACE_MS } : {});
}
