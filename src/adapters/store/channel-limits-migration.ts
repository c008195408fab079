import type { Kysely, Migration } from 'kysely';

/** Per-channel limits: the largest package a channel accepts (null: the server's `max_package_size`). */
export const channelLimitsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('channels').addColumn('max_package_size', 'bigint').execute();
  },
};
