// Two `provena serve` replicas on one PostgreSQL schema and one storage (an S3 bucket on s3rver, or a
// shared blob directory): 200 uploads spread over both, one replica SIGKILLed mid-way and restarted.
// Every acknowledged upload is present, no filename is published twice, the log has no gaps and
// verifies (`provena log monitor` against both replicas, one state file), both serve the same
// repodata, which matches the database, and the storage's static channel holds the same files.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestContext } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { formatSignerKey, generateSignerKey } from '../../src/core/tlog/note-keys.ts';
import { makePackage, packageFilename, type PackageSpec } from '../support/package-factory.ts';
import { PG_URL, adminQuery, tempPgSchema } from '../support/pg.ts';
import { startS3 } from '../support/s3.ts';
import { provena } from '../support/cli.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { sha256Hex, uploadRaw } from '../support/upload.ts';

const UPLOADS = 200;
const IN_FLIGHT = 50; // uploads in flight at once, over both replicas
const KILL_AFTER = 60; // acknowledged uploads before replica B is killed
const RESTART_AFTER = 100; // ... and before it is started again

interface Outcome {
  filename: string;
  sha256: string;
  /** 201 from some replica: the upload was acknowledged */
  acknowledged: boolean;
}

/** Where both replicas keep their bytes, and how to read a file of the static channel in it. */
interface SharedStorage {
  args: string[];
  env: Record<string, string>;
  /** a file of the static channel (`NAME/SUBDIR/FILE`), null when absent */
  readStatic(rel: string): Promise<Buffer | null>;
  close(): Promise<void>;
}

const PREFIX = 'replicas/v1';

