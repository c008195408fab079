import type { Kysely } from 'kysely';
import type { Channel } from '../../core/channel/model.ts';
import type { ChannelRepo } from '../../core/channel/ports.ts';
import type { Database } from './schema.ts';
import { byteOrder } from './repodata-state-repo.ts';

export class KyselyChannelRepo implements ChannelRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async create(channel: Channel): Promise<boolean> {
    const result = await this.db
      .insertInto('channels')
      .values({
        name: channel.name,
        private: channel.private ? 1 : 0,
        require_attestations: channel.requireAttestations ? 1 : 0,
        max_package_size: channel.maxPackageBytes ?? null,
        created_at: channel.createdAt,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async get(name: string): Promise<Channel | null> {
    const row = await this.db.selectFrom('channels').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toChannel(row) : null;
  }

  async list(): Promise<Channel[]> {
    // code point order, as SQLite sorts, whatever the PostgreSQL database's collation
    const rows = await this.db.selectFrom('channels').selectAll().orderBy(byteOrder(this.db, 'name')).execute();
    return rows.map(toChannel);
  }

  async update(
    name: string,
    changes: Partial<Pick<Channel, 'private' | 'requireAttestations' | 'maxPackageBytes'>>,
  ): Promise<Channel | null> {
    const values: Partial<Database['channels']> = {};
    if (changes.private !== undefined) values.private = changes.private ? 1 : 0;
    if (changes.requireAttestations !== undefined) values.require_attestations = changes.requireAttestations ? 1 : 0;
    if (changes.maxPackageBytes !== undefined) values.max_package_size = changes.maxPackageBytes;
    if (Object.keys(values).length > 0) {
      await this.db.updateTable('channels').set(values).where('name', '=', name).execute();
    }
    return this.get(name);
  }

  async delete(name: string): Promise<string[] | null> {
    const exists = await this.get(name);
    if (!exists) return null;
    const files = await this.db.selectFrom('packages').select('sha256').where('channel', '=', name).execute();
    // explicit deletes rather than relying on ON DELETE CASCADE being enabled on every connection
    await this.db.deleteFrom('packages').where('channel', '=', name).execute();
    await this.db.deleteFrom('removed_files').where('channel', '=', name).execute();
    await this.db.deleteFrom('api_keys').where('channel', '=', name).execute();
    await this.db.deleteFrom('trusted_publishers').where('channel', '=', name).execute();
    await this.db.deleteFrom('attestations').where('channel', '=', name).execute();
    await this.db.deleteFrom('channels').where('name', '=', name).execute();
    return files.map((f) => f.sha256);
  }
}

function toChannel(row: Database['channels']): Channel {
  return {
    name: row.name,
    private: Number(row.private) === 1,
    requireAttestations: Number(row.require_attestations) === 1,
    maxPackageBytes: row.max_package_size === null || row.max_package_size === undefined ? null : Number(row.max_package_size),
    createdAt: row.created_at,
  };
}
