// `provena log monitor` against the real server, directly and through a dishonest proxy: it follows
// an honest log (new entries, watched names), and raises the right alarm, exit 1 and state kept,
// when shown a checkpoint signed by another key, a fork re-signed with the log's own key (read from
// DATA/log-key), a rewritten entry, a lying tile or a shrunken log.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LogClient } from '../../src/adapters/cli/log-client.ts';
import { signCheckpoint } from '../../src/core/tlog/checkpoint.ts';
import { decodeEntryBundle, encodeEntryBundle } from '../../src/core/tlog/entry-bundle.ts';
import { type LogEntry, encodeEntry, parseEntry } from '../../src/core/tlog/entry.ts';
import { MemoryHashStore } from '../../src/core/tlog/memory-hash-store.ts';
import { generateSignerKey, parseSignerKey } from '../../src/core/tlog/note-keys.ts';
import { ed25519Signer } from '../../src/core/tlog/note.ts';
import { TILE_WIDTH, parseTilePath } from '../../src/core/tlog/tile-path.ts';
import { readTileData } from '../../src/core/tlog/tiles.ts';
import { TreeAppender } from '../../src/core/tlog/tree-appender.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { uploadRaw } from '../support/upload.ts';
import { type LogProxy, startLogProxy } from './log-proxy.ts';
import { type ServedLog, provena, servedLog, signedCheckpoint, smallPackage } from './log-support.ts';

