import { Migrator, type Kysely, type Transaction } from 'kysely';
import type { MetadataStore } from '../../core/channel/ports.ts';
import { migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';
import { KyselyChannelRepo } from './channel-repo.ts';
import { KyselyApiKeyRepo } from './api-key-repo.ts';
import { KyselyPackageRepo } from './package-repo.ts';
import { KyselyLogRepo } from './log-repo.ts';
import { KyselyPublisherRepo } from './publisher-repo.ts';
import { KyselyAttestationRepo } from './attestation-repo.ts';
import { KyselyTrustedPublishingRepo } from './trusted-publishing-repo.ts';

/** The metadata store over any Kysely dialect: the same queries for SQLite and PostgreSQL. */
export class KyselyStore implements MetadataStore {
  readonly channels: KyselyChannelRepo;
  readonly keys: KyselyApiKeyRepo;
  readonly packages: KyselyPackageRepo;
  readonly log: KyselyLogRepo;
  readonly publishers: KyselyPublisherRepo;
  readonly attestations: KyselyAttestationRepo;
  readonly trustedPublishing: KyselyTrustedPublishingRepo;

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
  }

  async transaction<T>(fn: (tx: MetadataStore) => Promise<T>): Promise<T> {
    // a transaction inside a transaction joins the outer one
    if (this.inTransaction) return fn(this);
    return this.db.transaction().execute((trx: Transaction<Database>) => fn(new KyselyStore(trx, true)));
  }

  async migrate(): Promise<void> {
    const { error, results } = await new Migrator({ db: this.db, provider: migrationProvider }).migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error || failed) {
      throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