async function bucketStorage(): Promise<SharedStorage> {
  const s3 = await startS3();
  const client = s3.client();
  return {
    args: s3.serverArgs(PREFIX),
    env: s3.serverEnv(),
    async readStatic(rel) {
      try {
        const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${rel}` }));
        return Buffer.from(await got.Body!.transformToByteArray());
      } catch (e) {
        if ((e as { name?: string }).name === 'NoSuchKey') return null;
        throw e;
      }
    },
    close: () => s3.stop(),
  };
}

function directoryStorage(): SharedStorage {
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-replicas-blobs-'));
  return {
    args: ['--blobs-dir', shared],
    env: {},
    readStatic: async (rel) => {
      const file = path.join(shared, 'channels', rel);
      return fs.existsSync(file) ? fs.readFileSync(file) : null;
    },
    close: async () => fs.rmSync(shared, { recursive: true, force: true }),
  };
}

test('two replicas on one PostgreSQL and one S3 bucket: 200 uploads, one replica killed and restarted', { timeout: 900_000 }, async (t) => {
  await replicaBurst(t, await bucketStorage());
});

test('two replicas on one PostgreSQL and one shared blob directory: 200 uploads, one replica killed and restarted', { timeout: 900_000 }, async (t) => {
  await replicaBurst(t, directoryStorage());
});

async function replicaBurst(t: TestContext, storage: SharedStorage): Promise<void> {
  const pg = await tempPgSchema();
  // the same log key (and so origin) for both: one log, signed by whichever replica signs next
  const logKey = formatSignerKey(generateSignerKey('replicas.test/log'));
  const args = ['--database', PG_URL, '--database-schema', pg.schema, '--database-pool-size', '5', ...storage.args, '--log-key', logKey, '--log-batch-ms', '50'];
  const replicas: RunningServer[] = [];
  // channels' TUF signing keys are files: replicas share the directory
  const tufKeys = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-replicas-tuf-'));
  try {
    const env = { ...storage.env, PROVENA_TUF_KEY_DIR: tufKeys };
    replicas.push(await startServer({ args, env }));
    replicas.push(await startServer({ args, env }));
    let [a, b] = replicas as [RunningServer, RunningServer];
    assert.equal((await api(a, 'POST', '/api/v1/channels', { name: 'main' })).status, 201);
    const key = (await api(b, 'POST', '/api/v1/keys', { channel: 'main', scope: 'upload' })).json.secret as string;

    const specs: PackageSpec[] = Array.from({ length: UPLOADS }, (_, i) => ({
      name: `pkg${i % 25}`,
      version: `1.${Math.floor(i / 25)}`,
      build: '0',
      subdir: 'noarch',
      noarch: 'generic',
      format: i % 5 === 0 ? '.tar.bz2' : '.conda',
      files: { [`share/pkg${i}.txt`]: `file ${i}` },
    }));

    let bUp = true;
    let retried = 0;
    let acknowledged = 0;
    let killing: Promise<unknown> | null = null;
    let restarting: Promise<void> | null = null;
    const outcomes: Outcome[] = [];

    const uploadOne = async (i: number): Promise<Outcome> => {
      const spec = specs[i]!;
      const filename = packageFilename(spec);
      const bytes = await makePackage(spec);
      const sha256 = sha256Hex(bytes);
      let target = i % 2 === 0 || !bUp ? a : b;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const res = await uploadRaw(target, 'main', filename, bytes, { token: key });
          if (res.status === 201) return { filename, sha256, acknowledged: true };
          // a retry after a lost response finds the first attempt committed: present, never acknowledged
          if (res.status === 409 && attempt > 0) return { filename, sha256, acknowledged: false };
          throw new Error(`upload ${filename} to ${target.url}: ${res.status} ${JSON.stringify(res.json)}`);
        } catch (e) {
          if (!(e instanceof TypeError)) throw e; // fetch failed: the replica died under the request
          retried++;
          target = a;
        }
      }
      throw new Error(`upload ${filename} failed five times`);
    };

    let next = 0;
    const worker = async () => {
      while (next < UPLOADS) {
        const o = await uploadOne(next++);
        outcomes.push(o);
        if (o.acknowledged) acknowledged++;
        if (acknowledged >= KILL_AFTER && killing === null) {
          bUp = false;
          killing = b.stop('SIGKILL');
        }
        if (acknowledged >= RESTART_AFTER && restarting === null && killing !== null) {
          restarting = (async () => {
            await killing;
            b = await startServer({ dataDir: b.dataDir, args, env });
            replicas[1] = b;
            bUp = true;
          })();
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    assert.ok(killing !== null && restarting !== null, 'the kill and the restart happened during the burst');
    await restarting;
    t.diagnostic(`${outcomes.filter((o) => o.acknowledged).length} acknowledged, ${outcomes.filter((o) => !o.acknowledged).length} committed by the killed replica without an answer; ${retried} requests lost to the kill and retried`);

    // every acknowledged upload is in the database, with the bytes that were acknowledged
    const q = (text: string) => adminQuery(text.replaceAll('S.', `${pg.schema}.`));
    const rows = (await q(`SELECT filename, sha256 FROM S.packages WHERE channel = 'main'`)).rows as { filename: string; sha256: string }[];
    const stored = new Map(rows.map((r) => [r.filename, r.sha256]));
    for (const o of outcomes) assert.equal(stored.get(o.filename), o.sha256, `${o.filename} (acknowledged: ${o.acknowledged}) is stored`);
    assert.equal(outcomes.filter((o) => o.acknowledged).length + outcomes.filter((o) => !o.acknowledged).length, UPLOADS);
    assert.equal(stored.size, UPLOADS, 'nothing else was stored');

    // the log: indexes 0..N-1, one publish per filename, every file published
    const entries = (await q(`SELECT idx, filename, action FROM S.log_entries ORDER BY idx`)).rows as { idx: number; filename: string | null; action: string }[];
    assert.deepEqual(entries.map((e) => Number(e.idx)), Array.from({ length: entries.length }, (_, i) => i), 'no gap, no duplicate index');
    const published = entries.filter((e) => e.action === 'publish').map((e) => e.filename!);
    assert.equal(new Set(published).size, published.length, 'no filename published twice');
    assert.deepEqual([...published].sort(), [...stored.keys()].sort());
    const head = Number((await q(`SELECT size FROM S.log_head`)).rows[0].size);
    assert.equal(head, entries.length);

    // both replicas sign the whole log; a monitor following both (one state file) finds one consistent history
    for (const r of [a, b]) await waitFor(async () => (await (await fetch(`${r.url}/log/checkpoint`)).text()).split('\n')[1] === String(head), `${r.url} signs size ${head}`);
    const state = path.join(a.dataDir, 'monitor-state.json');
    for (const r of [a, b, a]) {
      const m = await provena(['log', 'monitor', r.url, '--state', state]);
      assert.equal(m.code, 0, `log monitor ${r.url}: ${m.stdout}${m.stderr}`);
    }

    // repodata: both replicas serve the same bytes, and they hold exactly the database's records
    const repodataOf = async (r: RunningServer) => Buffer.from(await (await fetch(`${r.url}/main/noarch/repodata.json`)).arrayBuffer());
    await waitFor(async () => {
      const [ra, rb] = [await repodataOf(a), await repodataOf(b)];
      if (!ra.equals(rb)) return false;
      const rd = JSON.parse(ra.toString('utf8')) as { packages: Record<string, { sha256: string }>; 'packages.conda': Record<string, { sha256: string }> };
      const served = new Map(Object.entries({ ...rd.packages, ...rd['packages.conda'] }).map(([f, r]) => [f, r.sha256]));
      return served.size === stored.size && [...stored].every(([f, sha]) => served.get(f) === sha);
    }, 'both replicas serve repodata.json equal to the database').catch(async (e) => {
      const [ra, rb] = [await repodataOf(a), await repodataOf(b)];
      const count = (buf: Buffer) => {
        const rd = JSON.parse(buf.toString('utf8'));
        return Object.keys(rd.packages).length + Object.keys(rd['packages.conda']).length;
      };
      throw new Error(`${(e as Error).message}: replica A serves ${count(ra)} records, B ${count(rb)}, the database holds ${stored.size}; identical bytes: ${ra.equals(rb)}`);
    });
    for (const file of ['current_repodata.json', 'repodata_shards.msgpack.zst']) {
      const [ra, rb] = await Promise.all([a, b].map(async (r) => fetch(`${r.url}/main/noarch/${file}`)));
      assert.equal(ra!.status, rb!.status, file);
      if (ra!.status === 200) assert.ok(Buffer.from(await ra!.arrayBuffer()).equals(Buffer.from(await rb!.arrayBuffer())), `${file} is the same on both replicas`);
    }
    // and through each replica's package API
    for (const r of [a, b]) {
      const some = outcomes[UPLOADS - 1]!;
      const res = await api(r, 'GET', `/api/v1/channels/main/packages/noarch/${some.filename}`, undefined, ADMIN_TOKEN);
      assert.equal(res.status, 200);
      assert.equal(res.json.sha256, some.sha256);
    }

    // the storage's static channel: the same repodata files as served, and every stored package
    // under its filename with the bytes the database records
    for (const file of ['repodata.json', 'current_repodata.json', 'repodata_shards.msgpack.zst']) {
      const served = await fetch(`${a.url}/main/noarch/${file}`);
      const copy = await storage.readStatic(`main/noarch/${file}`);
      if (served.status !== 200) {
        assert.equal(copy, null, `${file} is not served, so not in the static channel either`);
        continue;
      }
      assert.ok(copy !== null, `the static channel has main/noarch/${file}`);
      assert.ok(copy.equals(Buffer.from(await served.arrayBuffer())), `the static main/noarch/${file} is the one the replicas serve`);
    }
    for (const [filename, sha] of stored) {
      const copy = await storage.readStatic(`main/noarch/${filename}`);
      assert.ok(copy !== null, `the static channel has main/noarch/${filename}`);
      assert.equal(sha256Hex(copy), sha, `the static main/noarch/${filename} has the stored bytes`);
    }
  } finally {
    for (const r of replicas) await r.stop();
    await pg.drop();
    await storage.close();
    fs.rmSync(tufKeys, { recursive: true, force: true });
  }
}

/** Polls until `check` holds (generous: two replicas on a shared, busy machine). */
async function waitFor(check: () => Promise<boolean>, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
