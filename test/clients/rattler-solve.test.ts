import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleSolve } from '@conda-org/rattler';
import { makePackage } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { uploadMultipart, uploadRaw } from '../support/upload.ts';

/**
 * rattler (the solver behind pixi and rattler-build), unmodified, solves an environment from a
 * Provena channel: packages with a dependency between them, in linux-64 and noarch.
 */
describe('rattler solves an environment from a served channel', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
    await api(server, 'POST', '/api/v1/channels', { name: 'solve' });
    await api(server, 'POST', '/api/v1/channels', { name: 'hidden', private: true });
    const pkgs = [
      { name: 'libgreet', version: '1.0', build: 'h0_0', subdir: 'linux-64', depends: [] as string[] },
      { name: 'libgreet', version: '2.0', build: 'h0_0', subdir: 'linux-64', depends: [] as string[] },
      { name: 'greeter', version: '0.3', build: 'h1_0', subdir: 'linux-64', depends: ['libgreet >=1,<2', 'greet-data'] },
      { name: 'greet-data', version: '5', build: 'pyh_0', subdir: 'noarch', depends: [], noarch: 'generic' },
    ];
    for (const [i, p] of pkgs.entries()) {
      const format = i % 2 ? '.tar.bz2' : '.conda';
      const bytes = await makePackage({ ...p, format });
      const filename = `${p.name}-${p.version}-${p.build}${format}`;
      for (const channel of ['solve', 'hidden']) {
        const res = await (i % 2 ? uploadRaw : uploadMultipart)(server, channel, filename, bytes, { token: ADMIN_TOKEN });
        assert.equal(res.status, 201, JSON.stringify(res.json));
      }
    }
  });
  after(async () => {
    await server.stop();
  });

  it('solves greeter with its pinned dependency and a noarch dependency', async () => {
    const solved = await simpleSolve(['greeter'], [`${server.url}/solve`], ['linux-64', 'noarch'], []);
    const picked = Object.fromEntries(solved.map((p) => [p.packageName, p.version]));
    assert.deepEqual(picked, { greeter: '0.3', libgreet: '1.0', 'greet-data': '5' });
    for (const p of solved) assert.ok(p.url.startsWith(`${server.url}/solve/`), p.url);
  });

  it('picks the newest version when nothing pins it', async () => {
    const solved = await simpleSolve(['libgreet'], [`${server.url}/solve`], ['linux-64', 'noarch'], []);
    assert.deepEqual(solved.map((p) => `${p.packageName}=${p.version}`), ['libgreet=2.0']);
  });

  it('cannot see a private channel without a token, and can with the /t/TOKEN/ form', async () => {
    await assert.rejects(simpleSolve(['greeter'], [`${server.url}/hidden`], ['linux-64', 'noarch'], []));
    const key = (await api(server, 'POST', '/api/v1/keys', { channel: 'hidden', scope: 'read' })).json.secret;
    const solved = await simpleSolve(['greeter'], [`${server.url}/t/${key}/hidden`], ['linux-64', 'noarch'], []);
    assert.equal(solved.length, 3);
  });
});