describe('provena log monitor', () => {
  let server: RunningServer;
  let proxy: LogProxy;
  let log: ServedLog;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-monitor-'));
  const stateFile = path.join(tmp, 'state.json');
  const monitor = (url: string, ...extra: string[]) => provena(['log', 'monitor', url, '--state', stateFile, ...extra]);
  /** Uploads a package; returns its log index (repodata versions are logged in between, asynchronously). */
  const upload = async (name: string): Promise<number> => {
    const res = await uploadRaw(server, 'watched', `${name}-1.0-0.conda`, await smallPackage(name), { token: ADMIN_TOKEN });
    assert.equal(res.status, 201);
    return res.json.receipt.log_index as number;
  };
  /** The monitor's summary line: the size it trusts now, the size before, and how many entries were new. */
  const summary = (stdout: string) => {
    const m = /size (\d+) \(was (\d+)\), (\d+) new entries/.exec(stdout);
    assert.ok(m, stdout);
    return { size: Number(m[1]), was: Number(m[2]), fresh: Number(m[3]) };
  };
  /** Runs the monitor through the proxy, expects the alarm, and checks the trusted state did not move. */
  const expectAlarm = async (alarm: string) => {
    const saved = fs.readFileSync(stateFile, 'utf8');
    const res = await monitor(proxy.url);
    assert.equal(res.code, 1, `${alarm}: ${res.stdout}${res.stderr}`);
    assert.match(res.stderr, new RegExp(`^provena: ALARM ${alarm}: `));
    assert.equal(res.stderr.trim().split('\n').length, 1, 'one line');
    assert.equal(fs.readFileSync(stateFile, 'utf8'), saved, 'the state still holds the last trusted checkpoint');
    proxy.override = null;
  };

  before(async () => {
    server = await startServer();
    proxy = await startLogProxy(server.url);
    log = await servedLog(server);
    await api(server, 'POST', '/api/v1/channels', { name: 'watched' });
  });
  after(async () => {
    await proxy.close();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('follows an honest log: first run prints everything, later runs only what is new or watched', async () => {
    await upload('numpy');
    const scipy = await upload('scipy');
    const first = await monitor(server.url);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /first run: trusting the key/);
    assert.match(first.stdout, /#0 channel_update watched by admin/);
    assert.match(first.stdout, new RegExp(`#${scipy} publish watched/noarch/scipy-1\\.0-0\\.conda sha256=[0-9a-f]{64} size=\\d+ by admin at `));
    const one = summary(first.stdout);
    assert.deepEqual([one.was, one.fresh], [0, one.size]);
    assert.ok(one.size > scipy);
    assert.match(first.stdout, /new entries; consistent/);
    assert.equal(first.stdout.split('\n').filter((l) => l.startsWith('#')).length, one.size, 'one line per entry on a first run');

    await upload('pandas');
    const numpyBase = await upload('numpy-base');
    const watched = await monitor(server.url, '--watch', 'numpy-base', '--watch', 'other');
    assert.equal(watched.code, 0, watched.stderr);
    assert.doesNotMatch(watched.stdout, /pandas/);
    assert.match(watched.stdout, new RegExp(`#${numpyBase} publish watched/noarch/numpy-base-1\\.0-0\\.conda`));
    const two = summary(watched.stdout);
    assert.deepEqual([two.was, two.fresh], [one.size, two.size - one.size]);
    assert.ok(two.size > numpyBase);
    assert.match(watched.stdout, /new entries, 1 about numpy-base, other; consistent/);
    assert.equal(JSON.parse(fs.readFileSync(stateFile, 'utf8')).key, log.keyText);
  });

  it('alarms on a checkpoint signed by another key', async () => {
    const impostor = generateSignerKey(log.origin);
    const { checkpoint } = await signedCheckpoint(server, log);
    proxy.override = async (p) => (p === '/log/checkpoint' ? signCheckpoint({ ...checkpoint, size: checkpoint.size }, [ed25519Signer(impostor)]) : undefined);
    await expectAlarm('log_signature_invalid');
    proxy.override = async (p) => (p === '/log/checkpoint' ? 'not a signed note\n' : undefined);
    await expectAlarm('log_signature_invalid');
  });

  it('alarms on a fork re-signed with the log\'s own key from DATA/log-key', async () => {
    await upload('tampered-later');
    const key = parseSignerKey(fs.readFileSync(path.join(server.dataDir, 'log-key'), 'utf8').trim());
    const { checkpoint } = await signedCheckpoint(server, log);
    const real = await new LogClient(server.url).entries(0, checkpoint.size);
    // history rewritten: entry 1 (which the monitor already trusts) now names other bytes
    const forked = real.map((e, i) => (i === 1 ? encodeEntry({ ...(parseEntry(e) as LogEntry), sha256: 'f'.repeat(64) }) : e));
    const hashes = new MemoryHashStore();
    const tree = TreeAppender.empty();
    for (const e of forked) hashes.put(tree.appendEntry(e));
    const note = signCheckpoint({ origin: log.origin, size: forked.length, root: tree.root(), extensions: [] }, [ed25519Signer(key)]);
    proxy.override = async (p) => {
      if (p === '/log/checkpoint') return note;
      if (!p.startsWith('/log/tile/')) return undefined;
      const r = parseTilePath(p.slice('/log/'.length));
      if (r.kind === 'tile') return readTileData(r.tile, hashes);
      return encodeEntryBundle(forked.slice(r.bundle.index * TILE_WIDTH, r.bundle.index * TILE_WIDTH + r.bundle.width));
    };
    await expectAlarm('log_fork');
  });

  it('alarms on a rewritten entry, a lying tile, and a log that shrank', async () => {
    const { note: oldNote } = await signedCheckpoint(server, log);
    const rewritten = await upload('rewritten');
    const { checkpoint } = await signedCheckpoint(server, log);
    const trusted = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    const trustedSize = Number(trusted.checkpoint.split('\n')[1]);
    assert.ok(checkpoint.size > rewritten && rewritten >= trustedSize);

    // the signed checkpoint and tiles are honest; an entry the monitor has not seen yet is altered
    proxy.override = async (p, upstream) => {
      if (!p.startsWith('/log/tile/entries/')) return undefined;
      const width = Number(p.split('/').pop());
      const entries = decodeEntryBundle(await upstream(), width);
      entries[rewritten] = encodeEntry({ ...(parseEntry(entries[rewritten]) as LogEntry), filename: 'evil-1.0-0.conda' });
      return encodeEntryBundle(entries);
    };
    await expectAlarm('log_entry_rewritten');

    proxy.override = async (p, upstream) => {
      if (!p.startsWith('/log/tile/0/')) return undefined;
      const data = new Uint8Array(await upstream());
      data[0] ^= 1;
      return data;
    };
    await expectAlarm('log_tiles_invalid');

    // a validly signed but older checkpoint than the one the monitor trusts: rollback
    const ok = await monitor(server.url);
    assert.equal(ok.code, 0, ok.stderr);
    proxy.override = async (p) => (p === '/log/checkpoint' ? oldNote : undefined);
    await expectAlarm('log_fork');
  });

  it('exits 3 when the log cannot be reached and 2 on usage errors', async () => {
    const down = await provena(['log', 'monitor', 'http://127.0.0.1:9', '--state', path.join(tmp, 'other.json')]);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /^provena: cannot reach http:\/\/127\.0\.0\.1:9\/log\/key/);
    assert.equal((await provena(['log', 'monitor', server.url])).code, 2);
    fs.writeFileSync(path.join(tmp, 'junk.json'), '{');
    assert.equal((await provena(['log', 'monitor', server.url, '--state', path.join(tmp, 'junk.json')])).code, 2);
  });
});
