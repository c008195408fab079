// Signed repodata (TUF) end to end: the real server, the real tuf-js client (through Provena's
// SignedRepodata and the CLI), and a dishonest proxy between them that replays, freezes, swaps and
// forges. Each attack must be refused, and for its own reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { Metadata, MetadataKind } from '@tufjs/models';
import { startServer, ADMIN_TOKEN, type RunningServer } from '../support/server.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { uploadRaw } from '../support/upload.ts';
import { provena } from '../support/cli.ts';
import { startLogProxy, type LogProxy } from '../tlog-server/log-proxy.ts';
import { SignedRepodata } from '../../src/adapters/tuf/tuf-client.ts';
import { isProvenaError } from '../../src/core/errors.ts';
import { signerOf } from '../../src/core/tuf/signer.ts';

const TIMESTAMP_SECONDS = 8;
let server: RunningServer;
let proxy: LogProxy;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tuf-test-'));
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

before(async () => {
  server = await startServer({ env: { PROVENA_TUF_TIMESTAMP_SECONDS: String(TIMESTAMP_SECONDS) } });
  proxy = await startLogProxy(server.url);
  const r = await fetch(`${server.url}/api/v1/channels`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'demo' }) });
  assert.equal(r.status, 201);
  await upload('alpha', '1.0');
});

after(async () => {
  await proxy?.close();
  await server?.stop();
});

async function upload(name: string, version: string): Promise<string> {
  const spec = { name, version, build: 'h0_0', subdir: 'linux-64', format: '.conda' as const };
  const filename = packageFilename(spec);
  const r = await uploadRaw(server, 'demo', filename, await makePackage(spec), { token: ADMIN_TOKEN });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return filename;
}

const store = (name: string) => path.join(tmp, name);
const channelVia = (base: string) => `${base}/demo`;

/** linux-64 repodata as the TUF client returns it (its package file names), or the refusal's code. */
async function readSigned(trustStore: string, base = proxy.url): Promise<{ files: string[] } | { refused: string; detail: string }> {
  try {
    const bytes = await new SignedRepodata({ trustStore }).file(channelVia(base), 'linux-64', 'repodata.json');
    assert.ok(bytes, 'the signed targets name linux-64/repodata.json');
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
    return { files: Object.keys(doc['packages.conda'] ?? {}).sort() };
  } catch (e) {
    if (isProvenaError(e)) return { refused: e.code, detail: e.detail };
    throw e;
  }
}

const text = async (url: string) => {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return r.text();
};

test('every channel is a TUF repository whose targets are the subdir repodata files, hash-named copies served', async () => {
  const targets = JSON.parse(await text(`${server.url}/demo/tuf/targets.json`));
  for (const f of ['repodata.json', 'repodata.json.zst', 'current_repodata.json', 'repodata_shards.msgpack.zst']) {
    const t = targets.signed.targets[`linux-64/${f}`];
    assert.ok(t, `linux-64/${f} is a target`);
    const live = Buffer.from(await (await fetch(`${server.url}/demo/linux-64/${f}`)).arrayBuffer());
    const pinned = Buffer.from(await (await fetch(`${server.url}/demo/linux-64/${t.hashes.sha256}.${f}`)).arrayBuffer());
    assert.equal(pinned.length, t.length);
    assert.ok(pinned.equals(live), `${f}: the hash-named copy is the file served`);
  }
  const root = JSON.parse(await text(`${server.url}/demo/tuf/1.root.json`));
  assert.equal(root.signed.consistent_snapshot, true);
  assert.equal((await fetch(`${server.url}/demo/tuf/7.timestamp.json`)).status, 404);

  // the repodata.json of the version the targets name is a transparency-log entry
  const sha = targets.signed.targets['linux-64/repodata.json'].hashes.sha256;
  let found = false;
  for (let i = 0; !found; i++) {
    let r = await fetch(`${server.url}/api/v1/log/entries/${i}`);
    for (let wait = 0; r.status !== 200 && wait < 50; wait++) {
      await new Promise((res) => setTimeout(res, 200)); // the entry may not be in a signed checkpoint yet
      r = await fetch(`${server.url}/api/v1/log/entries/${i}`);
    }
    assert.equal(r.status, 200, `no repodata_publish entry for ${sha} among the first ${i} entries`);
    const e = ((await r.json()) as { entry_json: Record<string, unknown> }).entry_json;
    found = e.action === 'repodata_publish' && e.subdir === 'linux-64' && e.sha256 === sha && e.filename === null;
  }
});

