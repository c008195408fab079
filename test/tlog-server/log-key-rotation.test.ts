// `provena log rotate-key` on the real server's data directory: the new key is announced by a
// key_rotation entry under a checkpoint signed by both keys, the restarted server signs with the new
// key only, /log/keys lists both with their ranges, old receipts still verify with the old key, and a
// monitor or verify-receipt that trusts the old key follows the rotation through the log. Refused:
// a rotation while the server runs, a checkpoint signed by a key no rotation announced, a rotation
// record not signed by the trusted key, one whose entry is not a key_rotation, and a forged receipt.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signCheckpoint, openCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { encodeEntry, parseEntry } from '../../src/core/tlog/entry.ts';
import { formatVerifierKey, generateSignerKey, parseSignerKey, verifierKeyOf } from '../../src/core/tlog/note-keys.ts';
import { ed25519Signer } from '../../src/core/tlog/note.ts';
import { noteVerifier } from '../../src/core/tlog/key-ring.ts';
import { keyRotationEntry } from '../../src/core/tlog/key-rotation.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { uploadRaw } from '../support/upload.ts';
import { type LogProxy, startLogProxy } from './log-proxy.ts';
import { provena, smallPackage } from './log-support.ts';

describe('log signing key rotation', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-rotate-'));
  const stateFile = path.join(tmp, 'state.json');
  let server: RunningServer;
  let proxy: LogProxy | undefined;
  let oldKey: string;
  let oldSigner: string;
  let newKey: string;
  let firstReceipt: string;
  let laterReceipt: string;
  let rotationIndex: number;
  const upload = async (s: RunningServer, name: string) => {
    const res = await uploadRaw(s, 'rot', `${name}-1.0-0.conda`, await smallPackage(name), { token: ADMIN_TOKEN });
    assert.equal(res.status, 201, JSON.stringify(res.json));
    return res.json;
  };
  const text = async (url: string) => (await fetch(url)).text();

  before(async () => {
    server = await startServer();
    await api(server, 'POST', '/api/v1/channels', { name: 'rot' });
    const first = await upload(server, 'before');
    firstReceipt = path.join(tmp, 'first.receipt.json');
    fs.writeFileSync(firstReceipt, JSON.stringify(first.receipt ?? first));
    oldKey = (await text(`${server.url}/log/key`)).trim();
    oldSigner = fs.readFileSync(path.join(server.dataDir, 'log-key'), 'utf8').trim();
    const m = await provena(['log', 'monitor', server.url, '--state', stateFile, '--key', oldKey]);
    assert.equal(m.code, 0, m.stderr);
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('refuses to rotate while the server runs, and changes nothing', async () => {
    const res = await provena(['log', 'rotate-key', '--data', server.dataDir]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /is running on .*; stop it, rotate, then start it again/);
    assert.equal(fs.readFileSync(path.join(server.dataDir, 'log-key'), 'utf8').trim(), oldSigner);
    assert.equal(fs.existsSync(path.join(server.dataDir, 'log-key.next')), false);
  });

  it('rotates: announced in the log under a checkpoint both keys signed; then only the new key signs', async () => {
    const sizeBefore = Number((await text(`${server.url}/log/checkpoint`)).split('\n')[1]);
    await server.stop();
    const res = await provena(['log', 'rotate-key', '--data', server.dataDir]);
    assert.equal(res.code, 0, res.stderr);
    assert.notEqual(fs.readFileSync(path.join(server.dataDir, 'log-key'), 'utf8').trim(), oldSigner);
    assert.equal(fs.statSync(path.join(server.dataDir, 'log-key')).mode & 0o777, 0o600);
    assert.equal(fs.existsSync(path.join(server.dataDir, 'log-key.next')), false);

    server = await startServer({ dataDir: server.dataDir });
    newKey = (await text(`${server.url}/log/key`)).trim();
    assert.notEqual(newKey, oldKey);
    assert.match(res.stdout, new RegExp(`now signs with ${newKey.replace(/\+/g, '\\+')}`));
    assert.equal(newKey.split('+')[0], oldKey.split('+')[0], 'same name');

    const keys = JSON.parse(await text(`${server.url}/log/keys`));
    rotationIndex = sizeBefore;
    assert.deepEqual(keys.keys, [
      { key: oldKey, from_size: 0, until_size: rotationIndex + 1 },
      { key: newKey, from_size: rotationIndex + 1, until_size: null },
    ]);
    assert.equal(keys.current, newKey);
    const [rotation] = keys.rotations;
    assert.equal(rotation.index, rotationIndex);
    // the rotation checkpoint: signed by both keys
    for (const k of [oldKey, newKey]) openCheckpoint(rotation.checkpoint, [noteVerifier(k)]);
    const entry = await api(server, 'GET', `/api/v1/log/entries/${rotationIndex}`, undefined, null);
    assert.deepEqual(entry.json.entry_json.publisher, { kind: 'log_key', key: newKey, previous_key: oldKey });
    assert.equal(entry.json.entry_json.channel, null);

    const later = await upload(server, 'after');
    laterReceipt = path.join(tmp, 'later.receipt.json');
    fs.writeFileSync(laterReceipt, JSON.stringify(later.receipt ?? later));
    const note = await text(`${server.url}/log/checkpoint`);
    openCheckpoint(note, [noteVerifier(newKey)]);
    assert.throws(() => openCheckpoint(note, [noteVerifier(oldKey)]), 'the old key signs no more');
  });

  it('keeps old receipts verifiable and follows the rotation in verify-receipt with --keys', async () => {
    const old = await provena(['log', 'verify-receipt', firstReceipt, '--key', oldKey]);
    assert.equal(old.code, 0, old.stderr);
    assert.match(old.stdout, /receipt verified/);
    const plain = await provena(['log', 'verify-receipt', laterReceipt, '--key', oldKey]);
    assert.equal(plain.code, 1, 'a new receipt is not signed by the old key');
    const followed = await provena(['log', 'verify-receipt', laterReceipt, '--key', oldKey, '--keys', `${server.url}/log/keys`]);
    assert.equal(followed.code, 0, followed.stderr);
    assert.match(followed.stdout, /receipt verified/);

    // a forged history: the rotation's receipt names another entry
    const history = JSON.parse(await text(`${server.url}/log/keys`));
    const forged = path.join(tmp, 'forged-keys.json');
    const r = history.rotations[0];
    fs.writeFileSync(forged, JSON.stringify({ origin: history.origin, rotations: [{ ...r, receipt: { ...r.receipt, entry: Buffer.from('{}').toString('base64') } }] }));
    const bad = await provena(['log', 'verify-receipt', laterReceipt, '--key', oldKey, '--keys', forged]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /log_key_unannounced/);
  });

  it('lets a monitor that trusts the old key follow the rotation through the log', async () => {
    const m = await provena(['log', 'monitor', server.url, '--state', stateFile]);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, new RegExp(`key_rotation of the log: next key ${newKey.replace(/\+/g, '\\+')}`));
    assert.match(m.stdout, /now trusting/);
    assert.match(m.stdout, /consistent/);
    assert.equal(JSON.parse(fs.readFileSync(stateFile, 'utf8')).key, newKey);
    await upload(server, 'again');
    const again = await provena(['log', 'monitor', server.url, '--state', stateFile]);
    assert.equal(again.code, 0, again.stderr);
  });

  it('refuses to start the server with the key the log rotated away from', async () => {
    const copy = fs.mkdtempSync(path.join(tmp, 'oldkey-'));
    await server.stop();
    fs.cpSync(server.dataDir, copy, { recursive: true });
    server = await startServer({ dataDir: server.dataDir });
    fs.rmSync(path.join(copy, 'serve.pid'), { force: true });
    fs.writeFileSync(path.join(copy, 'log-key'), `${oldSigner}\n`);
    await assert.rejects(startServer({ dataDir: copy }), /was rotated out at entry \d+ in favour of/);
  });

  describe('refusals (a monitor that trusts the old key, shown a dishonest server)', () => {
    const oldState = path.join(tmp, 'old-state.json');
    let saved: string;
    before(async () => {
      proxy = await startLogProxy(server.url);
      // a monitor state from before the rotation: the first checkpoint it trusted
      const first = JSON.parse(fs.readFileSync(firstReceipt, 'utf8'));
      saved = JSON.stringify({ key: oldKey, origin: oldKey.split('+')[0], checkpoint: first.checkpoint });
    });
    const expectAlarm = async (alarm: string, why: RegExp) => {
      fs.writeFileSync(oldState, saved);
      const res = await provena(['log', 'monitor', proxy!.url, '--state', oldState]);
      assert.equal(res.code, 1, `${alarm}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, new RegExp(`ALARM ${alarm}: `));
      assert.match(res.stderr, why);
      assert.equal(fs.readFileSync(oldState, 'utf8'), saved, 'the trusted state did not move');
      proxy!.override = null;
    };
    const served = async () => {
      const note = await text(`${server.url}/log/checkpoint`);
      const lines = note.split('\n');
      return { origin: lines[0]!, size: Number(lines[1]), root: Buffer.from(lines[2]!, 'base64') };
    };

    it('a checkpoint signed by a key no rotation announced', async () => {
      const impostor = generateSignerKey(oldKey.split('+')[0]!);
      const c = await served();
      const note = signCheckpoint({ ...c, extensions: [] }, [ed25519Signer(impostor)]);
      proxy!.override = async (p) => {
        if (p === '/log/checkpoint') return note;
        if (p === '/log/keys') return JSON.stringify({ rotations: [] });
        return undefined;
      };
      await expectAlarm('log_signature_invalid', /not validly signed by the trusted key/);
    });

    it('a rotation record whose checkpoint the trusted key did not sign', async () => {
      const impostor = generateSignerKey(oldKey.split('+')[0]!);
      const impostorKey = formatVerifierKey(verifierKeyOf(impostor));
      const c = await served();
      const note = signCheckpoint({ ...c, extensions: [] }, [ed25519Signer(impostor)]);
      const history = JSON.parse(await text(`${server.url}/log/keys`));
      const r = history.rotations[0];
      const forgedCheckpoint = signCheckpoint({ ...c, size: r.index + 1, root: Buffer.from(r.checkpoint.split('\n')[2], 'base64'), extensions: [] }, [ed25519Signer(impostor)]);
      proxy!.override = async (p) => {
        if (p === '/log/checkpoint') return note;
        if (p === '/log/keys') return JSON.stringify({ rotations: [{ ...r, key: impostorKey, checkpoint: forgedCheckpoint }] });
        return undefined;
      };
      await expectAlarm('log_key_unannounced', /has a checkpoint the trusted key did not sign/);
    });

    it('a rotation record, signed by the old key, whose entry is not a key_rotation', async () => {
      // someone who stole the old key signs an ordinary entry's tree as if it announced their key
      const thief = generateSignerKey(oldKey.split('+')[0]!);
      const thiefKey = formatVerifierKey(verifierKeyOf(thief));
      const old = parseSignerKey(oldSigner);
      const receipt = JSON.parse(fs.readFileSync(firstReceipt, 'utf8'));
      const cp = receipt.checkpoint.split('\n');
      const size = Number(cp[1]);
      const rotationCheckpoint = signCheckpoint({ origin: cp[0], size, root: Buffer.from(cp[2], 'base64'), extensions: [] }, [ed25519Signer(old), ed25519Signer(thief)]);
      const c = await served();
      const note = signCheckpoint({ ...c, extensions: [] }, [ed25519Signer(thief)]);
      proxy!.override = async (p) => {
        if (p === '/log/checkpoint') return note;
        if (p === '/log/keys') return JSON.stringify({ rotations: [{ index: size - 1, previous_key: oldKey, key: thiefKey, checkpoint: rotationCheckpoint, receipt }] });
        return undefined;
      };
      await expectAlarm('log_key_unannounced', /entry \d+ of the log is not a key_rotation from/);
    });
  });

  it('accepts key_rotation entries only in their one shape', () => {
    const a = formatVerifierKey(verifierKeyOf(generateSignerKey('example.org/log')));
    const b = formatVerifierKey(verifierKeyOf(generateSignerKey('example.org/log')));
    const good = keyRotationEntry(a, b, new Date('2026-01-01T00:00:00Z'));
    assert.deepEqual(parseEntry(encodeEntry(good)), good);
    const bad = (e: object, why: RegExp) => assert.throws(() => encodeEntry(e as never), why);
    bad({ ...good, channel: 'main' }, /channel: must be null for key_rotation/);
    bad({ ...good, sha256: 'a'.repeat(64) }, /sha256: must be null/);
    bad({ ...good, publisher: { kind: 'log_key', key: b } }, /publisher: must be/);
    bad({ ...good, publisher: { kind: 'key', key: b, previous_key: a } }, /publisher: must be/);
    bad({ ...good, publisher: { kind: 'log_key', key: 'not a key', previous_key: a } }, /verifier keys/);
    bad({ ...good, publisher: { kind: 'log_key', key: a, previous_key: a } }, /two different keys/);
    const other = formatVerifierKey(verifierKeyOf(generateSignerKey('other.org/log')));
    bad({ ...good, publisher: { kind: 'log_key', key: other, previous_key: a } }, /same name/);
    bad({ ...good, channel: null, action: 'publish' }, /channel: must be a channel name/);
  });
});
