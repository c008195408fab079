import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, PACKAGES_DIR, ROOT, startServer, type RunningServer } from '../support/server.ts';
import { provena } from '../support/cli.ts';


describe('provena CLI against a real server', () => {
  let server: RunningServer;
  let env: Record<string, string>;
  before(async () => {
    server = await startServer();
    env = { PROVENA_SERVER: server.url, PROVENA_TOKEN: ADMIN_TOKEN };
  });
  after(async () => {
    await server.stop();
  });

  it('creates, lists and deletes channels', async () => {
    const created = await provena(['channel', 'create', 'clichan'], env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created channel clichan \(public\)/);
    assert.equal((await provena(['channel', 'create', 'cliprivate', '--private'], env)).code, 0);
    const list = await provena(['channel', 'list', '--json'], env);
    const names = JSON.parse(list.stdout).map((c: any) => `${c.name}:${c.private}`);
    assert.ok(names.includes('clichan:false') && names.includes('cliprivate:true'));
    assert.equal((await provena(['channel', 'delete', 'cliprivate'], env)).code, 0);
  });

  it('creates keys (secret shown once, --json shape), lists and revokes them', async () => {
    const res = await provena(['key', 'create', '--channel', 'clichan', '--scope', 'upload', '--expires', '7', '--json'], env);
    assert.equal(res.code, 0, res.stderr);
    const key = JSON.parse(res.stdout);
    assert.deepEqual(Object.keys(key).sort(), ['channel', 'expires_at', 'id', 'scope', 'secret']);
    assert.equal(key.scope, 'upload');
    const list = await provena(['key', 'list', '--channel', 'clichan'], env);
    assert.match(list.stdout, new RegExp(`${key.id}\\tclichan\\tupload`));
    assert.doesNotMatch(list.stdout, new RegExp(key.secret));
    assert.equal((await provena(['key', 'revoke', key.id], env)).code, 0);
    assert.match((await provena(['key', 'list'], env)).stdout, new RegExp(`${key.id}.*revoked`));
  });

  it('uploads packages, skips or refuses existing ones, and removes them', async () => {
    const key = JSON.parse((await provena(['key', 'create', '--channel', 'clichan', '--scope', 'upload', '--json'], env)).stdout);
    const files = ['zlib-1.2.11-h7b6447c_3.conda', 'flask-0.11.1-py_0.tar.bz2'].map((f) => path.join(PACKAGES_DIR, f));
    const up = await provena(['upload', ...files, '--channel', 'clichan'], { ...env, PROVENA_TOKEN: key.secret });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /uploaded clichan\/linux-64\/zlib-1.2.11-h7b6447c_3.conda sha256:f33afff2/);
    assert.match(up.stdout, /uploaded clichan\/noarch\/flask-0.11.1-py_0.tar.bz2/);
    const again = await provena(['upload', files[0]!, '--channel', 'clichan'], { ...env, PROVENA_TOKEN: key.secret });
    assert.equal(again.code, 2);
    assert.match(again.stderr, /file_exists.*--skip-existing or --force/);
    assert.equal(again.stderr.trim().split('\n').length, 1, 'one line');
    const skip = await provena(['upload', files[0]!, '--channel', 'clichan', '--skip-existing'], { ...env, PROVENA_TOKEN: key.secret });
    assert.equal(skip.code, 0);
    assert.match(skip.stdout, /skipped/);
    const notAdmin = await provena(['upload', files[0]!, '--channel', 'clichan', '--force'], { ...env, PROVENA_TOKEN: key.secret });
    assert.notEqual(notAdmin.code, 0);
    assert.match(notAdmin.stderr, /replace_needs_admin/);
    const force = await provena(['upload', files[0]!, '--channel', 'clichan', '--force'], env);
    assert.equal(force.code, 0, force.stderr);
    const removed = await provena(['remove', 'clichan', 'zlib-1.2.11-h7b6447c_3.conda'], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /removed clichan\/linux-64\/zlib-1.2.11-h7b6447c_3.conda/);
    const rd = (await (await fetch(`${server.url}/clichan/linux-64/repodata.json`)).json()) as any;
    assert.deepEqual(rd.removed, ['zlib-1.2.11-h7b6447c_3.conda']);
  });

  it('fails with one line and the right exit code', async () => {
    const usage = await provena(['upload', '--channel', 'clichan'], env);
    assert.equal(usage.code, 2);
    const refused = await provena(['channel', 'create', 'Bad Name'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^provena: server refused \(422 invalid_channel_name\)/);
    const unreachable = await provena(['channel', 'list'], { PROVENA_SERVER: 'http://127.0.0.1:1', PROVENA_TOKEN: ADMIN_TOKEN });
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /cannot reach http:\/\/127.0.0.1:1/);
    const unknown = await provena(['frobnicate']);
    assert.equal(unknown.code, 2);
    const badConfig = await provena(['serve', '--port', 'eighty']);
    assert.equal(badConfig.code, 2);
    assert.match(badConfig.stderr, /setting port/);
  });

  it('indexes a directory of packages like conda-index', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-index-'));
    fs.mkdirSync(path.join(dir, 'linux-64'));
    for (const f of ['zlib-1.2.11-h7b6447c_3.conda', 'zlib-1.2.11-h7b6447c_3.tar.bz2']) {
      fs.copyFileSync(path.join(PACKAGES_DIR, f), path.join(dir, 'linux-64', f));
    }
    fs.writeFileSync(path.join(dir, 'linux-64', 'broken-1.0-0.conda'), 'not a zip');
    const res = await provena(['index', dir]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /skipped linux-64\/broken-1.0-0.conda: corrupt_package/);
    const golden = JSON.parse(fs.readFileSync(path.join(ROOT, '../shared/data/repodata/conda_format_repo_linux-64_repodata.json'), 'utf8'));
    const rd = JSON.parse(fs.readFileSync(path.join(dir, 'linux-64/repodata.json'), 'utf8'));
    assert.deepEqual(rd['packages.conda'], golden['packages.conda']);
    assert.deepEqual(rd.packages['zlib-1.2.11-h7b6447c_3.tar.bz2'], golden.packages['zlib-1.2.11-h7b6447c_3.tar.bz2']);
    for (const f of ['repodata.json.zst', 'current_repodata.json', 'repodata_shards.msgpack.zst']) {
      assert.ok(fs.existsSync(path.join(dir, 'linux-64', f)), f);
    }
    assert.ok(fs.existsSync(path.join(dir, 'noarch/repodata.json')), 'noarch is always written');
  });
});
