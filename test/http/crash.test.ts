import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { makePackage } from '../support/package-factory.ts';
import { api, ADMIN_TOKEN, startServer } from '../support/server.ts';
import { uploadMultipart, uploadRaw } from '../support/upload.ts';

/**
 * The crash rule: SIGKILL the server in the middle of a burst of uploads, restart it on the same data
 * directory with no repair step, and every acknowledged upload is there, no record lacks its blob,
 * and the served repodata matches the database.
 */
describe('crash safety', () => {
  it('survives SIGKILL during uploads with nothing lost or torn', async () => {
    let server = await startServer();
    const dataDir = server.dataDir;
    await api(server, 'POST', '/api/v1/channels', { name: 'crash' });
    const packages = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const name = `crashpkg${i}`;
        const format = i % 3 === 0 ? '.tar.bz2' : '.conda';
        const bytes = await makePackage({
          name,
          version: '1.0',
          build: '0',
          subdir: 'noarch',
          noarch: 'generic',
          format,
          files: { [`share/${name}/data.bin`]: Buffer.alloc(1_000_000 + i * 997, i) },
        });
        return { filename: `${name}-1.0-0${format}`, bytes };
      }),
    );

    const acknowledged: string[] = [];
    const inflight = packages.map(async (p, i) => {
      await new Promise((r) => setTimeout(r, i * 60));
      const res = await (i % 2 ? uploadRaw : uploadMultipart)(server, 'crash', p.filename, p.bytes, { token: ADMIN_TOKEN }).catch(
        () => ({ status: 0, json: undefined }),
      );
      if (res.status === 201) acknowledged.push(p.filename);
    });
    // kill once some uploads have been acknowledged and others are still on the wire
    const deadline = Date.now() + 20_000;
    while (acknowledged.length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await server.stop('SIGKILL');
    await Promise.all(inflight);
    assert.ok(acknowledged.length >= 8, `uploads were acknowledged before the kill (${acknowledged.length})`);
    assert.ok(acknowledged.length < packages.length, 'the kill struck while uploads were in flight');

    server = await startServer({ dataDir });
    try {
      const listed = (await api(server, 'GET', '/api/v1/channels/crash/packages')).json.packages as any[];
      const names = new Set(listed.map((p) => p.filename));
      for (const f of acknowledged) assert.ok(names.has(f), `acknowledged upload ${f} survived`);
      // every record's blob exists and hashes to the record's sha256
      for (const p of listed) {
        const blob = path.join(dataDir, 'blobs/pkgs/sha256', p.sha256.slice(0, 2), p.sha256);
        const digest = createHash('sha256').update(fs.readFileSync(blob)).digest('hex');
        assert.equal(digest, p.sha256, `${p.filename}'s blob is whole`);
      }
      // repodata matches the database, and parses (no torn file)
      const rd = (await (await fetch(`${server.url}/crash/noarch/repodata.json`)).json()) as any;
      const inRepodata = new Set([...Object.keys(rd.packages), ...Object.keys(rd['packages.conda'])]);
      assert.deepEqual([...inRepodata].sort(), [...names].sort());
      // no temporary leftovers survive the restart
      const leftovers = fs.readdirSync(path.join(dataDir, 'blobs'), { recursive: true }).filter((f) => String(f).includes('.tmp-'));
      assert.deepEqual(leftovers, []);
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'tmp')), []);
      // and the server takes uploads again
      const again = packages.find((p) => !names.has(p.filename));
      if (again) assert.equal((await uploadRaw(server, 'crash', again.filename, again.bytes, { token: ADMIN_TOKEN })).status, 201);
    } finally {
      await server.stop();
    }
  });
});