test('a client follows new versions; an older timestamp replayed later is refused as a rollback', async () => {
  const t = store('rollback');
  const first = await readSigned(t);
  assert.deepEqual(first, { files: [packageFilename({ name: 'alpha', version: '1.0', build: 'h0_0', format: '.conda' })] });
  const oldTimestamp = await text(`${server.url}/demo/tuf/timestamp.json`);

  const beta = await upload('beta', '1.0');
  const second = await readSigned(t);
  assert.ok('files' in second && second.files.includes(beta), `the client sees the new upload: ${JSON.stringify(second)}`);

  // the attacker replays the old timestamp (which names the old snapshot, targets and repodata)
  proxy.override = async (p) => (p === '/demo/tuf/timestamp.json' ? oldTimestamp : undefined);
  try {
    const replayed = await readSigned(t);
    assert.ok('refused' in replayed && replayed.refused === 'tuf_rollback', JSON.stringify(replayed));
    // and the CLI says so in one line
    const cli = await provena(['verify', '--channel', channelVia(proxy.url), 'beta', '--repo', 'acme/widgets', '--subdir', 'linux-64', '--trust-store', t]);
    assert.equal(cli.code, 1, cli.stdout + cli.stderr);
    assert.match(cli.stderr, /tuf_rollback: .*rollback/);
  } finally {
    proxy.override = null;
  }
});

test('a frozen timestamp is refused once it expires; the server keeps re-signing it meanwhile', async () => {
  const t = store('freeze');
  assert.ok('files' in (await readSigned(t)));
  const frozen = await text(`${server.url}/demo/tuf/timestamp.json`);
  const expires = Date.parse(JSON.parse(frozen).signed.expires);
  proxy.override = async (p) => (p === '/demo/tuf/timestamp.json' ? frozen : undefined);
  try {
    while (Date.now() <= expires + 1000) await new Promise((r) => setTimeout(r, 500));
    const stale = await readSigned(t);
    assert.ok('refused' in stale && stale.refused === 'tuf_freeze', JSON.stringify(stale));
  } finally {
    proxy.override = null;
  }
  // with nothing uploaded, the origin's own timestamp was re-signed and is current
  const fresh = JSON.parse(await text(`${server.url}/demo/tuf/timestamp.json`));
  assert.ok(fresh.signed.version > JSON.parse(frozen).signed.version);
  assert.ok('files' in (await readSigned(t)), 'the origin itself is not frozen');
});

test('modified repodata is refused as tampered', async () => {
  proxy.override = async (p, upstream) => {
    if (!/^\/demo\/linux-64\/[0-9a-f]{64}\.repodata\.json$/.test(p)) return undefined;
    const doc = JSON.parse(Buffer.from(await upstream()).toString('utf8'));
    doc['packages.conda'] = {};
    return JSON.stringify(doc);
  };
  try {
    const r = await readSigned(store('tamper'));
    assert.ok('refused' in r && r.refused === 'tuf_tampered', JSON.stringify(r));
  } finally {
    proxy.override = null;
  }
});

test('targets from an older time served under the current version (mix-and-match) is refused', async () => {
  const timestamp = JSON.parse(await text(`${server.url}/demo/tuf/timestamp.json`));
  const snapshot = JSON.parse(await text(`${server.url}/demo/tuf/${timestamp.signed.meta['snapshot.json'].version}.snapshot.json`));
  const current = snapshot.signed.meta['targets.json'].version as number;
  const older = await text(`${server.url}/demo/tuf/${current - 1}.targets.json`);
  proxy.override = async (p) => (p === `/demo/tuf/${current}.targets.json` ? older : undefined);
  try {
    const r = await readSigned(store('mix'));
    assert.ok('refused' in r && r.refused === 'tuf_mix_and_match', JSON.stringify(r));
  } finally {
    proxy.override = null;
  }
});

test('an attacker holding only the timestamp key cannot change repodata', async () => {
  const timestampKey = signerOf(createPrivateKey(fs.readFileSync(path.join(server.dataDir, 'tuf-keys', 'timestamp.pem'))));
  const ts = Metadata.fromJSON(MetadataKind.Timestamp, JSON.parse(await text(`${server.url}/demo/tuf/timestamp.json`)));
  const snapVersion = ts.signed.snapshotMeta.version;
  const targetsVersion = JSON.parse(await text(`${server.url}/demo/tuf/${snapVersion}.snapshot.json`)).signed.meta['targets.json'].version as number;
  // forged targets naming empty repodata, a snapshot naming them, both signed with the timestamp key
  const forgedRepodata = '{"info":{"subdir":"linux-64"},"packages":{},"packages.conda":{}}';
  const { createHash } = await import('node:crypto');
  const sha = createHash('sha256').update(forgedRepodata).digest('hex');
  const targets = Metadata.fromJSON(MetadataKind.Targets, JSON.parse(await text(`${server.url}/demo/tuf/${targetsVersion}.targets.json`)));
  const targetsJson = targets.toJSON() as any;
  targetsJson.signed.version = targetsVersion + 1;
  targetsJson.signed.targets['linux-64/repodata.json'] = { length: forgedRepodata.length, hashes: { sha256: sha } };
  const forgedTargets = Metadata.fromJSON(MetadataKind.Targets, { signed: targetsJson.signed, signatures: [] } as any);
  forgedTargets.sign((d) => timestampKey.sign(d));
  const snapshot = Metadata.fromJSON(MetadataKind.Snapshot, JSON.parse(await text(`${server.url}/demo/tuf/${snapVersion}.snapshot.json`)));
  const snapJson = snapshot.toJSON() as any;
  snapJson.signed.version = snapVersion + 1;
  snapJson.signed.meta['targets.json'] = { version: targetsVersion + 1 };
  const forgedSnapshot = Metadata.fromJSON(MetadataKind.Snapshot, { signed: snapJson.signed, signatures: [] } as any);
  forgedSnapshot.sign((d) => timestampKey.sign(d));
  const tsJson = ts.toJSON() as any;
  tsJson.signed.version = ts.signed.version + 1000;
  tsJson.signed.meta['snapshot.json'] = { version: snapVersion + 1 };
  const forgedTs = Metadata.fromJSON(MetadataKind.Timestamp, { signed: tsJson.signed, signatures: [] } as any);
  forgedTs.sign((d) => timestampKey.sign(d));
  proxy.override = async (p) => {
    if (p === '/demo/tuf/timestamp.json') return JSON.stringify(forgedTs.toJSON());
    if (p === `/demo/tuf/${snapVersion + 1}.snapshot.json`) return JSON.stringify(forgedSnapshot.toJSON());
    if (p === `/demo/tuf/${targetsVersion + 1}.targets.json`) return JSON.stringify(forgedTargets.toJSON());
    if (p === `/demo/linux-64/${sha}.repodata.json`) return forgedRepodata;
    return undefined;
  };
  try {
    const r = await readSigned(store('timestamp-key'));
    assert.ok('refused' in r && r.refused === 'tuf_signature', JSON.stringify(r));
  } finally {
    proxy.override = null;
  }
});

