// Every check on a new root and on the repodata_publish log entry, each refused for its own reason.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { startServer, ADMIN_TOKEN, type RunningServer } from '../support/server.ts';
import { buildRoot, expiresAt } from '../../src/core/tuf/metadata.ts';
import { signerOf, type TufSigner } from '../../src/core/tuf/signer.ts';
import { encodeEntry, type LogEntry } from '../../src/core/tlog/entry.ts';
import { isProvenaError } from '../../src/core/errors.ts';

let server: RunningServer;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

before(async () => {
  server = await startServer();
  assert.equal((await fetch(`${server.url}/api/v1/channels`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'demo' }) })).status, 201);
});
after(async () => {
  await server?.stop();
});

const newSigner = () => signerOf(generateKeyPairSync('ed25519').privateKey);
const serverKey = (role: string) => signerOf(createPrivateKey(fs.readFileSync(path.join(server.dataDir, 'tuf-keys', `${role}.pem`))));

async function current(): Promise<Metadata<Root>> {
  return Metadata.fromJSON(MetadataKind.Root, await (await fetch(`${server.url}/demo/tuf/root.json`)).json() as never);
}

/** The next root naming `rootKeys` and the server's online keys (or `timestamp` instead), signed by `signers`. */
async function candidate(o: { rootKeys: TufSigner[]; signers: TufSigner[]; version?: number; expires?: string; timestamp?: TufSigner }) {
  const cur = await current();
  const signed = buildRoot(o.version ?? cur.signed.version + 1, o.expires ?? expiresAt(new Date(), 86400), {
    root: o.rootKeys.map((s) => s.key),
    rootThreshold: o.rootKeys.length,
    targets: [serverKey('targets').key],
    snapshot: [serverKey('snapshot').key],
    timestamp: [(o.timestamp ?? serverKey('timestamp')).key],
  });
  const md = new Metadata(signed);
  for (const s of o.signers) md.sign((d) => s.sign(d), true);
  return md.toJSON();
}

async function submit(body: unknown): Promise<{ status: number; json: { error?: string; detail?: string; version?: number } }> {
  const r = await fetch(`${server.url}/api/v1/channels/demo/tuf/root`, { method: 'PUT', headers: admin, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as never };
}

test('a new root is refused for each broken rule, and accepted when whole', async () => {
  const a = newSigner();
  const b = newSigner();
  const skip = await submit(await candidate({ rootKeys: [a], signers: [a], version: 5 }));
  assert.deepEqual([skip.status, skip.json.error], [422, 'tuf_root_version']);

  // names a and b, threshold 2, signed by a only
  const underSigned = await submit(await candidate({ rootKeys: [a, b], signers: [a] }));
  assert.deepEqual([underSigned.status, underSigned.json.error], [422, 'tuf_root_not_self_signed']);

  const expired = await submit(await candidate({ rootKeys: [a], signers: [a], expires: '2020-01-01T00:00:00Z' }));
  assert.deepEqual([expired.status, expired.json.error], [422, 'tuf_root_expired']);

  const unknownOnline = await submit(await candidate({ rootKeys: [a], signers: [a], timestamp: newSigner() }));
  assert.deepEqual([unknownOnline.status, unknownOnline.json.error], [422, 'tuf_key_missing']);
  assert.match(unknownOnline.json.detail!, /timestamp key/);

  const garbage = await submit({ signed: { _type: 'targets' }, signatures: [] });
  assert.deepEqual([garbage.status, garbage.json.error], [422, 'tuf_root_invalid']);

  const anonymous = await fetch(`${server.url}/api/v1/channels/demo/tuf/root`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(await candidate({ rootKeys: [a], signers: [a] })) });
  assert.equal(anonymous.status, 401);

  assert.equal((await current()).signed.version, 1, 'nothing refused changed the root');
  const ok = await submit(await candidate({ rootKeys: [a], signers: [a] }));
  assert.deepEqual([ok.status, ok.json.version], [200, 2]);

  // the server no longer holds the root key: a root signed by a key that is not a's is refused
  const c = newSigner();
  const stolen = await submit(await candidate({ rootKeys: [c], signers: [c] }));
  assert.deepEqual([stolen.status, stolen.json.error], [422, 'tuf_root_not_signed_by_current']);
});

test('repodata_publish log entries need subdir, sha256 and size, and no file name', () => {
  const entry: LogEntry = {
    channel: 'demo', subdir: 'linux-64', filename: null, sha256: 'a'.repeat(64), size: 10,
    action: 'repodata_publish', publisher: null, attestation_sha256: null, time: new Date(0).toISOString(),
  };
  assert.ok(encodeEntry(entry).length > 0);
  const refused = (e: LogEntry) => {
    try {
      encodeEntry(e);
      return null;
    } catch (err) {
      return isProvenaError(err) ? err.detail : String(err);
    }
  };
  assert.match(refused({ ...entry, sha256: null }) ?? '', /sha256: is required for repodata_publish/);
  assert.match(refused({ ...entry, subdir: null }) ?? '', /subdir: is required for repodata_publish/);
  assert.match(refused({ ...entry, size: null }) ?? '', /size: is required for repodata_publish/);
  assert.match(refused({ ...entry, filename: 'x-1-0.conda' }) ?? '', /filename: must be null for repodata_publish/);
});
