/**
 * Fills a data directory with a channel subdir of N records quickly, for the repodata-scale bench:
 * records synthesised from the shapes of the real records in ../shared/data/repodata (every real
 * record, renamed `NAME-xK` for the K-th copy, so names, versions, builds, depends and the number of
 * records per name follow the real distribution; digests and sizes varied per record), written with
 * raw prepared statements (synchronous=OFF) into the tables the migrations make, plus each name's
 * shard, current_repodata part and repodata.json segments, built by the server's own code, and the repodata bookkeeping (0006_repodata_state) saying
 * that every shard is built and the index and full files are not. Only the bench fills a store this way.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import type { PackageRecord } from '../../src/core/conda/types.ts';
import { pythonJsonString } from '../../src/core/repodata/python-json.ts';
import { recordFragment } from '../../src/core/repodata/record-fragment.ts';
import { buildShard, shardPath } from '../../src/core/repodata/shards.ts';
import { newestOfName } from '../../src/core/repodata/current-stream.ts';
import { segmentsOf, type FragmentOf } from '../../src/core/repodata/segments.ts';
import { PROJECT_ROOT } from '../lib/provena-process.ts';

const REPODATA_DIR = join(PROJECT_ROOT, '..', 'shared', 'data', 'repodata');

type Template = [filename: string, record: PackageRecord];

/** Every real record, once per filename, grouped by name. */
export function realTemplates(): Map<string, Template[]> {
  const seen = new Set<string>();
  const byName = new Map<string, Template[]>();
  for (const file of readdirSync(REPODATA_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const doc = JSON.parse(readFileSync(join(REPODATA_DIR, file), 'utf8')) as Record<string, Record<string, PackageRecord> | undefined>;
    for (const section of ['packages', 'packages.conda']) {
      for (const [filename, record] of Object.entries(doc[section] ?? {})) {
        if (seen.has(filename) || !filename.startsWith(`${record.name}-`)) continue;
        seen.add(filename);
        const { fn: _fn, url: _url, channel: _channel, ...rest } = record;
        let group = byName.get(record.name);
        if (!group) byName.set(record.name, (group = []));
        group.push([filename, rest as PackageRecord]);
      }
    }
  }
  return byName;
}

// Each template's two texts (the `record` column's JSON and the stored repodata.json text) are
// serialised once with placeholders, then filled per copy: a 1M-record fill spends its time in SQLite.
const NAME_TOKEN = '"@@NAME@@"';
const SHA_TOKEN = '@@SHA256@@';
const MD5_TOKEN = '@@MD5@@';
const SIZE_TOKEN = '"@@SIZE@@"';
const templateTexts = new WeakMap<PackageRecord, { json: string; fragment: string }>();
function textsOf(template: PackageRecord, subdir: string): { json: string; fragment: string } {
  let texts = templateTexts.get(template);
  if (!texts) {
    const tokens = { ...template, name: '@@NAME@@', subdir, sha256: '@@SHA256@@', md5: '@@MD5@@', size: '@@SIZE@@' } as unknown as PackageRecord;
    texts = { json: JSON.stringify(tokens), fragment: recordFragment(tokens) };
    templateTexts.set(template, texts);
  }
  return texts;
}

export async function prefillRepodata(dataDir: string, channel: string, subdir: string, count: number, templates: Map<string, Template[]>): Promise<{ names: number }> {
  const file = join(dataDir, 'provena.sqlite');
  mkdirSync(dataDir, { recursive: true });
  const store = new KyselyStore(openSqlite(file));
  await store.migrate();
  await store.channels.create({ name: channel, private: false, requireAttestations: false, createdAt: new Date().toISOString() });
  await store.close();

  const db = new SqliteDatabase(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insertPackage = db.prepare(
    'INSERT INTO packages (channel, subdir, filename, name, sha256, md5, size, record, fragment, about, uploaded_at, uploaded_by, attestations_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, NULL)',
  );
  const insertShard = db.prepare('INSERT INTO repodata_shards (channel, subdir, name, changed, built, sha256, current, segments_built) VALUES (?, ?, ?, 0, 0, ?, ?, 0)');
  const insertSegment = db.prepare('INSERT INTO repodata_segments (channel, subdir, format, name, first, last, records, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const shardDir = join(dataDir, 'blobs', 'channels', channel, subdir, 'shards');
  mkdirSync(shardDir, { recursive: true });
  const now = new Date().toISOString();
  const groups = [...templates.values()];
  let i = 0;
  let names = 0;
  const fill = db.transaction((group: Template[], copy: number) => {
    const name = copy === 0 ? group[0]![1].name : `${group[0]![1].name}-x${copy}`;
    const packages = new Map<string, PackageRecord>();
    const packagesConda = new Map<string, PackageRecord>();
    const fragments: FragmentOf[] = [];
    for (const [templateName, template] of group) {
      if (i >= count) break;
      const filename = name + templateName.slice(template.name.length);
      const sha256 = createHash('sha256').update(`${channel}/${i}`).digest('hex');
      const size = Math.max(1000, Math.round(Number(template.size ?? 100_000) * (0.5 + ((i * 7919) % 1000) / 1000)));
      const record = { ...template, name, subdir, sha256, md5: sha256.slice(0, 32), size } as PackageRecord;
      const texts = textsOf(template, subdir);
      const fill = (text: string, nameText: string) =>
        text.replace(NAME_TOKEN, nameText).replace(SHA_TOKEN, sha256).replace(MD5_TOKEN, record.md5 as string).replace(SIZE_TOKEN, String(size));
      const fragment = fill(texts.fragment, pythonJsonString(name));
      insertPackage.run(channel, subdir, filename, name, sha256, record.md5, size, fill(texts.json, JSON.stringify(name)), fragment, now, 'bench');
      fragments.push({ filename, fragment });
      (filename.endsWith('.conda') ? packagesConda : packages).set(filename, record);
      i++;
    }
    if (packages.size + packagesConda.size === 0) return;
    const shard = buildShard({ packages, packagesConda });
    writeFileSync(join(dataDir, 'blobs', 'channels', channel, subdir, shardPath(shard.sha256)), shard.bytes);
    const named = [...packages, ...packagesConda].map(([filename, record]) => ({ filename, record }));
    insertShard.run(channel, subdir, name, Buffer.from(shard.sha256).toString('hex'), JSON.stringify(newestOfName(named)));
    for (const seg of segmentsOf(fragments)) insertSegment.run(channel, subdir, seg.format, name, seg.first, seg.last, seg.records, seg.bytes);
    names++;
  });
  for (let copy = 0; i < count; copy++) {
    for (const group of groups) {
      if (i >= count) break;
      fill(group, copy);
    }
  }
  db.prepare('INSERT INTO repodata_state (channel, subdir, generation, records, index_built, full_built) VALUES (?, ?, 1, ?, 0, 0)').run(channel, subdir, count);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return { names };
}
