// `provena backup` while the real server runs (and an upload is half sent), `provena restore` into a
// new data directory, and the restored server serving the same channels and the same log: repodata
// byte for byte (the shard index up to its created_at), packages and attestations, checkpoint, tiles,
// entries, and `provena log monitor` with the state it kept of the old server. Then the refusals:
// a corrupt, truncated or extended backup, and a non-empty target or destination.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode } from '@msgpack/msgpack';
import { zstdDecompress } from '../../src/core/repodata/zstd.ts';
import { isBackedUp } from '../../src/adapters/cli/backup.ts';
import { makePackage } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { provena } from '../support/cli.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { sha256Hex, uploadMultipart, uploadRaw } from '../support/upload.ts';

const GITHUB = 'https://token.actions.githubusercontent.com';
const REPODATA = ['repodata.json', 'repodata.json.zst', 'current_repodata.json', 'current_repodata.json.zst'];

interface Snapshot {
  files: Map<string, Buffer>;
  shardIndexes: Map<string, unknown>;
  checkpoint: string;
  key: string;
}

describe('provena backup and restore', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-backup-'));
  const backupDir = path.join(tmp, 'backup');
  const restoredDir = path.join(tmp, 'restored');
  const stateFile = path.join(tmp, 'monitor.json');
  const rootFile = path.join(tmp, 'trusted_root.json');
  let stack: SigstoreStack;
  let server: RunningServer;
  let restored: RunningServer | undefined;
  const packages: { channel: string; subdir: string; filename: string; sigs: boolean }[] = [];
  const subdirs = [
    ['alpha', 'linux-64'],
    ['alpha', 'noarch'],
    ['beta', 'osx-arm64'],
    ['beta', 'linux-64'],
  ] as const;

  async function get(base: string, p: string): Promise<Buffer> {
    const res = await fetch(base + p);
    assert.equal(res.status, 200, `${p}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** Everything a client of the old server saw that the restored one must serve the same. */
  async function capture(base: string): Promise<Snapshot> {
    const files = new Map<string, Buffer>();
    const shardIndexes = new Map<string, unknown>();
    for (const [channel, subdir] of subdirs) {
      for (const f of REPODATA) files.set(`/${channel}/${subdir}/${f}`, await get(base, `/${channel}/${subdir}/${f}`));
      const index = decode(zstdDecompress(await get(base, `/${channel}/${subdir}/repodata_shards.msgpack.zst`), 1 << 24)) as {
        info: Record<string, unknown>;
        shards: Record<string, Uint8Array>;
      };
      // created_at says when the index was generated, so it may differ; everything else must not
      assert.match(String(index.info.created_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      shardIndexes.set(`${channel}/${subdir}`, { ...index, info: { ...index.info, created_at: null } });
      for (const sha of Object.values(index.shards)) {
        const p = `/${channel}/${subdir}/shards/${Buffer.from(sha).toString('hex')}.msgpack.zst`;
        files.set(p, await get(base, p));
      }
    }
    for (const p of packages) {
      files.set(`/${p.channel}/${p.subdir}/${p.filename}`, await get(base, `/${p.channel}/${p.subdir}/${p.filename}`));
      if (p.sigs) files.set(`/${p.channel}/${p.subdir}/${p.filename}.sigs`, await get(base, `/${p.channel}/${p.subdir}/${p.filename}.sigs`));
    }
    const checkpoint = (await get(base, '/log/checkpoint')).toString();
    const size = Number(checkpoint.split('\n')[1]);
    for (let i = 0; i < size; i++) {
      const e = await api({ url: base }, 'GET', `/api/v1/log/entries/${i}`, undefined, null);
      assert.equal(e.status, 200);
      files.set(`entry ${i}`, Buffer.from(JSON.stringify(e.json.entry_json)));
    }
    // every tile of the tree (size < 256 here: one partial tile per level and its entry bundle)
    files.set('/log/tile/0', await get(base, `/log/tile/0/000.p/${size}`));
    files.set('/log/tile/entries', await get(base, `/log/tile/entries/000.p/${size}`));
    return { files, shardIndexes, checkpoint, key: (await get(base, '/log/key')).toString() };
  }

  before(async () => {
    stack = await startSigstoreStack();
    fs.writeFileSync(rootFile, stack.trustedRootJson);
    server = await startServer({ args: ['--trusted-root', rootFile] });
    for (const name of ['alpha', 'beta']) assert.equal((await api(server, 'POST', '/api/v1/channels', { name })).status, 201);
    await api(server, 'POST', '/api/v1/channels/alpha/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
    let n = 0;
    for (const [channel, subdir] of subdirs) {
      for (const format of ['.conda', '.tar.bz2'] as const) {
        const name = `pkg${++n}`;
        const spec = subdir === 'noarch' ? { noarch: 'generic' } : {};
        const bytes = await makePackage({ name, version: '1.0', build: 'h0_0', subdir, format, ...spec });
        const filename = `${name}-1.0-h0_0${format}`;
        const attest = channel === 'alpha' && format === '.conda';
        const attestation = attest
          ? await stack.signAttestation({ filename, sha256: sha256Hex(bytes), targetChannel: `${server.url}/${channel}`, identity: 'github', tokenOverrides: { iss: GITHUB } })
          : undefined;
        const res = await uploadMultipart(server, channel, filename, bytes, { token: ADMIN_TOKEN, attestation });
        assert.equal(res.status, 201, JSON.stringify(res.json));
        packages.push({ channel, subdir, filename, sigs: attest });
      }
    }
    // one removed: its name moves to `removed` in repodata
    const gone = packages.splice(packages.findIndex((p) => p.channel === 'beta' && p.subdir === 'linux-64'), 1)[0]!;
    assert.equal((await api(server, 'DELETE', `/api/v1/channels/beta/packages/${gone.subdir}/${gone.filename}`)).status < 300, true);
    // a last upload waits for its receipt, so the served checkpoint covers the removal too
    const last = await makePackage({ name: 'last', version: '2.0', build: '0', subdir: 'linux-64', format: '.conda' });
    assert.equal((await uploadRaw(server, 'beta', 'last-2.0-0.conda', last, { token: ADMIN_TOKEN })).status, 201);
    packages.push({ channel: 'beta', subdir: 'linux-64', filename: 'last-2.0-0.conda', sigs: false });
  });
  after(async () => {
    await server?.stop();
    await restored?.stop();
    await stack?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('backs up a running server with an upload in flight, and the restored server serves the same channels and log', async () => {
    const monitorOld = await provena(['log', 'monitor', server.url, '--state', stateFile]);
    assert.equal(monitorOld.code, 0, monitorOld.stderr);
    const before = await capture(server.url);

    // an upload whose body is half sent while the backup runs: not committed, so not in the backup
    const late = await makePackage({ name: 'late', version: '1.0', build: '0', subdir: 'linux-64', format: '.conda', files: { 'big.bin': Buffer.alloc(1 << 20, 7) } });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(late.subarray(0, late.length >> 1));
        await gate;
        c.enqueue(late.subarray(late.length >> 1));
        c.close();
      },
    });
    const inFlight = fetch(`${server.url}/api/v1/upload/beta`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/octet-stream', 'x-file-name': 'late-1.0-0.conda', 'x-file-sha256': sha256Hex(late) },
      body,
      duplex: 'half',
    } as RequestInit);

    const res = await provena(['backup', backupDir, '--data', server.dataDir]);
    assert.equal(res.code, 0, res.stderr);
    release();
    assert.equal((await inFlight).status, 201, 'the upload in flight completes on the old server');

    const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.log.size, Number(before.checkpoint.split('\n')[1]), 'the snapshot has the log as it was before the late upload');
    assert.match(manifest.schema_migration, /^\d{4}_/);
    const listed = manifest.files.map((f: { path: string }) => f.path);
    for (const must of ['provena.sqlite', 'log-key']) assert.ok(listed.includes(must), `${must} is in the backup`);
    assert.ok(!listed.some((p: string) => /^blobs\/channels\/.*\.conda$/.test(p) || p.startsWith('tmp/')), 'no second copy of packages, no spool');
    assert.equal(fs.statSync(path.join(backupDir, 'log-key')).mode & 0o777, 0o600);

    const r = await provena(['restore', backupDir, '--data', restoredDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.statSync(path.join(restoredDir, 'log-key')).mode & 0o777, 0o600);
    restored = await startServer({ dataDir: restoredDir, args: ['--trusted-root', rootFile] });
    assert.doesNotMatch(restored.output(), /generated/, 'the restored server uses the backed-up log key');
    const after = await capture(restored.url);

    assert.equal(after.key, before.key);
    assert.equal(after.checkpoint, before.checkpoint, 'the same signed checkpoint (size and root)');
    assert.deepEqual([...after.files.keys()], [...before.files.keys()]);
    for (const [p, bytes] of before.files) assert.ok(bytes.equals(after.files.get(p)!), `${p} is byte-identical`);
    assert.deepEqual(after.shardIndexes, before.shardIndexes);
    const lateRes = await fetch(`${restored.url}/beta/linux-64/late-1.0-0.conda`);
    assert.equal(lateRes.status, 404, 'the upload committed after the snapshot is not in the restore');

    // the monitor that followed the old server finds the restored log consistent with what it trusted
    const monitorNew = await provena(['log', 'monitor', restored.url, '--state', stateFile]);
    assert.equal(monitorNew.code, 0, monitorNew.stderr);
    assert.match(monitorNew.stdout, /consistent/);
    // and the restored log goes on: a new upload, the monitor follows it
    const next = await makePackage({ name: 'after', version: '1.0', build: '0', subdir: 'linux-64', format: '.conda' });
    assert.equal((await uploadRaw(restored, 'beta', 'after-1.0-0.conda', next, { token: ADMIN_TOKEN })).status, 201);
    const monitorNext = await provena(['log', 'monitor', restored.url, '--state', stateFile]);
    assert.equal(monitorNext.code, 0, monitorNext.stderr);
  });

  it('drops generated repodata newer than the snapshot and has the restored server rebuild it', async () => {
    assert.ok(restored, 'runs after the restore test');
    const live = restored!;
    const want = await get(live.url, '/beta/linux-64/repodata.json');
    // as if the subdir's repodata had been rewritten between the snapshot and the copy
    const file = path.join(live.dataDir, 'blobs/channels/beta/linux-64/repodata.json');
    const original = fs.readFileSync(file);
    fs.writeFileSync(file, '{"packages":{},"packages.conda":{"newer-1-0.conda":{}}}');
    const again = path.join(tmp, 'again');
    const res = await provena(['backup', again, '--data', live.dataDir]);
    fs.writeFileSync(file, original);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /repodata of beta\/linux-64 changed during the backup/);
    const listed = JSON.parse(fs.readFileSync(path.join(again, 'manifest.json'), 'utf8')).files.map((f: { path: string }) => f.path);
    assert.ok(!listed.includes('blobs/channels/beta/linux-64/repodata.json'), 'the newer copy is dropped');
    assert.ok(listed.includes('blobs/channels/alpha/linux-64/repodata.json'), 'unchanged subdirs keep theirs');
    const dir = path.join(tmp, 'again-restored');
    assert.equal((await provena(['restore', again, '--data', dir])).code, 0);
    const third = await startServer({ dataDir: dir, args: ['--trusted-root', rootFile] });
    try {
      assert.ok((await get(third.url, '/beta/linux-64/repodata.json')).equals(want), 'rebuilt from the records');
    } finally {
      await third.stop();
    }
  });

  it('refuses a corrupt backup, naming the file, and writes nothing', async () => {
    const bad = path.join(tmp, 'bad');
    fs.cpSync(backupDir, bad, { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(bad, 'manifest.json'), 'utf8'));
    const blob = manifest.files.find((f: { path: string }) => f.path.startsWith('blobs/pkgs/')).path as string;
    const file = path.join(bad, blob);
    fs.chmodSync(file, 0o644);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length >> 1] ^= 1;
    fs.writeFileSync(file, bytes);
    const target = path.join(tmp, 'from-bad');
    const r = await provena(['restore', bad, '--data', target]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`backup file ${blob} is corrupt`));
    assert.equal(fs.existsSync(target), false, 'nothing written');

    fs.writeFileSync(file, Buffer.alloc(0));
    const truncated = await provena(['restore', bad, '--data', target]);
    assert.match(truncated.stderr, /is corrupt/);
    fs.rmSync(file);
    const missing = await provena(['restore', bad, '--data', target]);
    assert.match(missing.stderr, new RegExp(`backup file ${blob} is missing`));
    assert.equal(fs.existsSync(target), false);

    const extra = path.join(tmp, 'extra');
    fs.cpSync(backupDir, extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'blobs', 'intruder'), 'x');
    const added = await provena(['restore', extra, '--data', target]);
    assert.equal(added.code, 1);
    assert.match(added.stderr, /blobs\/intruder is not in the manifest/);

    const noManifest = path.join(tmp, 'no-manifest');
    fs.cpSync(backupDir, noManifest, { recursive: true });
    fs.rmSync(path.join(noManifest, 'manifest.json'));
    const incomplete = await provena(['restore', noManifest, '--data', target]);
    assert.equal(incomplete.code, 2);
    assert.match(incomplete.stderr, /has no manifest.json/);
    assert.equal(fs.existsSync(target), false);
  });

  it('refuses a non-empty restore target and a non-empty backup destination', async () => {
    const busy = path.join(tmp, 'busy');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'keep.txt'), 'mine');
    const r = await provena(['restore', backupDir, '--data', busy]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /exists and is not empty/);
    assert.deepEqual(fs.readdirSync(busy), ['keep.txt']);

    const b = await provena(['backup', busy, '--data', server.dataDir]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /exists and is not empty/);
    assert.deepEqual(fs.readdirSync(busy), ['keep.txt']);
  });

  it('keeps only the log tiles inside the snapshot and never the generated or temporary files', () => {
    assert.equal(isBackedUp('blobs/log/tile/0/000.p/5', 5), true);
    assert.equal(isBackedUp('blobs/log/tile/0/000.p/6', 5), false, 'a tile past the snapshot');
    assert.equal(isBackedUp('blobs/log/tile/0/000', 300), true);
    assert.equal(isBackedUp('blobs/log/tile/0/001', 300), false, 'a full tile the snapshot has not reached');
    assert.equal(isBackedUp('blobs/log/tile/entries/000.p/7', 5), false);
    assert.equal(isBackedUp('blobs/log/tile/1/000.p/1', 256), true);
    assert.equal(isBackedUp('blobs/log/tile/1/000.p/1', 255), false);
    assert.equal(isBackedUp('blobs/log/checkpoint', 5), false);
    assert.equal(isBackedUp('blobs/channels/a/noarch/repodata.json', 5), true);
    assert.equal(isBackedUp('blobs/channels/a/noarch/x-1-0.conda', 5), false, 'a static copy of a package blob');
    assert.equal(isBackedUp('blobs/channels/a/noarch/x-1-0.tar.bz2.sigs', 5), false);
    assert.equal(isBackedUp('blobs/pkgs/sha256/ab/.tmp-123', 5), false);
    assert.equal(isBackedUp('provena.sqlite-wal', 5), false);
    assert.equal(isBackedUp('tmp/upload-1', 5), false);
    assert.equal(isBackedUp('blobs/pkgs/sha256/ab/ab12', 5), true);
    assert.equal(isBackedUp('log-key', 5), true);
  });
});
