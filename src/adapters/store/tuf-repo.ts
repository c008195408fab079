import type { Kysely } from 'kysely';
import type { TufDocument, TufRepo, TufRole, TufState } from '../../core/tuf/tuf-repo.ts';
import type { Database } from './schema.ts';

/** TUF state over Kysely: the compare-and-set on `serial` works alike on SQLite and PostgreSQL. */
export class KyselyTufRepo implements TufRepo {
  constructor(private readonly db: Kysely<Database>) {}

  async state(channel: string): Promise<TufState | null> {
    const row = await this.db.selectFrom('tuf_state').selectAll().where('channel', '=', channel).executeTakeFirst();
    if (!row) return null;
    return {
      channel,
      serial: Number(row.serial),
      versions: {
        root: Number(row.root_version),
        targets: Number(row.targets_version),
        snapshot: Number(row.snapshot_version),
        timestamp: Number(row.timestamp_version),
      },
    };
  }

  async commit(expectedSerial: number | null, next: TufState, documents: readonly TufDocument[]): Promise<boolean> {
    const columns = {
      serial: next.serial,
      root_version: next.versions.root,
      targets_version: next.versions.targets,
      snapshot_version: next.versions.snapshot,
      timestamp_version: next.versions.timestamp,
    };
    // the state row first: on PostgreSQL the UPDATE takes the row lock, so a second writer waits,
    // then finds the serial moved and changes nothing (no duplicate key, no aborted transaction)
    if (expectedSerial === null) {
      const r = await this.db
        .insertInto('tuf_state')
        .values({ channel: next.channel, ...columns })
        .onConflict((oc) => oc.column('channel').doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0n) !== 1) return false;
    } else {
      const r = await this.db
        .updateTable('tuf_state')
        .set(columns)
        .where('channel', '=', next.channel)
        .where('serial', '=', expectedSerial)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
    }
    for (const d of documents) {
      await this.db.insertInto('tuf_metadata').values({ channel: next.channel, role: d.role, version: d.version, body: d.body }).execute();
    }
    return true;
  }

  async document(channel: string, role: TufRole, version: number): Promise<string | null> {
    const row = await this.db
      .selectFrom('tuf_metadata')
      .select('body')
      .where('channel', '=', channel)
      .where('role', '=', role)
      .where('version', '=', version)
      .executeTakeFirst();
    return row?.body ?? null;
  }

  async prune(channel: string, role: Exclude<TufRole, 'root'>, belowVersion: number): Promise<void> {
    await this.db.deleteFrom('tuf_metadata').where('channel', '=', channel).where('role', '=', role).where('version', '<', belowVersion).execute();
  }

  async channels(): Promise<string[]> {
    return (await this.db.selectFrom('tuf_state').select('channel').execute()).map((r) => r.channel);
  }

  async forget(channel: string): Promise<void> {
    await this.db.deleteFrom('tuf_metadata').where('channel', '=', channel).execute();
    await this.db.deleteFrom('tuf_state').where('channel', '=', channel).execute();
  }
}
