// The transparency log as clients see it on the real server: receipts in upload responses and as
// FILE.receipt.json, the proof API, the static C2SP endpoints, entries for removals and channel
// changes, and `provena log verify-receipt` offline.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LogClient } from '../../src/adapters/cli/log-client.ts';
import { decodeBase64 } from '../../src/core/tlog/base64.ts';
import { verifyConsistency } from '../../src/core/tlog/consistency.ts';
import { isBlinded, parseEntry } from '../../src/core/tlog/entry.ts';
import { hashEquals } from '../../src/core/tlog/hashing.ts';
import { formatVerifierKey, generateSignerKey, verifierKeyOf } from '../../src/core/tlog/note-keys.ts';
import { type Receipt, verifyReceipt } from '../../src/core/tlog/receipt.ts';
import { treeRoot } from '../../src/core/tlog/stored-hashes.ts';
import { TileHashReader } from '../../src/core/tlog/tile-hash-reader.ts';
import { TreeAppender } from '../../src/core/tlog/tree-appender.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { sha256Hex, uploadMultipart, uploadRaw } from '../support/upload.ts';
import { type ServedLog, provena, servedLog, signedCheckpoint, smallPackage, waitForLogSize } from './log-support.ts';

const b64 = (s: string) => decodeBase64(s)!;

