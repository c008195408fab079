import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, PACKAGES_DIR, SHARED, startServer, type RunningServer } from '../support/server.ts';
import { sha256Hex, uploadMultipart, uploadRaw } from '../support/upload.ts';

const packageFiles = fs.readdirSync(PACKAGES_DIR).filter((f) => f.endsWith('.conda') || f.endsWith('.tar.bz2'));
const golden = JSON.parse(fs.readFileSync(path.join(SHARED, 'data/repodata/conda_format_repo_linux-64_repodata.json'), 'utf8'));

/** packages_stats.tsv: file, size, sha256, index facts, ... */
const stats = new Map(
  fs
    .readFileSync(path.join(SHARED, 'data/packages_stats.tsv'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split('\t'))
    .map(([file, size, sha256, index]) => [file!, { size: Number(size), sha256: sha256!, hasSubdir: !/'subdir': None/.test(index!) }]),
);

async function repodata(server: RunningServer, channel: string, subdir: string) {
  const res = await fetch(`${server.url}/${channel}/${subdir}/repodata.json`);
  assert.equal(res.status, 200);
  return res.json() as Promise<any>;
}

describe('uploading real conda packages', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
    for (const name of ['raw', 'multi', 'bad', 'race']) await api(server, 'POST', '/api/v1/channels', { name });
  });
  after(async () => {
    await server.stop();
  });

  for (const [channel, upload] of [
    ['raw', uploadRaw],
    ['multi', uploadMultipart],
  ] as const) {
    it(`accepts every shared package by the ${channel === 'raw' ? 'legacy raw' : 'multipart'} protocol and serves its record`, async () => {
      const key = (await api(server, 'POST', '/api/v1/keys', { channel, scope: 'upload' })).json.secret;
      for (const file of packageFiles) {
        const bytes = fs.readFileSync(path.join(PACKAGES_DIR, file));
        // three synthetic packages name no subdir in index.json: the upload URL places them
        const subdir = stats.get(file)!.hasSubdir ? undefined : 'linux-64';
        const res = await upload(server, channel, file, bytes, { token: key, subdir });
        assert.equal(res.status, 201, `${file}: ${JSON.stringify(res.json)}`);
        assert.equal(res.json.sha256, stats.get(file)!.sha256);
        assert.equal(res.json.size, stats.get(file)!.size);
        const rd = await repodata(server, channel, res.json.subdir);
        const section = file.endsWith('.conda') ? 'packages.conda' : 'packages';
        const record = rd[section][file];
        assert.ok(record, `${file} is in ${res.json.subdir}/repodata.json`);
        assert.equal(record.sha256, sha256Hex(bytes));
        assert.equal(record.size, bytes.length);
        assert.equal(record.subdir, res.json.subdir);
        // the served file is the uploaded file
        const served = Buffer.from(await (await fetch(`${server.url}/${channel}/${res.json.subdir}/${file}`)).arrayBuffer());
        assert.ok(served.equals(bytes), `${file} downloads byte for byte`);
      }
    });
  }

  it('writes zlib records exactly as conda-index did (golden repodata)', async () => {
    const rd = await repodata(server, 'raw', 'linux-64');
    assert.deepEqual(rd['packages']['zlib-1.2.11-h7b6447c_3.tar.bz2'], golden.packages['zlib-1.2.11-h7b6447c_3.tar.bz2']);
    assert.deepEqual(rd['packages.conda']['zlib-1.2.11-h7b6447c_3.conda'], golden['packages.conda']['zlib-1.2.11-h7b6447c_3.conda']);
    assert.equal(rd.repodata_version, 1);
    assert.deepEqual(rd.info, { subdir: 'linux-64' });
  });

  it('answers 409 for an existing file, and replaces it with force=true', async () => {
    const file = 'zlib-1.2.11-h7b6447c_3.conda';
    const bytes = fs.readFileSync(path.join(PACKAGES_DIR, file));
    const again = await uploadRaw(server, 'raw', file, bytes, { token: 'test-admin-token-0123456789abcdef' });
    assert.equal(again.status, 409);
    assert.equal(again.json.error, 'file_exists');
    const forced = await uploadMultipart(server, 'raw', file, bytes, { token: 'test-admin-token-0123456789abcdef', force: true });
    assert.equal(forced.status, 201);
  });

  it('lets only a channel admin replace a file: an upload key with force=true is refused and changes nothing', async () => {
    const file = 'zlib-1.2.11-h7b6447c_3.conda';
    const bytes = fs.readFileSync(path.join(PACKAGES_DIR, file));
    const before = await fetch(`${server.url}/raw/linux-64/${file}`).then((r) => r.headers.get('etag'));
    const uploadKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'raw', scope: 'upload' })).json.secret;
    const refused = await uploadMultipart(server, 'raw', file, bytes, { token: uploadKey, force: true });
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error, 'replace_needs_admin');
    assert.equal(await fetch(`${server.url}/raw/linux-64/${file}`).then((r) => r.headers.get('etag')), before);
    const adminKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'raw', scope: 'admin' })).json.secret;
    const replaced = await uploadMultipart(server, 'raw', file, bytes, { token: adminKey, force: true });
    assert.equal(replaced.status, 201);
  });

  it('needs a token with upload scope for this very channel', async () => {
    const file = 'empty-0.1.0-h4616a5c_0.conda';
    const bytes = fs.readFileSync(path.join(PACKAGES_DIR, file));
    const none = await uploadRaw(server, 'bad', file, bytes, { token: null });
    assert.equal(none.status, 401);
    const readKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'bad', scope: 'read' })).json.secret;
    const read = await uploadRaw(server, 'bad', file, bytes, { token: readKey });
    assert.equal(read.status, 403);
    assert.equal(read.json.error, 'scope_insufficient');
    const otherKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'multi', scope: 'upload' })).json.secret;
    const other = await uploadRaw(server, 'bad', file, bytes, { token: otherKey });
    assert.equal(other.status, 403);
    assert.equal((await uploadRaw(server, 'no-such-channel', file, bytes, { token: otherKey })).status, 404);
    const rd = await repodata(server, 'bad', 'noarch');
    assert.deepEqual(rd['packages.conda'], {});
  });

  it('accepts 50 simultaneous uploads of one filename exactly once', async () => {
    const file = 'link-scripts-0.1.0-h4616a5c_0.conda';
    const bytes = fs.readFileSync(path.join(PACKAGES_DIR, file));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 ? uploadRaw : uploadMultipart)(server, 'race', file, bytes, { token: 'test-admin-token-0123456789abcdef' }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 409).length, 49, statuses.join(','));
    const rd = await repodata(server, 'race', results.find((r) => r.status === 201)!.json.subdir);
    assert.deepEqual(Object.keys(rd['packages.conda']), [file]);
  });

  it('removes a package: it leaves packages, its name goes to removed, the file is gone', async () => {
    const file = 'zlib-1.2.11-h7b6447c_3.tar.bz2';
    const res = await api(server, 'DELETE', `/api/v1/channels/raw/packages/linux-64/${file}`);
    assert.equal(res.status, 200);
    const rd = await repodata(server, 'raw', 'linux-64');
    assert.equal(rd.packages[file], undefined);
    assert.deepEqual(rd.removed, [file]);
    assert.equal((await fetch(`${server.url}/raw/linux-64/${file}`)).status, 404);
    assert.equal((await api(server, 'DELETE', `/api/v1/channels/raw/packages/linux-64/${file}`)).status, 404);
    const uploadKey = (await api(server, 'POST', '/api/v1/keys', { channel: 'raw', scope: 'upload' })).json.secret;
    const byUploader = await api(server, 'DELETE', '/api/v1/channels/raw/packages/linux-64/zlib-1.2.11-h7b6447c_3.conda', undefined, uploadKey);
    assert.equal(byUploader.status, 403, 'an upload key cannot unpublish');
    // uploading it again takes it out of removed
    const bytes = fs.readFileSync(path.join(PACKAGES_DIR, file));
    assert.equal((await uploadRaw(server, 'raw', file, bytes, { token: uploadKey })).status, 201);
    const rd2 = await repodata(server, 'raw', 'linux-64');
    assert.ok(rd2.packages[file]);
    assert.deepEqual(rd2.removed, []);
  });
});
