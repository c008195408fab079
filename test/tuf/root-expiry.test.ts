// A channel's root expires. While the server holds the root keys it renews the root itself (the next
// version, signed by the current root keys, so clients holding the old root follow); once the owner
// has taken the root keys offline it cannot, and says so ahead of time: a log line, a metric and the
// channel's admin API. Short expiries so the renewal happens during the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { startServer, ADMIN_TOKEN, type RunningServer } from '../support/server.ts';
import { provena } from '../support/cli.ts';
import { SignedRepodata } from '../../src/adapters/tuf/tuf-client.ts';

const ROOT_SECONDS = 20;
let server: RunningServer;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tuf-root-'));
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

before(async () => {
  server = await startServer({ env: { PROVENA_TUF_ROOT_SECONDS: String(ROOT_SECONDS), PROVENA_TUF_TIMESTAMP_SECONDS: '4' } });
  for (const name of ['held', 'offline']) {
    const r = await fetch(`${server.url}/api/v1/channels`, { method: 'POST', headers: admin, body: JSON.stringify({ name }) });
    assert.equal(r.status, 201);
  }
});

after(async () => {
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function root(channel: string, file: string): Promise<Metadata<Root>> {
  const r = await fetch(`${server.url}/${channel}/tuf/${file}`);
  assert.equal(r.status, 200, `${channel}/tuf/${file}`);
  return Metadata.fromJSON(MetadataKind.Root, (await r.json()) as never);
}

async function status(channel: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${server.url}/api/v1/channels/${channel}/tuf`, { headers: admin });
  assert.equal(r.status, 200);
  return (await r.json()) as Record<string, unknown>;
}

/** Polls until `check` answers something (the schedule works in the background), at most 90 s. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 180; i++) {
    const v = await check();
    if (v !== undefined) return v;
    await sleep(500);
  }
  assert.fail(`${what} did not happen in 90 s:\n${server.output().slice(-2000)}`);
}

const noarch = async (trustStore: string, rootFile?: string) => {
  const bytes = await new SignedRepodata({ trustStore, root: rootFile }).file(`${server.url}/held`, 'noarch', 'repodata.json');
  assert.ok(bytes, 'the signed targets name noarch/repodata.json');
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as { info?: { subdir?: string } };
};

test('an offline root is not renewed; its nearing expiry is a warning in the log, a metric and the admin API', async () => {
  const key = path.join(tmp, 'offline-root.pem');
  assert.equal((await provena(['tuf', 'keygen', key])).code, 0);
  const env = { PROVENA_SERVER: server.url, PROVENA_TOKEN: ADMIN_TOKEN };
  // a root valid for 2 days: well within the 30-day warning. The server renews its own short root
  // meanwhile; a renewal between the CLI's read and its write is refused, so try again then
  let init: { code: number | null; stdout: string; stderr: string } = { code: -1, stdout: '', stderr: '' };
  for (let i = 0; i < 5 && init.code !== 0; i++) {
    init = await provena(['tuf', 'init', 'offline', '--root-key', key, '--expires', '2'], env);
    if (init.code !== 0) assert.match(init.stderr, /tuf_root_changed|tuf_root_version/, init.stdout + init.stderr);
  }
  assert.equal(init.code, 0, init.stdout + init.stderr);

  const s = await status('offline');
  assert.equal(s.root_keys, 'offline');
  const version = s.root_version as number;
  assert.ok((s.root_expires_in_seconds as number) > 86400 && (s.root_expires_in_seconds as number) <= 2 * 86400);
  assert.match(String(s.warning), /offline\) expires at .* in 2 day\(s\): its owner must sign a new root before then \(provena tuf sign-root\)/);

  // the schedule sees it: a warning line, and the metric labelled offline
  await eventually('the offline-root warning', async () => (server.output().includes(`root of offline (version ${version}, keys offline) expires at`) ? true : undefined));
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /provena_tuf_root_expiry_seconds\{channel="offline",keys="offline"\} \d+/);
  assert.doesNotMatch(metrics, /provena_tuf_root_expiry_seconds\{channel="offline",keys="server"\}/);
  // and it does not renew it: the server cannot sign for keys it does not hold
  assert.equal((await fetch(`${server.url}/offline/tuf/${version + 1}.root.json`)).status, 404);
  assert.equal((await status('offline')).root_version, version);
  // the channel with server-held keys carries no warning
  assert.equal((await status('held')).warning, undefined);
});

test('a server-held root is renewed before it expires, signed by the current root keys; clients follow past the old expiry', async () => {
  const trust = path.join(tmp, 'held');
  assert.equal((await noarch(trust)).info?.subdir, 'noarch', 'the client pins root v1 and reads the channel');
  const v1 = await root('held', '1.root.json');
  const v1File = path.join(tmp, '1.root.json');
  fs.writeFileSync(v1File, JSON.stringify(v1.toJSON()));
  assert.equal((await status('held')).root_keys, 'server');

  // renewed at half its validity, by the refresh schedule alone (nothing uploaded)
  const v2 = await eventually('root renewal', async () => ((await fetch(`${server.url}/held/tuf/2.root.json`)).status === 200 ? root('held', '2.root.json') : undefined));
  assert.doesNotThrow(() => v1.verifyDelegate('root', v2), 'the renewed root carries a threshold of the old root keys');
  assert.doesNotThrow(() => v2.verifyDelegate('root', v2), 'and of its own');
  assert.deepEqual(v2.signed.roles.root!.keyIDs, v1.signed.roles.root!.keyIDs, 'the same keys, a later expiry');
  assert.ok(Date.parse(v2.signed.expires) > Date.parse(v1.signed.expires));
  assert.ok(((await status('held')).root_version as number) >= 2);

  // once root v1 has expired, clients that trust only v1 still reach the channel through the chain
  await eventually('root v1 expiry', async () => (Date.now() > Date.parse(v1.signed.expires) + 1000 ? true : undefined));
  assert.equal((await noarch(trust)).info?.subdir, 'noarch', 'a client with root v1 pinned follows the renewal');
  assert.equal((await noarch(path.join(tmp, 'given-v1'), v1File)).info?.subdir, 'noarch', 'a client given root v1 (now expired) follows too');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /provena_tuf_root_expiry_seconds\{channel="held",keys="server"\} \d+/);
});

test('the root status is for the channel admin only', async () => {
  const anonymous = await fetch(`${server.url}/api/v1/channels/held/tuf`);
  assert.equal(anonymous.status, 401);
  const missing = await fetch(`${server.url}/api/v1/channels/nope/tuf`, { headers: admin });
  assert.equal(missing.status, 404);
});
