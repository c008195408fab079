import { type Kysely, type Migration } from 'kysely';
import { packageNameOfFilename } from '../../core/repodata/subdir-records.ts';

/**
 * 0006_repodata_state: what incremental, replica-safe repodata needs (repodata-state-schema.ts).
 * Existing subdirs start at generation 1 with nothing built, so the first start after the upgrade
 * builds them once; every name starts changed so it gets a shard.
 */
export const repodataStateMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('repodata_state')
      .addColumn('channel', 'text', (c) => c.notNull().references('channels.name').onDelete('cascade'))
      .addColumn('subdir', 'text', (c) => c.notNull())
      .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('records', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('index_built', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('full_built', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('index_owner', 'text')
      .addColumn('index_until', 'bigint')
      .addColumn('full_owner', 'text')
      .addColumn('full_until', 'bigint')
      .addColumn('index_file', 'text')
      .addColumn('full_files', 'text')
      .addPrimaryKeyConstraint('repodata_state_pk', ['channel', 'subdir'])
      .execute();
    await db.schema
      .createTable('repodata_shards')
      .addColumn('channel', 'text', (c) => c.notNull().references('channels.name').onDelete('cascade'))
      .addColumn('subdir', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('changed', 'integer', (c) => c.notNull())
      .addColumn('built', 'integer')
      .addColumn('sha256', 'text')
      .addPrimaryKeyConstraint('repodata_shards_pk', ['channel', 'subdir', 'name'])
      .execute();
    await db.schema.createIndex('repodata_shards_changed').on('repodata_shards').columns(['channel', 'subdir', 'changed']).execute();
    // a shard is read by (channel, subdir, name): removed files need their name, too
    await db.schema.alterTable('removed_files').addColumn('name', 'text').execute();
    await db.schema.createIndex('removed_files_name').on('removed_files').columns(['channel', 'subdir', 'name']).execute();
    await db.schema.createIndex('packages_subdir_name').on('packages').columns(['channel', 'subdir', 'name', 'filename']).execute();

    const removed = await db.selectFrom('removed_files').select(['channel', 'subdir', 'filename']).execute();
    for (const r of removed) {
      await db
        .updateTable('removed_files')
        .set({ name: packageNameOfFilename(r.filename) })
        .where('channel', '=', r.channel)
        .where('subdir', '=', r.subdir)
        .where('filename', '=', r.filename)
        .execute();
    }
    const names = await db
      .selectFrom('packages')
      .select(['channel', 'subdir', 'name'])
      .union(db.selectFrom('removed_files').select(['channel', 'subdir', 'name']))
      .execute();
    const counts = await db
      .selectFrom('packages')
      .select(['channel', 'subdir', (eb) => eb.fn.countAll().as('n')])
      .groupBy(['channel', 'subdir'])
      .execute();
    const subdirs = new Map<string, { channel: string; subdir: string; records: number }>();
    for (const n of names) subdirs.set(`${n.channel}/${n.subdir}`, { channel: n.channel, subdir: n.subdir, records: 0 });
    for (const c of counts) subdirs.get(`${c.channel}/${c.subdir}`)!.records = Number(c.n);
    for (const s of subdirs.values()) {
      await db.insertInto('repodata_state').values({ ...s, generation: 1 }).execute();
    }
    for (const n of names) {
      await db.insertInto('repodata_shards').values({ channel: n.channel, subdir: n.subdir, name: n.name, changed: 1 }).execute();
    }
  },
};