describe('transparency log over HTTP', () => {
  let server: RunningServer;
  let log: ServedLog;
  const uploads: { filename: string; bytes: Buffer; receipt: Receipt; channel: string }[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-receipts-'));

  before(async () => {
    server = await startServer();
    log = await servedLog(server);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'logs' })).status, 201);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: 'secret', private: true })).status, 201);
    for (const [channel, name, upload] of [
      ['logs', 'alpha', uploadRaw],
      ['logs', 'beta', uploadMultipart],
      ['secret', 'gamma', uploadRaw],
    ] as const) {
      const bytes = await smallPackage(name);
      const filename = `${name}-1.0-0.conda`;
      const res = await upload(server, channel, filename, bytes, { token: ADMIN_TOKEN });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      uploads.push({ filename, bytes, receipt: res.json.receipt, channel });
    }
  });
  after(async () => {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the upload response carries a receipt that verifies offline with the key from /log/key', async () => {
    for (const u of uploads) {
      const v = verifyReceipt(u.receipt, [log.verifier], log.origin);
      assert.deepEqual(
        { ...v.entry, time: undefined },
        { channel: u.channel, subdir: 'noarch', filename: u.filename, sha256: sha256Hex(u.bytes), size: u.bytes.length, action: 'publish', publisher: { kind: 'admin' }, attestation_sha256: null, time: undefined },
      );
      assert.ok(v.checkpoint.size > u.receipt.log_index);
    }
    // the two channel creations come first, then the uploads in order (repodata versions, logged as
    // each subdir's repodata is rebuilt, may come in between)
    const indexes = uploads.map((u) => u.receipt.log_index);
    assert.deepEqual([...indexes].sort((a, b) => a - b), indexes);
    assert.equal(new Set(indexes).size, indexes.length);
    const firstActions: string[] = [];
    for (let i = 0; i < indexes[0]; i++) {
      const res = await api(server, 'GET', `/api/v1/log/entries/${i}`);
      firstActions.push(verifyReceipt(res.json, [log.verifier], log.origin).entry.action);
    }
    assert.deepEqual(firstActions.filter((a) => a !== 'repodata_publish'), ['channel_update', 'channel_update']);
  });

  it('serves FILE.receipt.json for the latest publish, with the channel\'s access rules', async () => {
    const res = await fetch(`${server.url}/logs/noarch/alpha-1.0-0.conda.receipt.json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const receipt = (await res.json()) as Receipt;
    assert.equal(receipt.log_index, uploads[0].receipt.log_index);
    verifyReceipt(receipt, [log.verifier], log.origin);

    assert.equal((await fetch(`${server.url}/secret/noarch/gamma-1.0-0.conda.receipt.json`)).status, 404, 'private: hidden without a token');
    const authorised = await fetch(`${server.url}/secret/noarch/gamma-1.0-0.conda.receipt.json`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(authorised.status, 200);
    assert.equal(authorised.headers.get('cache-control'), 'private, no-cache');
    assert.equal((await fetch(`${server.url}/logs/noarch/nothere-1.0-0.conda.receipt.json`)).status, 404);
  });

  it('answers entries with inclusion proofs, and consistency proofs between signed sizes', async () => {
    const { checkpoint } = await signedCheckpoint(server, log);
    const first = await api(server, 'GET', '/api/v1/log/entries/0', undefined, null);
    assert.equal(first.status, 200);
    const v = verifyReceipt(first.json, [log.verifier], log.origin);
    assert.equal(v.entry.action, 'channel_update');
    assert.deepEqual(first.json.entry_json, v.entry);

    const old = verifyReceipt(uploads[0].receipt, [log.verifier], log.origin).checkpoint;
    const proof = await api(server, 'GET', `/api/v1/log/proof/consistency?old=${old.size}&new=${checkpoint.size}`, undefined, null);
    assert.equal(proof.status, 200);
    verifyConsistency(old.size, checkpoint.size, old.root, checkpoint.root, proof.json.proof.map(b64));

    const status = async (p: string) => (await api(server, 'GET', p, undefined, null)).status;
    assert.equal(await status(`/api/v1/log/entries/${checkpoint.size}`), 404);
    assert.equal(await status('/api/v1/log/entries/-1'), 400);
    assert.equal(await status('/api/v1/log/entries/01'), 400);
    assert.equal(await status(`/api/v1/log/proof/consistency?old=2&new=1`), 400);
    assert.equal(await status(`/api/v1/log/proof/consistency?old=0&new=1`), 400);
    assert.equal(await status(`/api/v1/log/proof/consistency?old=1`), 400);
    assert.equal(await status(`/api/v1/log/proof/consistency?old=1&new=${checkpoint.size + 1}`), 404);
  });

  it('serves the checkpoint, tiles and entry bundles (c2sp.org/tlog-tiles) that add up to the signed root', async () => {
    const res = await fetch(`${server.url}/log/checkpoint`);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal((await fetch(`${server.url}/log/checkpoint`, { headers: { 'if-none-match': res.headers.get('etag')! } })).status, 304);
    const { checkpoint } = await signedCheckpoint(server, log);

    const client = new LogClient(server.url);
    assert.ok(hashEquals(await treeRoot(checkpoint.size, new TileHashReader(checkpoint.size, client)), checkpoint.root));
    const entries = await client.entries(0, checkpoint.size);
    const rebuilt = TreeAppender.empty();
    for (const e of entries) rebuilt.appendEntry(e);
    assert.ok(hashEquals(rebuilt.root(), checkpoint.root), 'the entries hash to the signed root');
    assert.equal(parseEntry(entries[uploads[0].receipt.log_index]).filename, 'alpha-1.0-0.conda');

    const tile = await fetch(`${server.url}/log/tile/0/000.p/${checkpoint.size}`);
    assert.equal(tile.status, 200);
    assert.equal(tile.headers.get('content-type'), 'application/octet-stream');
    assert.equal(tile.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal((await fetch(`${server.url}/log/tile/0/000.p/${checkpoint.size}`, { method: 'HEAD' })).status, 200);
    for (const p of [`/log/tile/0/000.p/${checkpoint.size + 1}`, '/log/tile/0/000', '/log/tile/0/001.p/1', '/log/tile/entries/000', '/log/tile/0/00.p/1', '/log/tile/0/000.p/0', '/log/tile/x/000']) {
      assert.equal((await fetch(server.url + p)).status, 404, p);
    }
  });

  it('logs removals and channel changes, each signed into the tree', async () => {
    const before = (await signedCheckpoint(server, log)).checkpoint.size;
    assert.equal((await api(server, 'PATCH', '/api/v1/channels/logs', { private: true })).status, 200);
    assert.equal((await api(server, 'DELETE', '/api/v1/channels/logs/packages/noarch/beta-1.0-0.conda')).status, 200);
    assert.equal((await api(server, 'DELETE', '/api/v1/channels/secret')).status, 204);
    // Both channels are private now, so their entries are blinded: the admin reads them through their
    // openings, and an anonymous reader sees only action, time and commitment. Repodata versions of
    // the changes may land in between; the four changes are found by content.
    const entries = [];
    for (let i = before; entries.length < 4; i++) {
      await waitForLogSize(server, log, i + 1);
      const anonymous = await api(server, 'GET', `/api/v1/log/entries/${i}`, undefined, null);
      assert.ok(isBlinded(verifyReceipt(anonymous.json, [log.verifier], log.origin).entry), `entry ${i} is blinded for an anonymous reader`);
      const res = await api(server, 'GET', `/api/v1/log/entries/${i}`);
      const v = verifyReceipt(res.json, [log.verifier], log.origin);
      assert.ok(v.opened, `entry ${i} is opened for the admin`);
      if (v.entry.action !== 'repodata_publish') entries.push(v.entry);
    }
    assert.deepEqual(
      entries.map((e) => [e.action, e.channel, e.filename, e.sha256]),
      [
        ['channel_update', 'logs', null, null],
        ['remove', 'logs', 'beta-1.0-0.conda', sha256Hex(uploads[1].bytes)],
        ['remove', 'secret', 'gamma-1.0-0.conda', sha256Hex(uploads[2].bytes)],
        ['channel_update', 'secret', null, null],
      ],
    );
  });

  it('`provena log verify-receipt` checks a saved receipt offline, and refuses a forged one', async () => {
    const saved = path.join(tmp, 'alpha.receipt.json');
    fs.writeFileSync(saved, JSON.stringify(uploads[0].receipt));
    const keyFile = path.join(tmp, 'log.key');
    fs.writeFileSync(keyFile, `${log.keyText}\n`);
    const pkgFile = path.join(tmp, uploads[0].filename);
    fs.writeFileSync(pkgFile, uploads[0].bytes);

    const ok = await provena(['log', 'verify-receipt', saved, '--key', log.keyText, '--file', pkgFile]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`entry ${uploads[0].receipt.log_index}: publish logs/noarch/alpha-1\\.0-0\\.conda`));
    assert.match(ok.stdout, /receipt verified/);
    assert.equal((await provena(['log', 'verify-receipt', saved, '--key', keyFile])).code, 0, 'key from a file');
    const unkeyed = await provena(['log', 'verify-receipt', saved]);
    assert.equal(unkeyed.code, 0);
    assert.match(unkeyed.stdout, /signature NOT checked/);

    const forged = path.join(tmp, 'forged.json');
    fs.writeFileSync(forged, JSON.stringify({ ...uploads[0].receipt, entry: uploads[1].receipt.entry }));
    const bad = await provena(['log', 'verify-receipt', forged, '--key', log.keyText]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^provena: the receipt does not verify \(inclusion_proof_invalid\)/);

    const otherKey = formatVerifierKey(verifierKeyOf(generateSignerKey(log.origin)));
    const wrongKey = await provena(['log', 'verify-receipt', saved, '--key', otherKey]);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /note_unverified/);
    assert.equal((await provena(['log', 'verify-receipt', saved, '--key', 'not-a-key'])).code, 2);

    const otherFile = path.join(tmp, 'other.conda');
    fs.writeFileSync(otherFile, uploads[1].bytes);
    const mismatch = await provena(['log', 'verify-receipt', saved, '--key', log.keyText, '--file', otherFile]);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /is not the file the receipt logs/);
    assert.equal((await provena(['log', 'verify-receipt', path.join(tmp, 'missing.json')])).code, 2);
  });
});
