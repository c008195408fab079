// The real server on PostgreSQL (`--database postgres://...`): uploads by both protocols, the race
// for one filename, downloads, repodata, removal, receipts and the log API, then a restart onto the
// same schema. (PROVENA_TEST_STORE=postgres runs every server test this way; this file always does.)
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyReceipt } from '../../src/core/tlog/receipt.ts';
import { adminQuery, tempPgSchema, type PgSchema } from '../support/pg.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { sha256Hex, uploadMultipart, uploadRaw } from '../support/upload.ts';
import { servedLog, smallPackage } from '../tlog-server/log-support.ts';

describe('the server on PostgreSQL', () => {
  let pg: PgSchema;
  let server: RunningServer;
  let args: string[];
  before(async () => {
    pg = await tempPgSchema({ create: false });
    // the search_path in the URL, as an operator might give it; the server creates nothing in SQLite
    args = ['--database', pg.url, '--database-pool-size', '4'];
    await adminQuery(`CREATE SCHEMA ${pg.schema}`);
    server = await startServer({ args });
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'main' })).status, 201);
  });
  after(async () => {
    await server.stop();
    await pg.drop();
  });

  it('accepts uploads by both protocols, refuses the second of a filename, serves bytes and repodata', async () => {
    const key = (await api(server, 'POST', '/api/v1/keys', { channel: 'main', scope: 'upload' })).json.secret;
    const raw = await smallPackage('alpha');
    const multi = await smallPackage('beta', '.tar.bz2');
    const r1 = await uploadRaw(server, 'main', 'alpha-1.0-0.conda', raw, { token: key });
    assert.equal(r1.status, 201, JSON.stringify(r1.json));
    assert.equal(r1.json.size, raw.length);
    const r2 = await uploadMultipart(server, 'main', 'beta-1.0-0.tar.bz2', multi, { token: key });
    assert.equal(r2.status, 201, JSON.stringify(r2.json));

    // ten uploads of one new filename at once: one is accepted, nine get 409
    const gamma = await smallPackage('gamma');
    const race = await Promise.all(Array.from({ length: 10 }, () => uploadRaw(server, 'main', 'gamma-1.0-0.conda', gamma, { token: key })));
    assert.deepEqual(race.map((r) => r.status).sort(), [201, ...Array(9).fill(409)]);

    const res = await fetch(`${server.url}/main/noarch/alpha-1.0-0.conda`);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(raw));
    assert.equal((await fetch(`${server.url}/main/noarch/alpha-1.0-0.conda`, { headers: { 'if-none-match': res.headers.get('etag')! } })).status, 304);
    const rd = (await (await fetch(`${server.url}/main/noarch/repodata.json`)).json()) as any;
    assert.deepEqual(Object.keys(rd['packages.conda']).sort(), ['alpha-1.0-0.conda', 'gamma-1.0-0.conda']);
    assert.equal(rd.packages['beta-1.0-0.tar.bz2'].sha256, sha256Hex(multi));
    assert.equal(rd.packages['beta-1.0-0.tar.bz2'].size, multi.length);

    const { rows } = await adminQuery(`SELECT filename, size FROM ${pg.schema}.packages ORDER BY filename`);
    assert.deepEqual(rows.map((r) => r.filename), ['alpha-1.0-0.conda', 'beta-1.0-0.tar.bz2', 'gamma-1.0-0.conda']);
    assert.ok(!fs.existsSync(path.join(server.dataDir, 'provena.sqlite')), 'no SQLite file beside PostgreSQL');
  });

  it('logs every change: receipts verify, entries and proofs are served, removal is recorded', async () => {
    const log = await servedLog(server);
    const pkg = await smallPackage('delta');
    const up = await uploadRaw(server, 'main', 'delta-1.0-0.conda', pkg, { token: ADMIN_TOKEN });
    assert.equal(up.status, 201);
    const v = verifyReceipt(up.json.receipt, [log.verifier], log.origin);
    assert.equal(v.entry.filename, 'delta-1.0-0.conda');
    const fromFile = await (await fetch(`${server.url}/main/noarch/delta-1.0-0.conda.receipt.json`)).json();
    assert.equal(verifyReceipt(fromFile as never, [log.verifier], log.origin).index, up.json.receipt.log_index);

    assert.equal((await api(server, 'DELETE', '/api/v1/channels/main/packages/noarch/delta-1.0-0.conda')).status, 200);
    const rd = (await (await fetch(`${server.url}/main/noarch/repodata.json`)).json()) as any;
    assert.equal(rd['packages.conda']['delta-1.0-0.conda'], undefined);
    assert.ok(rd.removed.includes('delta-1.0-0.conda'));
    const { rows } = await adminQuery(`SELECT idx, action, filename FROM ${pg.schema}.log_entries ORDER BY idx`);
    assert.deepEqual(rows.map((r) => Number(r.idx)), rows.map((_, i) => i), 'consecutive indexes');
    assert.deepEqual(rows.filter((r) => r.filename === 'delta-1.0-0.conda').map((r) => r.action), ['publish', 'remove']);
    const entry = await api(server, 'GET', `/api/v1/log/entries/${up.json.receipt.log_index}`, undefined, null);
    assert.equal(entry.status, 200);
    assert.equal(entry.json.entry_json.filename, 'delta-1.0-0.conda');
  });

  it('restarts onto the same schema: data, keys and the log carry on', async () => {
    const before = (await servedLog(server)).origin;
    const size = Number((await adminQuery(`SELECT size FROM ${pg.schema}.log_head`)).rows[0].size);
    await server.stop();
    server = await startServer({ dataDir: server.dataDir, args });
    assert.equal((await servedLog(server)).origin, before);
    const note = await (await fetch(`${server.url}/log/checkpoint`)).text();
    assert.equal(note.split('\n')[1], String(size), 'the restarted server serves the signed size it left');
    const list = await api(server, 'GET', '/api/v1/channels/main/packages', undefined, null);
    assert.equal(list.status, 200);
    const next = await uploadRaw(server, 'main', 'epsilon-1.0-0.conda', await smallPackage('epsilon'), { token: ADMIN_TOKEN });
    assert.equal(next.status, 201);
    assert.equal(next.json.receipt.log_index, size, 'the log continues at the next index');
  });
});
