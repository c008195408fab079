// A private channel in the public transparency log: its entries are logged blinded, so the tiles,
// entry bundles and entries API show no channel name, file name, digest or publisher of it; readers
// of the channel (a read key, the admin, the uploader) get the opening, and receipts with an opening
// verify offline with `provena log verify-receipt --file`. Forged openings are refused with their own
// codes, and a public channel's entries stay as they were.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isBlinded, parseEntry } from '../../src/core/tlog/entry.ts';
import { type Receipt, verifyReceipt } from '../../src/core/tlog/receipt.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { sha256Hex, uploadRaw } from '../support/upload.ts';
import { type ServedLog, provena, servedLog, signedCheckpoint, smallPackage, waitForLogSize } from './log-support.ts';
import { startLogProxy } from './log-proxy.ts';

const HIDDEN = 'hushchannel';
const OPEN = 'openchannel';

describe('private channels in the transparency log', () => {
  let server: RunningServer;
  let log: ServedLog;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-blinded-'));
  let readKey: string;
  let otherReadKey: string;
  let uploadKeyId: string;
  let hidden: { bytes: Buffer; receipt: Receipt; filename: string };
  let open: { bytes: Buffer; receipt: Receipt; filename: string };

  before(async () => {
    server = await startServer();
    log = await servedLog(server);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: OPEN })).status, 201);
    assert.equal((await api(server, 'POST', '/api/v1/channels', { name: HIDDEN, private: true })).status, 201);
    const key = async (channel: string, scope: string) => {
      const res = await api(server, 'POST', '/api/v1/keys', { channel, scope });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      return res.json as { id: string; secret: string };
    };
    readKey = (await key(HIDDEN, 'read')).secret;
    otherReadKey = (await key(OPEN, 'read')).secret;
    const uploader = await key(HIDDEN, 'upload');
    uploadKeyId = uploader.id;

    const hiddenBytes = await smallPackage('zebrafishlib');
    const h = await uploadRaw(server, HIDDEN, 'zebrafishlib-1.0-0.conda', hiddenBytes, { token: uploader.secret });
    assert.equal(h.status, 201, JSON.stringify(h.json));
    hidden = { bytes: hiddenBytes, receipt: h.json.receipt, filename: 'zebrafishlib-1.0-0.conda' };
    const openBytes = await smallPackage('openlib');
    const o = await uploadRaw(server, OPEN, 'openlib-1.0-0.conda', openBytes, { token: ADMIN_TOKEN });
    assert.equal(o.status, 201, JSON.stringify(o.json));
    open = { bytes: openBytes, receipt: o.json.receipt, filename: 'openlib-1.0-0.conda' };
    await waitForLogSize(server, log, o.json.receipt.log_index + 1);
  });
  after(async () => {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** The first entry from `start` on with this action, waiting for the log to sign it. */
  async function findEntry(start: number, action: string, token: string | null): Promise<any> {
    for (let size = start + 1; ; size++) {
      await waitForLogSize(server, log, size);
      const res = await api(server, 'GET', `/api/v1/log/entries/${size - 1}`, undefined, token);
      assert.equal(res.status, 200);
      if (res.json.entry_json.action === action) return res.json;
    }
  }

  const secrets = () => [HIDDEN, 'zebrafishlib', sha256Hex(hidden.bytes), uploadKeyId];

  it('tiles, entry bundles and the entries API carry no name, file, digest or publisher of the private channel', async () => {
    const { checkpoint } = await signedCheckpoint(server, log);
    const raw: Buffer[] = [];
    for (const p of [`/log/tile/entries/000.p/${checkpoint.size}`, `/log/tile/0/000.p/${checkpoint.size}`, '/log/checkpoint']) {
      const res = await fetch(server.url + p);
      assert.equal(res.status, 200, p);
      raw.push(Buffer.from(await res.arrayBuffer()));
    }
    for (let i = 0; i < checkpoint.size; i++) {
      const res = await fetch(`${server.url}/api/v1/log/entries/${i}`);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.ok(!JSON.parse(text).opening, `entry ${i}: no opening for an anonymous reader`);
      raw.push(Buffer.from(text));
      // a read key of another channel is no better than anonymous
      const other = await api(server, 'GET', `/api/v1/log/entries/${i}`, undefined, otherReadKey);
      assert.equal(other.json.opening, undefined);
      raw.push(Buffer.from(JSON.stringify(other.json)));
    }
    const all = Buffer.concat(raw);
    for (const s of secrets()) assert.equal(all.indexOf(s), -1, `the public log shows ${s}`);
    // the public channel's entries are there in the clear, as before
    for (const s of [OPEN, 'openlib-1.0-0.conda', sha256Hex(open.bytes)]) assert.notEqual(all.indexOf(s), -1, `${s} is logged`);
    const logged = parseEntry(Buffer.from(hidden.receipt.entry, 'base64'));
    assert.ok(isBlinded(logged));
    assert.deepEqual(Object.keys(logged).sort(), ['action', 'commitment', 'time']);
    assert.equal(logged.action, 'publish', 'the action stays visible');
  });

  it('the channel creation, the publish and the repodata versions are all blinded', async () => {
    const { checkpoint } = await signedCheckpoint(server, log);
    const actions: string[] = [];
    for (let i = 0; i < checkpoint.size; i++) {
      const res = await api(server, 'GET', `/api/v1/log/entries/${i}`, undefined, readKey);
      const v = verifyReceipt(res.json, [log.verifier], log.origin);
      if (v.entry.channel === HIDDEN) {
        assert.ok(v.opened, `entry ${i} about ${HIDDEN} is blinded and opened for its reader`);
        actions.push(v.entry.action);
      } else {
        assert.ok(!isBlinded(v.logged), `entry ${i} is about a public channel and logged in the clear`);
      }
    }
    assert.ok(actions.includes('channel_update') && actions.includes('publish') && actions.includes('repodata_publish'), actions.join());
  });

  it('a read key and the admin get the opening; it names the file', async () => {
    const i = hidden.receipt.log_index;
    for (const token of [readKey, ADMIN_TOKEN]) {
      const res = await api(server, 'GET', `/api/v1/log/entries/${i}`, undefined, token);
      assert.equal(res.status, 200);
      assert.equal(res.json.opening.log_index, i);
      assert.equal(res.headers.get('cache-control'), 'private, no-store', 'no shared cache keeps an opening');
      const v = verifyReceipt(res.json, [log.verifier], log.origin);
      assert.equal(v.opened, true);
      assert.deepEqual(
        { ...v.entry, time: undefined },
        { channel: HIDDEN, subdir: 'noarch', filename: hidden.filename, sha256: sha256Hex(hidden.bytes), size: hidden.bytes.length, action: 'publish', publisher: { kind: 'key', id: uploadKeyId }, attestation_sha256: null, time: undefined },
      );
      assert.ok(isBlinded(res.json.entry_json), 'entry_json is the entry as logged');
    }
  });

  it('the upload response and FILE.receipt.json carry the opening; verify-receipt --file checks it', async () => {
    assert.ok(hidden.receipt.opening, 'the uploader gets the opening');
    assert.equal(open.receipt.opening, undefined, 'a public entry needs none');
    const fileReceipt = await api(server, 'GET', `/${HIDDEN}/noarch/${hidden.filename}.receipt.json`, undefined, readKey);
    assert.equal(fileReceipt.status, 200);
    assert.deepEqual(fileReceipt.json.opening, hidden.receipt.opening);

    const pkg = path.join(tmp, hidden.filename);
    fs.writeFileSync(pkg, hidden.bytes);
    for (const [name, receipt] of [['upload', hidden.receipt], ['file', fileReceipt.json]] as const) {
      const saved = path.join(tmp, `${name}.receipt.json`);
      fs.writeFileSync(saved, JSON.stringify(receipt));
      const ok = await provena(['log', 'verify-receipt', saved, '--key', log.keyText, '--file', pkg]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`entry ${hidden.receipt.log_index}: publish ${HIDDEN}/noarch/zebrafishlib-1\\.0-0\\.conda`));
      assert.match(ok.stdout, /opening matches its commitment/);
    }
    // the opening names this file: another file is refused
    const other = path.join(tmp, open.filename);
    fs.writeFileSync(other, open.bytes);
    const saved = path.join(tmp, 'upload.receipt.json');
    const wrongFile = await provena(['log', 'verify-receipt', saved, '--key', log.keyText, '--file', other]);
    assert.equal(wrongFile.code, 1);
    assert.match(wrongFile.stderr, /is not the file the receipt logs/);
  });

  it('refuses a wrong salt, an altered opening, another entry\'s opening, and a blinded receipt without one', async () => {
    const pkg = path.join(tmp, hidden.filename);
    fs.writeFileSync(pkg, hidden.bytes);
    const good = hidden.receipt;
    const opening = good.opening!;
    // another blinded entry of the same channel, with its own opening (the channel creation)
    let otherOpening: unknown = null;
    for (let i = 0; i < good.log_index && otherOpening === null; i++) {
      const res = await api(server, 'GET', `/api/v1/log/entries/${i}`, undefined, readKey);
      if (res.json.opening) otherOpening = res.json.opening;
    }
    assert.ok(otherOpening, 'the channel creation is blinded and opened for the reader');
    const cases: Array<[string, unknown, RegExp]> = [
      ['wrong salt', { ...good, opening: { ...opening, salt: 'ab'.repeat(32) } }, /\(opening_mismatch\)/],
      ['altered sha256', { ...good, opening: { ...opening, entry: { ...opening.entry, sha256: sha256Hex(open.bytes) } } }, /\(opening_mismatch\)/],
      ['altered publisher', { ...good, opening: { ...opening, entry: { ...opening.entry, publisher: { kind: 'admin' } } } }, /\(opening_mismatch\)/],
      ['another entry\'s opening', { ...good, opening: otherOpening }, /\(opening_wrong_entry\)/],
      ['malformed opening', { ...good, opening: { ...opening, salt: 'not hex' } }, /\(opening_malformed\)/],
      ['an opening on a public entry', { ...open.receipt, opening }, /\(opening_unexpected\)/],
    ];
    for (const [name, receipt, want] of cases) {
      const file = path.join(tmp, 'forged.json');
      fs.writeFileSync(file, JSON.stringify(receipt));
      const r = await provena(['log', 'verify-receipt', file, '--key', log.keyText]);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, want, name);
    }
    const { opening: _dropped, ...withoutOpening } = good;
    const file = path.join(tmp, 'no-opening.json');
    fs.writeFileSync(file, JSON.stringify(withoutOpening));
    const proved = await provena(['log', 'verify-receipt', file, '--key', log.keyText]);
    assert.equal(proved.code, 0, 'inclusion of the blinded entry still verifies');
    assert.match(proved.stdout, /in a private channel \(blinded/);
    const noFile = await provena(['log', 'verify-receipt', file, '--key', log.keyText, '--file', pkg]);
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /blinded .* has no opening/);
  });

  it('the web log search by sha256 finds no private file for an anonymous visitor', async () => {
    const res = await fetch(`${server.url}/log?sha256=${sha256Hex(hidden.bytes)}`);
    assert.equal(res.status, 200);
    const page = await res.text();
    assert.match(page, /No entry found for this sha256/);
    for (const s of [HIDDEN, 'zebrafishlib', uploadKeyId]) assert.ok(!page.includes(s), s);
    const entryPage = await (await fetch(`${server.url}/log/entries/${hidden.receipt.log_index}`)).text();
    for (const s of [...secrets()]) assert.ok(!entryPage.includes(s), s);
    const found = await (await fetch(`${server.url}/log?sha256=${sha256Hex(open.bytes)}`)).text();
    assert.match(found, /1 entry found/);
  });

  it('log monitor checks blinded entries; with a read key it opens and checks them', async () => {
    const state = (name: string) => path.join(tmp, `monitor-${name}.state.json`);
    const plain = await provena(['log', 'monitor', server.url, '--state', state('plain')]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, new RegExp(`#${hidden.receipt.log_index} publish in a private channel \\(blinded, commitment [0-9a-f]{64}\\)`));
    for (const s of secrets()) assert.ok(!plain.stdout.includes(s), s);
    assert.match(plain.stdout, /openlib-1\.0-0\.conda/);

    const opened = await provena(['log', 'monitor', server.url, '--state', state('opened'), '--token', readKey]);
    assert.equal(opened.code, 0, opened.stderr);
    assert.match(opened.stdout, new RegExp(`#${hidden.receipt.log_index} publish ${HIDDEN}/noarch/zebrafishlib-1\\.0-0\\.conda sha256=${sha256Hex(hidden.bytes)}`));

    // a server that hands out a forged opening is caught against the commitment in the signed tiles
    const proxy = await startLogProxy(server.url);
    try {
      const forged = { ...hidden.receipt.opening!, entry: { ...hidden.receipt.opening!.entry, filename: 'innocent-1.0-0.conda' } };
      proxy.override = async (p) => (p === `/api/v1/log/entries/${hidden.receipt.log_index}` ? JSON.stringify({ opening: forged }) : undefined);
      const alarm = await provena(['log', 'monitor', proxy.url, '--state', state('forged'), '--token', readKey]);
      assert.equal(alarm.code, 1, alarm.stdout + alarm.stderr);
      assert.match(alarm.stderr, /^provena: ALARM opening_mismatch: /);
      assert.ok(!fs.existsSync(state('forged')), 'nothing trusted after an alarm');
    } finally {
      await proxy.close();
    }
  });

  it('a channel that turns public logs in the clear from then on; earlier entries stay blinded', async () => {
    const before = (await signedCheckpoint(server, log)).checkpoint.size;
    assert.equal((await api(server, 'PATCH', `/api/v1/channels/${HIDDEN}`, { private: false })).status, 200);
    const late = await smallPackage('latecomer');
    const up = await uploadRaw(server, HIDDEN, 'latecomer-1.0-0.conda', late, { token: ADMIN_TOKEN });
    assert.equal(up.status, 201);
    assert.equal(up.json.receipt.opening, undefined);
    const v = verifyReceipt(up.json.receipt, [log.verifier], log.origin);
    assert.equal(v.entry.filename, 'latecomer-1.0-0.conda');
    // repodata versions of earlier uploads may land in between: find the change by its content
    const change = await findEntry(before, 'channel_update', null);
    assert.equal(change.entry_json.channel, HIDDEN, 'private → public: the change itself is logged in the clear');
    const old = await api(server, 'GET', `/api/v1/log/entries/${hidden.receipt.log_index}`, undefined, null);
    assert.ok(isBlinded(old.json.entry_json), 'the log never changes: the earlier entry is still blinded');

    // and back: public → private blinds the change itself and what follows
    const size = (await signedCheckpoint(server, log)).checkpoint.size;
    assert.equal((await api(server, 'PATCH', `/api/v1/channels/${OPEN}`, { private: true })).status, 200);
    const admin = await findEntry(size, 'channel_update', ADMIN_TOKEN);
    assert.equal(admin.opening.entry.channel, OPEN);
    const hiddenNow = await api(server, 'GET', `/api/v1/log/entries/${admin.log_index}`, undefined, null);
    assert.ok(isBlinded(hiddenNow.json.entry_json), 'public → private: the change itself is blinded');
    assert.equal(hiddenNow.json.entry_json.action, 'channel_update');
  });
});
