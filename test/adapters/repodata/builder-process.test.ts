/**
 * The repodata builder process (src/adapters/repodata/builder-process.ts): the files it writes are
 * byte for byte LocalFullFiles's, on SQLite and on PostgreSQL; a child that dies fails the writes it
 * owed and the next write gets a new one; it runs at nice 10, leaves nothing behind on close, dies
 * with its parent, and `provena serve` uses it for large subdirs.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { FsBlobStore } from '../../../src/adapters/blobs/fs/fs-blob-store.ts';
import { loadSettings } from '../../../src/adapters/config/settings.ts';
import { ProcessFullFiles, type BuilderConfig } from '../../../src/adapters/repodata/builder-process.ts';
import type { KyselyStore } from '../../../src/adapters/store/kysely-store.ts';
import { FULL_FILES, LocalFullFiles, type FullFilesRequest, type WrittenFullFiles } from '../../../src/core/channel/full-files.ts';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { makePackage } from '../../support/package-factory.ts';
import { tempPgStore } from '../../support/pg.ts';
import { ADMIN_TOKEN, api, ROOT, startServer } from '../../support/server.ts';
import { tempSqliteStore } from '../../support/sqlite-store.ts';
import { uploadMultipart } from '../../support/upload.ts';
import { readRepodata, withoutLocationFields } from '../../core/repodata/shared-repodata.ts';

const raw = readRepodata('conda-forge-subchannel-py39_noarch_repodata.json');
const records = [...Object.entries(withoutLocationFields(raw.packages)), ...Object.entries(withoutLocationFields(raw['packages.conda']!))];
/** two subdirs of the same real records, so two writes are in flight at once */
const SUBDIRS = ['noarch', 'linux-64'] as const;

async function fill(store: KyselyStore): Promise<void> {
  await store.channels.create({ name: 'ch', private: false, requireAttestations: false, createdAt: '2024-01-01T00:00:00Z' });
  await store.transaction(async (tx) => {
    for (const subdir of SUBDIRS) {
      for (const [filename, record] of records) {
        const r = record as PackageRecord;
        await tx.packages.insert(
          {
            channel: 'ch', subdir, filename, record: r, about: null,
            sha256: String(r.sha256), md5: String(r.md5), size: Number(r.size ?? 0),
            uploadedAt: '2024-01-01T00:00:00Z', uploadedBy: 'admin', attestationsSha256: null,
          },
          { replace: false },
        );
      }
    }
  });
}

/** every file under a blob root, by its path relative to it */
function tree(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(path.relative(root, p), fs.readFileSync(p));
    }
  };
  walk(root);
  return files;
}

function assertSameWritten(got: WrittenFullFiles, want: WrittenFullFiles, what: string): void {
  assert.deepEqual(got.facts, want.facts, `${what}: facts`);
  for (const name of FULL_FILES) {
    const g = got.bytes[name];
    const w = want.bytes[name];
    assert.equal(g === null, w === null, `${what}: ${name} in memory on one side only`);
    if (g !== null && w !== null) {
      assert.ok(Buffer.isBuffer(g), `${what}: ${name} arrives as a Buffer`);
      assert.ok(g.equals(w), `${what}: ${name} bytes differ`);
    }
  }
}

function assertSameTree(got: Map<string, Buffer>, want: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${what}: the same files`);
  for (const [key, bytes] of want) assert.ok(got.get(key)!.equals(bytes), `${what}: ${key} differs`);
}

/**
 * For each request shape, LocalFullFiles into `localRoot` and the builder process into the blob store
 * its settings name (DATA/blobs), the subdirs' writes in flight together: same facts, bytes, files.
 */
async function compareWithLocal(store: KyselyStore, config: BuilderConfig, localRoot: string): Promise<void> {
  const processRoot = path.join(config.dataDir, 'blobs');
  const local = new LocalFullFiles(store, new FsBlobStore(localRoot), config.spoolDir);
  const builder = new ProcessFullFiles(config);
  try {
    for (const large of [false, true]) {
      for (const hashedCopies of [false, true]) {
        const what = `large=${large} hashedCopies=${hashedCopies}`;
        fs.rmSync(localRoot, { recursive: true, force: true });
        fs.rmSync(processRoot, { recursive: true, force: true });
        const request = (subdir: string): FullFilesRequest => ({ channel: 'ch', subdir, generation: 1, large, hashedCopies });
        const fromProcess = await Promise.all(SUBDIRS.map((s) => builder.write(request(s))));
        for (const [i, subdir] of SUBDIRS.entries()) {
          assertSameWritten(fromProcess[i]!, await local.write(request(subdir)), `${what} ${subdir}`);
        }
        const want = tree(localRoot);
        // hashed copies: each file under its sha256 too
        assert.equal(want.size, SUBDIRS.length * FULL_FILES.length * (hashedCopies ? 2 : 1), `${what}: files written`);
        assertSameTree(tree(processRoot), want, what);
      }
    }
  } finally {
    await builder.close();
  }
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'provena-builder-'));
}

/** the builder's configuration on DATA `dir` as serve makes it (the environment's settings left out) */
function configFor(dir: string, flags: Record<string, string> = {}): BuilderConfig {
  return { settings: loadSettings({ data: dir, ...flags }, {}), dataDir: dir, spoolDir: path.join(dir, 'tmp') };
}

const alive = (pid: number) => {
  try {
    // a zombie (exited, its reaper not yet asked) is gone for our purpose
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Waits for a condition a process reaches by itself; fails after a minute rather than hanging. */
async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never happened: ${what}`);
}

/** field 19 of /proc/PID[/task/TID]/stat: the nice value */
const niceOf = (statFile: string) => Number(fs.readFileSync(statFile, 'utf8').replace(/^.*\) /s, '').split(' ')[19 - 3]);

