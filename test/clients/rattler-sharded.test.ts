import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { simpleSolve } from '@conda-org/rattler';
import { makePackage } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { uploadMultipart } from '../support/upload.ts';

/**
 * rattler prefers sharded repodata (CEP-16) when the index exists; the same channel read through its
 * repodata.json alone (a copy served without the index: 404, so rattler falls back) must give the same environments, after
 * several uploads and a removal changed shards and full files one package at a time. Run with a low
 * repodata_sync_records, too, so the debounced full files are checked once they caught up.
 */
for (const syncRecords of ['20000', '1']) {
  describe(`sharded and plain repodata solve alike (repodata_sync_records=${syncRecords})`, () => {
    let server: RunningServer;
    let plainDir: string;
    let plain: http.Server;
    let plainUrl: string;
    const subdirs: ('linux-64' | 'noarch')[] = ['linux-64', 'noarch'];
    before(async () => {
      server = await startServer({ env: { PROVENA_REPODATA_SYNC_RECORDS: syncRecords, PROVENA_REPODATA_DEBOUNCE_MS: '100' } });
      await api(server, 'POST', '/api/v1/channels', { name: 'solve' });
      const pkgs = [
        { name: 'libgreet', version: '1.0', build: 'h0_0', subdir: 'linux-64', depends: [] as string[] },
        { name: 'libgreet', version: '1.5', build: 'h0_0', subdir: 'linux-64', depends: [] as string[] },
        { name: 'libgreet', version: '2.0', build: 'h0_0', subdir: 'linux-64', depends: [] as string[] },
        { name: 'greeter', version: '0.3', build: 'h1_0', subdir: 'linux-64', depends: ['libgreet >=1,<2', 'greet-data'] },
        { name: 'greeter', version: '0.4', build: 'h1_0', subdir: 'linux-64', depends: ['libgreet >=2', 'greet-data >=6'] },
        { name: 'greet-data', version: '5', build: 'pyh_0', subdir: 'noarch', depends: [], noarch: 'generic' },
        { name: 'greet-data', version: '6', build: 'pyh_0', subdir: 'noarch', depends: [], noarch: 'generic' },
      ];
      for (const p of pkgs) {
        const bytes = await makePackage({ ...p, format: '.conda' });
        const res = await uploadMultipart(server, 'solve', `${p.name}-${p.version}-${p.build}.conda`, bytes, { token: ADMIN_TOKEN });
        assert.equal(res.status, 201, JSON.stringify(res.json));
      }
      // greet-data 6 goes: greeter 0.4 can no longer be installed
      assert.equal((await api(server, 'DELETE', '/api/v1/channels/solve/packages/noarch/greet-data-6-pyh_0.conda')).status, 200);
      plainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-plain-'));
      for (const subdir of subdirs) {
        // the full files catch up within the debounce delay when the subdir is "big"
        let text = '';
        for (let tries = 0; tries < 600; tries++) {
          text = await (await fetch(`${server.url}/solve/${subdir}/repodata.json`)).text();
          const doc = JSON.parse(text) as { 'packages.conda': Record<string, unknown>; removed: string[] };
          const expected = pkgs.filter((p) => p.subdir === subdir).length - (subdir === 'noarch' ? 1 : 0);
          if (Object.keys(doc['packages.conda']).length === expected && (subdir !== 'noarch' || doc.removed.length === 1)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        fs.mkdirSync(path.join(plainDir, subdir));
        fs.writeFileSync(path.join(plainDir, subdir, 'repodata.json'), text);
      }
      // a static copy with repodata.json only
      plain = http.createServer((req, res) => {
        const [subdir, file] = (req.url ?? '').split('/').slice(2);
        const p = path.join(plainDir, subdir ?? '', file ?? '');
        if (file !== 'repodata.json' || !(subdirs as string[]).includes(subdir!) || !fs.existsSync(p)) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(fs.readFileSync(p));
      });
      await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
      plainUrl = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/plain`;
    });
    after(async () => {
      await server.stop();
      await new Promise((resolve) => plain.close(resolve));
      fs.rmSync(plainDir, { recursive: true, force: true });
    });

    const solve = async (specs: string[], channel: string) =>
      (await simpleSolve(specs, [channel], subdirs, [])).map((p) => `${p.packageName}=${p.version}=${p.build}`).sort();

    for (const specs of [['greeter'], ['libgreet'], ['libgreet <2'], ['greet-data'], ['greeter', 'libgreet <1.5']]) {
      it(`solves ${specs.join(', ')} the same way from shards and from repodata.json`, async () => {
        const sharded = await solve(specs, `${server.url}/solve`);
        const fromFull = await solve(specs, plainUrl);
        assert.ok(sharded.length > 0);
        assert.deepEqual(sharded, fromFull);
      });
    }

    it('sees the removal: greeter resolves to 0.3', async () => {
      assert.ok((await solve(['greeter'], `${server.url}/solve`)).includes('greeter=0.3=h1_0'));
    });
  });
}