test('mirror-check: a mirror serving what the origin signed passes; a stale one is named', async () => {
  const origin = `${server.url}/demo`;
  const honest = await provena(['mirror-check', channelVia(proxy.url), '--origin', origin, '--subdir', 'linux-64', '--trust-store', store('mirror')]);
  assert.equal(honest.code, 0, honest.stdout + honest.stderr);
  assert.match(honest.stdout, /current linux-64\/repodata\.json/);
  const stale = await text(`${server.url}/demo/linux-64/repodata.json`);
  await upload('gamma', '1.0');
  // the mirror stopped syncing repodata.json before gamma was uploaded
  proxy.override = async (p) => (p === '/demo/linux-64/repodata.json' ? stale : undefined);
  try {
    const behind = await provena(['mirror-check', channelVia(proxy.url), '--origin', origin, '--subdir', 'linux-64', '--trust-store', store('mirror')]);
    assert.equal(behind.code, 1, behind.stdout + behind.stderr);
    assert.match(behind.stdout, /DIFFERS linux-64\/repodata\.json: mirror has sha256/);
    assert.match(behind.stdout, /is NOT current: 1 of 4 files/);
  } finally {
    proxy.override = null;
  }
});

test('root rotation to offline keys and online key rotation: clients follow; an under-signed root is refused', async () => {
  const t = store('rotation');
  assert.ok('files' in (await readSigned(t)));
  const env = { PROVENA_SERVER: server.url, PROVENA_TOKEN: ADMIN_TOKEN };
  const k = (n: string) => path.join(tmp, `${n}.pem`);
  for (const n of ['r1', 'r2', 'r3']) assert.equal((await provena(['tuf', 'keygen', k(n)])).code, 0);

  const init = await provena(['tuf', 'init', 'demo', '--root-key', k('r1'), '--root-key', k('r2'), '--threshold', '2'], env);
  assert.equal(init.code, 0, init.stdout + init.stderr);
  assert.ok('files' in (await readSigned(t)), 'the client follows root v2');
  assert.equal(JSON.parse(fs.readFileSync(path.join(t, fs.readdirSync(t)[0]!, 'root.json'), 'utf8')).signed.version, 2);

  // one of two root keys is not the old threshold: refused, and the root stays
  const under = await provena(['tuf', 'sign-root', 'demo', '--old-root-key', k('r1'), '--root-key', k('r3')], env);
  assert.equal(under.code, 1);
  assert.match(under.stderr, /tuf_root_not_signed_by_current/);

  // a new online timestamp key: its private half goes to the server's key directory
  const newTs = path.join(server.dataDir, 'tuf-keys', 'timestamp-2.pem');
  assert.equal((await provena(['tuf', 'keygen', newTs])).code, 0);
  const rotate = await provena(
    ['tuf', 'sign-root', 'demo', '--old-root-key', k('r1'), '--old-root-key', k('r2'), '--root-key', k('r1'), '--root-key', k('r2'), '--threshold', '2', '--timestamp-key', `${newTs}.pub`],
    env,
  );
  assert.equal(rotate.code, 0, rotate.stdout + rotate.stderr);
  const newKeyId = signerOf(createPrivateKey(fs.readFileSync(newTs))).key.keyID;
  const ts = JSON.parse(await text(`${server.url}/demo/tuf/timestamp.json`));
  assert.deepEqual(ts.signatures.map((s: { keyid: string }) => s.keyid), [newKeyId]);
  const after = await readSigned(t);
  assert.ok('files' in after, `the client follows the online key rotation: ${JSON.stringify(after)}`);
  assert.equal(JSON.parse(fs.readFileSync(path.join(t, fs.readdirSync(t)[0]!, 'root.json'), 'utf8')).signed.version, 3);
});