describe('ProcessFullFiles on SQLite', () => {
  let store: KyselyStore;
  let dir: string;
  before(async () => {
    ({ store, dir } = await tempSqliteStore());
    await fill(store);
  });
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the same files as LocalFullFiles, large and small, with and without hashed copies', async () => {
    await compareWithLocal(store, configFor(dir), path.join(dir, 'local-blobs'));
  });

  it('a child killed while a write is pending fails that write naming the signal; the next write gets a new child', async () => {
    const builder = new ProcessFullFiles(configFor(dir));
    try {
      assert.equal(builder.pid, undefined, 'no child before the first write');
      const request: FullFilesRequest = { channel: 'ch', subdir: 'noarch', generation: 1, large: true, hashedCopies: false };
      const pending = builder.write(request);
      const first = builder.pid!;
      process.kill(first, 'SIGKILL');
      await assert.rejects(pending, (err: Error) => {
        assert.match(err.message, /SIGKILL/);
        assert.match(err.message, /ch\/noarch/);
        return true;
      });
      const written = await builder.write(request);
      assert.ok(builder.pid !== undefined && builder.pid !== first, 'a new child');
      assert.equal(written.facts['repodata.json'].size, fs.statSync(path.join(dir, 'blobs/channels/ch/noarch/repodata.json')).size);
    } finally {
      await builder.close();
    }
  });

  it('runs at nice 10, every thread of it; close() fails what is pending and leaves no child', async () => {
    const builder = new ProcessFullFiles(configFor(dir));
    let pid: number;
    try {
      await builder.write({ channel: 'ch', subdir: 'noarch', generation: 1, large: true, hashedCopies: false });
      pid = builder.pid!;
      assert.equal(niceOf(`/proc/${pid}/stat`), 10);
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) assert.equal(niceOf(`/proc/${pid}/task/${tid}/stat`), 10, `thread ${tid}`);
      // a write the child has not answered when the server stops fails as such
      const unanswered = builder.write({ channel: 'ch', subdir: 'linux-64', generation: 1, large: true, hashedCopies: false });
      await builder.close();
      await assert.rejects(unanswered, /ch\/linux-64 not written: the builder was closed/);
    } finally {
      await builder.close();
    }
    assert.equal(alive(pid), false, 'the child is gone after close()');
    assert.equal(builder.pid, undefined);
    await assert.rejects(builder.write({ channel: 'ch', subdir: 'noarch', generation: 1, large: true, hashedCopies: false }), /closed/);
  });

  it('the child exits when its parent dies', async () => {
    // a parent of its own (the test runner must survive): it prints the child's pid, then is killed
    const code = `
      const { ProcessFullFiles } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/adapters/repodata/builder-process.ts')).href)});
      const builder = new ProcessFullFiles(${JSON.stringify(configFor(dir))});
      await builder.write({ channel: 'ch', subdir: 'noarch', generation: 1, large: true, hashedCopies: false });
      process.stdout.write('child ' + builder.pid + '\\n');
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    parent.stdout!.on('data', (d) => (out += d));
    try {
      await until(() => /child \d+/.test(out) || parent.exitCode !== null, 'the parent reports its child');
      const child = Number(/child (\d+)/.exec(out)?.[1]);
      assert.ok(child > 0, `no child pid in ${JSON.stringify(out)}`);
      assert.ok(alive(child));
      parent.kill('SIGKILL');
      await until(() => !alive(child), `builder child ${child} exits after its parent was killed`);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});

describe('ProcessFullFiles on PostgreSQL', () => {
  let pg: Awaited<ReturnType<typeof tempPgStore>>;
  let dir: string;
  before(async () => {
    pg = await tempPgStore();
    await fill(pg.store);
    dir = tempDir();
  });
  after(async () => {
    await pg.store.close();
    await pg.pg.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the same files as LocalFullFiles', async () => {
    const config = configFor(dir, { database: pg.pg.url.split('?')[0]!, database_schema: pg.pg.schema, database_pool_size: '2' });
    await compareWithLocal(pg.store, config, path.join(dir, 'local-blobs'));
  });
});

describe('provena serve with the builder process', () => {
  it('rebuilds a debounced subdir in its builder child, which ends with the server', async () => {
    // repodata_sync_records 0: every subdir's full files go the debounced path, to the builder
    const server = await startServer({ env: { PROVENA_REPODATA_SYNC_RECORDS: '0', PROVENA_REPODATA_DEBOUNCE_MS: '0' } });
    let builderPid = 0;
    try {
      assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'big' })).status, 201);
      const pkg = { name: 'greet-data', version: '6', build: 'pyh_0', subdir: 'noarch', depends: [] as string[], noarch: 'generic' };
      const bytes = await makePackage({ ...pkg, format: '.conda' });
      const res = await uploadMultipart(server, 'big', 'greet-data-6-pyh_0.conda', bytes, { token: ADMIN_TOKEN });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      await until(async () => {
        const doc = (await (await fetch(`${server.url}/big/noarch/repodata.json`)).json()) as { 'packages.conda': Record<string, unknown> };
        return 'greet-data-6-pyh_0.conda' in doc['packages.conda'];
      }, 'repodata.json lists the upload');
      const children = fs
        .readdirSync(`/proc/${server.process.pid}/task`)
        .flatMap((tid) => fs.readFileSync(`/proc/${server.process.pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean))
        .map(Number);
      const builders = children.filter((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('builder-child'));
      assert.equal(builders.length, 1, `one builder child among ${children.join(', ')}`);
      builderPid = builders[0]!;
      assert.equal(niceOf(`/proc/${builderPid}/stat`), 10);
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0, server.output());
    }
    assert.equal(alive(builderPid), false, 'the builder is gone with the server');
  });
});
