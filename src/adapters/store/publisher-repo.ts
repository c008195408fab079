import type { Kysely } from 'kysely';
import type { PublisherRepo } from '../../core/channel/ports.ts';
import type { TrustedPublisher, TrustedPublisherSpec } from '../../core/publish/publisher.ts';
import type { Database } from './schema.ts';

export class KyselyPublisherRepo implements PublisherRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async add(publisher: TrustedPublisher): Promise<void> {
    const { id, channel, createdAt, ...spec } = publisher;
    await this.db
      .insertInto('trusted_publishers')
      .values({ id, channel, kind: spec.kind, spec: JSON.stringify(spec), created_at: createdAt })
      .execute();
  }

  async list(channel: string): Promise<TrustedPublisher[]> {
    const rows = await this.db
      .selectFrom('trusted_publishers')
      .selectAll()
      .where('channel', '=', channel)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toPublisher);
  }

  async get(id: string): Promise<TrustedPublisher | null> {
    const row = await this.db.selectFrom('trusted_publishers').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toPublisher(row) : null;
  }

  async remove(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('trusted_publishers').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }
}

export function toPublisher(row: Database['trusted_publishers']): TrustedPublisher {
  const spec = JSON.parse(row.spec) as TrustedPublisherSpec;
  return { ...spec, id: row.id, channel: row.channel, createdAt: row.created_at };
}
