import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { provena } from '../support/cli.ts';
import { startS3, type RunningS3 } from '../support/s3.ts';
import { ADMIN_TOKEN, PACKAGES_DIR, SHARED, startServer, type RunningServer } from '../support/server.ts';

const SUBDIR_OF = /'subdir': '([^']+)'/;
const CORRUPT = 'flask-0.11.1-py_0.tar.bz2';

/**
 * `provena import` loads an existing channel into a fresh data directory (and into a bucket): the
 * served records are the source's, a corrupt file is refused by name and nothing of it is stored, the
 * transparency log has one entry per imported file, and a re-run changes nothing.
 */
describe('provena import', () => {
  let source: string;
  let dataDir: string;
  const sourceRecords: Record<string, Record<string, Record<string, unknown>>> = {};
  const tmpDirs: string[] = [];
  const tmp = (tag: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `provena-import-${tag}-`));
    tmpDirs.push(d);
    return d;
  };
  const serve = (args: string[] = [], env: Record<string, string> = {}) => startServer({ dataDir, args, env });
  const records = (repodata: any) => ({ ...repodata.packages, ...repodata['packages.conda'] }) as Record<string, Record<string, unknown>>;
  const logSize = async (server: RunningServer) => Number((await (await fetch(`${server.url}/log/checkpoint`)).text()).split('\n')[1]);

  before(async () => {
    // ../shared/data/packages laid out as a conda channel by subdir, indexed by `provena index`
    source = tmp('source');
    const stats = fs.readFileSync(path.join(SHARED, 'data/packages_stats.tsv'), 'utf8').trim().split('\n');
    for (const line of stats) {
      const [file, , , index] = line.split('\t');
      const subdir = SUBDIR_OF.exec(index!)?.[1] ?? 'noarch';
      fs.mkdirSync(path.join(source, subdir), { recursive: true });
      fs.copyFileSync(path.join(PACKAGES_DIR, file!), path.join(source, subdir, file!));
    }
    const indexed = await provena(['index', source]);
    assert.equal(indexed.code, 0, indexed.stderr);
    for (const subdir of fs.readdirSync(source)) {
      const file = path.join(source, subdir, 'repodata.json');
      if (fs.existsSync(file)) sourceRecords[subdir] = records(JSON.parse(fs.readFileSync(file, 'utf8')));
    }
    assert.ok(Object.keys(sourceRecords.noarch ?? {}).includes(CORRUPT));
    assert.ok(Object.values(sourceRecords).reduce((n, r) => n + Object.keys(r).length, 0) >= 10);
    // one file corrupted after indexing: same size, one byte changed
    const corrupt = path.join(source, 'noarch', CORRUPT);
    const bytes = fs.readFileSync(corrupt);
    bytes[bytes.length >> 1]! ^= 0xff;
    fs.chmodSync(corrupt, 0o644);
    fs.writeFileSync(corrupt, bytes);
    dataDir = tmp('data');
  });
  after(() => {
    for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('imports every good file, refuses the corrupt one by name, and exits 1', async () => {
    const res = await provena(['import', source, '--channel', 'mirror', '--data', dataDir]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, new RegExp(`refused noarch/${CORRUPT.replace(/\./g, '\\.')}: sha256 mismatch`));
    const total = Object.values(sourceRecords).reduce((n, r) => n + Object.keys(r).length, 0);
    assert.match(res.stdout, new RegExp(`imported ${total - 1} files .* 0 already there, 1 refused`));
  });

  it('serves exactly the source records, the bytes, and one log entry per file', async () => {
    const server = await serve();
    try {
      let files = 0;
      for (const [subdir, expected] of Object.entries(sourceRecords)) {
        const served = records(await (await fetch(`${server.url}/mirror/${subdir}/repodata.json`)).json());
        const want = { ...expected };
        delete want[CORRUPT];
        assert.deepEqual(served, want, subdir);
        for (const filename of Object.keys(want)) {
          const res = await fetch(`${server.url}/mirror/${subdir}/${filename}`);
          assert.equal(res.status, 200, filename);
          assert.deepEqual(Buffer.from(await res.arrayBuffer()), fs.readFileSync(path.join(source, subdir, filename)), filename);
          files++;
        }
      }
      assert.equal((await fetch(`${server.url}/mirror/noarch/${CORRUPT}`)).status, 404, 'nothing of the refused file');
      // the channel's creation and one publish per file; receipts for imported files
      assert.equal(await logSize(server), files + 1);
      const [subdir, some] = Object.entries(sourceRecords)[0]!;
      const receipt = await fetch(`${server.url}/mirror/${subdir}/${Object.keys(some)[0]}.receipt.json`);
      assert.equal(receipt.status, 200);
      // the static layout in DATA/blobs/channels is a channel too
      const onDisk = path.join(dataDir, 'blobs/channels/mirror', subdir, Object.keys(some)[0]!);
      assert.deepEqual(fs.readFileSync(onDisk), fs.readFileSync(path.join(source, subdir, Object.keys(some)[0]!)));
    } finally {
      await server.stop();
    }
  });

  it('a re-run skips what is there, takes the repaired file, and then changes nothing', async () => {
    fs.copyFileSync(path.join(PACKAGES_DIR, CORRUPT), path.join(source, 'noarch', CORRUPT));
    const total = Object.values(sourceRecords).reduce((n, r) => n + Object.keys(r).length, 0);
    const fixed = await provena(['import', source, '--channel', 'mirror', '--data', dataDir]);
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, new RegExp(`imported 1 files .* ${total - 1} already there, 0 refused`));

    const server = await serve();
    const before = await logSize(server);
    const noarchBefore = await (await fetch(`${server.url}/mirror/noarch/repodata.json`)).json();
    await server.stop();
    const again = await provena(['import', source, '--channel', 'mirror', '--data', dataDir]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`imported 0 files .* ${total} already there, 0 refused`));
    const server2 = await serve();
    try {
      assert.equal(await logSize(server2), before);
      const noarch = await (await fetch(`${server2.url}/mirror/noarch/repodata.json`)).json();
      assert.deepEqual(records(noarch), records(noarchBefore));
      assert.deepEqual(records(noarch), sourceRecords.noarch);
    } finally {
      await server2.stop();
    }
  });

  it('imports a single repodata.json with its packages next to it, refusing the missing ones', async () => {
    const dir = tmp('single');
    fs.copyFileSync(path.join(SHARED, 'data/repodata/conda_format_repo_linux-64_repodata.json'), path.join(dir, 'repodata.json'));
    for (const f of ['zlib-1.2.11-h7b6447c_3.conda', 'zlib-1.2.11-h7b6447c_3.tar.bz2']) fs.copyFileSync(path.join(PACKAGES_DIR, f), path.join(dir, f));
    const res = await provena(['import', path.join(dir, 'repodata.json'), '--channel', 'defaults-mirror', '--data', dataDir]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /refused linux-64\/libgcc-ng-8\.2\.0-hdf63c60_1\.tar\.bz2: .*does not exist/);
    assert.match(res.stdout, /imported 2 files/);
    const server = await serve();
    try {
      const served = records(await (await fetch(`${server.url}/defaults-mirror/linux-64/repodata.json`)).json());
      const source = records(JSON.parse(fs.readFileSync(path.join(dir, 'repodata.json'), 'utf8')));
      delete source['libgcc-ng-8.2.0-hdf63c60_1.tar.bz2'];
      assert.deepEqual(served, source);
    } finally {
      await server.stop();
    }
  });

  it('refuses bad input with one line and exit 2', async () => {
    const missing = await provena(['import', path.join(source, 'nope'), '--channel', 'mirror', '--data', dataDir]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /does not exist/);
    const noChannel = await provena(['import', source, '--data', dataDir]);
    assert.equal(noChannel.code, 2);
    assert.match(noChannel.stderr, /--channel NAME/);
    const badName = await provena(['import', source, '--channel', 'Bad Name', '--data', dataDir]);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /not a channel name/);
    const empty = tmp('empty');
    const nothing = await provena(['import', empty, '--channel', 'mirror', '--data', dataDir]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /no SUBDIR\/repodata.json/);
  });

  describe('into a bucket', () => {
    let s3: RunningS3;
    before(async () => {
      s3 = await startS3();
    });
    after(async () => {
      await s3?.stop();
    });

    it('imports into S3 storage, and the bucket serves the channel statically', async () => {
      const data = tmp('s3data');
      const res = await provena(['import', source, '--channel', 'mirror', '--data', data, ...s3.serverArgs('imported')], s3.serverEnv());
      assert.equal(res.code, 0, res.stderr);
      for (const [subdir, expected] of Object.entries(sourceRecords)) {
        const repodata = await (await fetch(`${s3.endpoint}/${s3.bucket}/imported/mirror/${subdir}/repodata.json`)).json();
        assert.deepEqual(records(repodata), expected, subdir);
        const [filename] = Object.keys(expected);
        const pkg = await fetch(`${s3.endpoint}/${s3.bucket}/imported/mirror/${subdir}/${filename}`);
        assert.deepEqual(Buffer.from(await pkg.arrayBuffer()), fs.readFileSync(path.join(source, subdir, filename!)));
      }
      assert.equal(fs.existsSync(path.join(data, 'blobs')), false);
      const server = await startServer({ dataDir: data, args: s3.serverArgs('imported'), env: s3.serverEnv() });
      try {
        const listed = await fetch(`${server.url}/api/v1/channels/mirror/packages`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        const total = Object.values(sourceRecords).reduce((n, r) => n + Object.keys(r).length, 0);
        assert.equal(((await listed.json()) as any).packages.length, total);
      } finally {
        await server.stop();
      }
    });
  });
});
