// Signed repodata on the production shape: PostgreSQL + S3 and two replicas sharing the database,
// the bucket and tuf_key_dir. Uploads go through both; the TUF client (the code `provena verify
// --channel` runs) verifies the final repodata through either server and straight from the bucket
// as a CDN would serve it (s3rver's own HTTP endpoint); no version of snapshot or targets exists with
// two different contents; and `provena mirror-check` finds the bucket current.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, ADMIN_TOKEN, type RunningServer } from '../support/server.ts';
import { startS3, type RunningS3 } from '../support/s3.ts';
import { tempPgSchema, type PgSchema } from '../support/pg.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { uploadRaw } from '../support/upload.ts';
import { provena } from '../support/cli.ts';
import { SignedRepodata } from '../../src/adapters/tuf/tuf-client.ts';
import { formatSignerKey, generateSignerKey } from '../../src/core/tlog/note-keys.ts';

const PREFIX = 'static';
let s3: RunningS3;
let pg: PgSchema;
let replicas: RunningServer[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tuf-replicas-'));
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const uploaded: string[] = [];
/** the bucket read as an anonymous static web server, path-style */
const bucketChannel = () => `${s3.endpoint}/${s3.bucket}/${PREFIX}/demo`;

before(async () => {
  s3 = await startS3();
  pg = await tempPgSchema();
  const keys = path.join(tmp, 'shared-tuf-keys');
  // one log key for both (one log), as replicas are run
  const logKey = formatSignerKey(generateSignerKey('tuf-replicas.test/log'));
  const start = () =>
    startServer({ args: ['--database', pg.url, ...s3.serverArgs(PREFIX), '--tuf-key-dir', keys, '--log-key', logKey], env: s3.serverEnv() });
  replicas = [await start()];
  replicas.push(await start());
  const r = await fetch(`${replicas[0]!.url}/api/v1/channels`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'demo' }) });
  assert.equal(r.status, 201);
  // uploads through both replicas at once: their signers race on the one channel
  await Promise.all(
    [0, 1, 2, 3, 4, 5].map(async (i) => {
      const spec = { name: `pkg${i}`, version: '1.0', build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
      const filename = packageFilename(spec);
      const res = await uploadRaw(replicas[i % 2]!, 'demo', filename, await makePackage(spec), { token: ADMIN_TOKEN });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      uploaded.push(filename);
    }),
  );
});

after(async () => {
  for (const r of replicas) await r.stop();
  await s3?.stop();
  await pg?.drop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function signedFiles(channelUrl: string, trustStore: string): Promise<string[]> {
  const bytes = await new SignedRepodata({ trustStore }).file(channelUrl, 'linux-64', 'repodata.json');
  assert.ok(bytes, `${channelUrl}: the signed targets name linux-64/repodata.json`);
  return Object.keys(JSON.parse(Buffer.from(bytes).toString('utf8'))['packages.conda'] ?? {}).sort();
}

/** The latest repodata may still be being published by the other replica: poll until it lists everything. */
async function eventuallyAll(channelUrl: string, trustStore: string): Promise<string[]> {
  let files: string[] = [];
  for (let i = 0; i < 60; i++) {
    files = await signedFiles(channelUrl, trustStore);
    if (uploaded.every((f) => files.includes(f))) return files;
    await new Promise((r) => setTimeout(r, 1000));
  }
  return files;
}

test('the TUF client verifies the final repodata through either replica and straight from the bucket', async () => {
  for (const [name, url] of [
    ['replica-a', `${replicas[0]!.url}/demo`],
    ['replica-b', `${replicas[1]!.url}/demo`],
    ['bucket', bucketChannel()],
  ] as const) {
    const files = await eventuallyAll(url, path.join(tmp, `trust-${name}`));
    assert.deepEqual(files, [...uploaded].sort(), `${name}: every upload through either replica is in the signed repodata`);
  }
});

test('the bucket holds the metadata the server serves, under NAME/tuf/, with the server’s caching', async () => {
  const a = replicas[0]!.url;
  const timestamp = await (await fetch(`${a}/demo/tuf/timestamp.json`)).json() as { signed: { meta: Record<string, { version: number }> } };
  const snapshotVersion = timestamp.signed.meta['snapshot.json']!.version;
  const snapshot = await (await fetch(`${a}/demo/tuf/${snapshotVersion}.snapshot.json`)).json() as { signed: { meta: Record<string, { version: number }> } };
  const targetsVersion = snapshot.signed.meta['targets.json']!.version;
  for (const file of ['1.root.json', 'root.json', `${snapshotVersion}.snapshot.json`, `${targetsVersion}.targets.json`]) {
    const served = await fetch(`${a}/demo/tuf/${file}`);
    const bucket = await fetch(`${bucketChannel()}/tuf/${file}`);
    assert.equal(bucket.status, 200, `bucket ${file}`);
    assert.equal(await bucket.text(), await served.text(), `${file}: the bucket's bytes are the server's`);
    assert.equal(bucket.headers.get('content-type'), 'application/json');
    assert.equal(bucket.headers.get('cache-control'), /^\d+\./.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache', file);
  }
  const bucketTimestamp = await fetch(`${bucketChannel()}/tuf/timestamp.json`);
  assert.equal(bucketTimestamp.status, 200);
  assert.equal(bucketTimestamp.headers.get('cache-control'), 'no-cache');
});

test('no snapshot or targets version was signed twice with different content (one signer at a time)', async () => {
  const [a, b] = replicas.map((r) => r.url);
  const latest = async (role: 'snapshot' | 'targets') => {
    const ts = (await (await fetch(`${a}/demo/tuf/timestamp.json`)).json()) as { signed: { meta: Record<string, { version: number }> } };
    const snap = ts.signed.meta['snapshot.json']!.version;
    if (role === 'snapshot') return snap;
    const s = (await (await fetch(`${a}/demo/tuf/${snap}.snapshot.json`)).json()) as { signed: { meta: Record<string, { version: number }> } };
    return s.signed.meta['targets.json']!.version;
  };
  for (const role of ['snapshot', 'targets'] as const) {
    const top = await latest(role);
    // uploads arriving together may share one repodata version: at least the noarch and one linux-64 version
    assert.ok(top >= 2, `${role}: versions were signed (got ${top})`);
    for (let v = 1; v <= top; v++) {
      const bodies = await Promise.all([`${a}/demo`, `${b}/demo`, bucketChannel()].map(async (base) => (await fetch(`${base}/tuf/${v}.${role}.json`)).text()));
      assert.equal(new Set(bodies).size, 1, `${v}.${role}.json is one document wherever it is read`);
      assert.equal(JSON.parse(bodies[0]!).signed.version, v);
    }
  }
});

test('mirror-check finds the bucket current against the origin’s signed metadata', async () => {
  const r = await provena(['mirror-check', bucketChannel(), '--origin', `${replicas[1]!.url}/demo`, '--subdir', 'linux-64', '--trust-store', path.join(tmp, 'mirror')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /current linux-64\/repodata\.json/);
});
