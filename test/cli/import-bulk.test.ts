// `provena import` of a channel bigger than one batch, on SQLite and on PostgreSQL: the records go in
// with multi-row inserts and bulk log appends, and the result is what one-at-a-time imports made:
// every record served as the source has it, one log entry per file at consecutive indexes, a log that
// verifies. A repodata.json broken halfway through stops the import before anything is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { provena } from '../support/cli.ts';
import { PG_URL, tempPgSchema } from '../support/pg.ts';
import { startServer } from '../support/server.ts';

const FILES = 1_100; // three batches of 500

function writeChannel(dir: string): Record<string, Record<string, unknown>> {
  const noarch = path.join(dir, 'noarch');
  fs.mkdirSync(noarch, { recursive: true });
  const records: Record<string, Record<string, unknown>> = {};
  for (let i = 0; i < FILES; i++) {
    const name = `bulk${i % 40}`;
    const version = `1.${i}`;
    const filename = `${name}-${version}-0.${i % 3 === 0 ? 'tar.bz2' : 'conda'}`;
    const bytes = Buffer.from(`file ${i} ${'x'.repeat(i % 97)}`);
    fs.writeFileSync(path.join(noarch, filename), bytes);
    records[filename] = {
      name,
      version,
      build: '0',
      build_number: 0,
      depends: [`dep${i % 7} >=1`, 'python'],
      license: 'MIT',
      subdir: 'noarch',
      note: `quotes " and braces } { in a string ${i}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      md5: createHash('md5').update(bytes).digest('hex'),
      size: bytes.length,
    };
  }
  const packages = Object.fromEntries(Object.entries(records).filter(([f]) => f.endsWith('.tar.bz2')));
  const conda = Object.fromEntries(Object.entries(records).filter(([f]) => f.endsWith('.conda')));
  fs.writeFileSync(path.join(noarch, 'repodata.json'), JSON.stringify({ info: { subdir: 'noarch' }, packages, 'packages.conda': conda, removed: [], repodata_version: 1 }, null, 1));
  return records;
}

for (const kind of ['sqlite', 'postgres'] as const) {
  test(`import of ${FILES} files in bulk on ${kind}`, { timeout: 600_000 }, async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-import-bulk-'));
    const pg = kind === 'postgres' ? await tempPgSchema() : null;
    const dbArgs = pg ? ['--database', PG_URL, '--database-schema', pg.schema] : [];
    const dataDir = path.join(root, 'data');
    try {
      const source = path.join(root, 'source');
      const records = writeChannel(source);

      // broken after the first batch's worth of records: refused whole, nothing stored
      const broken = path.join(root, 'broken');
      fs.mkdirSync(broken);
      const text = fs.readFileSync(path.join(source, 'noarch/repodata.json'), 'utf8');
      fs.writeFileSync(path.join(broken, 'repodata.json'), text.slice(0, Math.floor(text.length * 0.7)) + '{"name": }}}');
      for (const f of Object.keys(records)) fs.copyFileSync(path.join(source, 'noarch', f), path.join(broken, f));
      const refused = await provena(['import', path.join(broken, 'repodata.json'), '--channel', 'broken', '--data', dataDir, ...dbArgs]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /broken\/repodata\.json is not (readable JSON|a valid repodata\.json)/);
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);

      const res = await provena(['import', source, '--channel', 'bulk', '--data', dataDir, ...dbArgs]);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stdout, new RegExp(`imported ${FILES} files`));

      const server = await startServer({ dataDir, args: dbArgs });
      try {
        assert.equal((await fetch(`${server.url}/api/v1/channels/broken`)).status, 404, 'the broken import created nothing');
        const rd = (await (await fetch(`${server.url}/bulk/noarch/repodata.json`)).json()) as Record<string, Record<string, Record<string, unknown>>>;
        const served = { ...rd.packages, ...rd['packages.conda'] };
        assert.deepEqual(Object.keys(served).sort(), Object.keys(records).sort());
        for (const [f, r] of Object.entries(records)) assert.deepEqual(served[f], r, f);
        // one entry for the channel, one per file, all signed; the monitor checks every entry against the tree
        const size = Number((await (await fetch(`${server.url}/log/checkpoint`)).text()).split('\n')[1]);
        assert.equal(size, FILES + 1);
        const monitor = await provena(['log', 'monitor', server.url, '--state', path.join(root, 'monitor.json')]);
        assert.equal(monitor.code, 0, monitor.stdout + monitor.stderr);
        const last = await fetch(`${server.url}/api/v1/log/entries/${FILES}`);
        assert.equal(last.status, 200);
        const lastEntry = ((await last.json()) as { entry_json: { filename: string; action: string } }).entry_json;
        assert.equal(lastEntry.action, 'publish');
        assert.ok(lastEntry.filename in records);
      } finally {
        await server.stop();
      }

      // a re-run finds everything there: nothing imported, nothing appended
      const again = await provena(['import', source, '--channel', 'bulk', '--data', dataDir, ...dbArgs]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`imported 0 files .*${FILES} already there`));
    } finally {
      await pg?.drop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
}
