import type { Kysely, Transaction } from 'kysely';
import type { MetadataStore } from '../../core/channel/ports.ts';
import { type MigrateOptions, migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';
import { KyselyChannelRepo } from './channel-repo.ts';
import { KyselyApiKeyRepo } from './api-key-repo.ts';
import { KyselyPackageRepo } from './package-repo.ts';
import { KyselyLogRepo } from './log-repo.ts';
import { KyselyPublisherRepo } from './publisher-repo.ts';
import { KyselyAttestationRepo } from './attestation-repo.ts';
import { KyselyTrustedPublishingRepo } from './trusted-publishing-repo.ts';
import { KyselyRepodataStateRepo } from './repodata-state-repo.ts';
import { KyselyTufRepo } from './tuf-repo.ts';

const MAX_ATTEMPTS = 5;
/** deadlock_detected, serialization_failure (SQLSTATE) */
const isDeadlock = (e: unknown) => ['40P01', '40001'].includes(String((e as { code?: unknown } | null)?.code));

/** The metadata store over any Kysely dialect: the same queries for SQLite and PostgreSQL. */
export class KyselyStore implements MetadataStore {
  readonly channels: KyselyChannelRepo;
  readonly keys: KyselyApiKeyRepo;
  readonly packages: KyselyPackageRepo;
  readonly log: KyselyLogRepo;
  readonly publishers: KyselyPublisherRepo;
  readonly attestations: KyselyAttestationRepo;
  readonly trustedPublishing: KyselyTrustedPublishingRepo;
  readonly repodata: KyselyRepodataStateRepo;
  readonly tuf: KyselyTufRepo;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly inTransaction = false,
  ) {
    this.channels = new KyselyChannelRepo(db);
    this.keys = new KyselyApiKeyRepo(db);
    this.packages = new KyselyPackageRepo(db);
    this.log = new KyselyLogRepo(db);
    this.publishers = new KyselyPublisherRepo(db);
    this.attestations = new KyselyAttestationRepo(db);
    this.trustedPublishing = new KyselyTrustedPublishingRepo(db);
    this.repodata = new KyselyRepodataStateRepo(db);
    this.tuf = new KyselyTufRepo(db);
  }

  async transaction<T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T> {
    // a transaction inside a transaction joins the outer one
    if (this.inTransaction) return fn(this);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute((trx: Transaction<Database>) => fn(new KyselyStore(trx, true)));
      } catch (e) {
        // PostgreSQL breaks a lock cycle by aborting one of the transactions in it; nothing of that one
        // was committed, so it runs again (SQLite has one writer and never does this)
        if (attempt >= MAX_ATTEMPTS || !isDeadlock(e)) throw e;
      }
    }
  }

  /** Applies pending migrations (under a lock on PostgreSQL: migrate.ts); returns their names. */
  migrate(opts: MigrateOptions = {}): Promise<string[]> {
    return migrateToLatest(this.db, opts);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
