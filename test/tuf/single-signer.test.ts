// Two replicas signing one channel's metadata at once: the compare-and-set on the serial lets one
// commit per version, so no two different snapshot.json (or targets, timestamp) of one version exist,
// and every upload's targets survive. On SQLite (two signers, one file) and PostgreSQL (two pools).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KeyDirKeyring } from '../../src/adapters/tuf/key-dir.ts';
import type { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { channelFileKey } from '../../src/core/channel/ports.ts';
import type { ChangeLog } from '../../src/core/channel/log-entries.ts';
import type { LogEntry } from '../../src/core/tlog/entry.ts';
import { DEFAULT_EXPIRY, parseSnapshot, parseTargets, parseTimestamp } from '../../src/core/tuf/metadata.ts';
import { TufService } from '../../src/core/tuf/tuf-service.ts';
import { tempSqliteStore } from '../support/sqlite-store.ts';
import { tempPgStore } from '../support/pg.ts';

/** Records what would be logged, in the signing transaction (the log itself is tested elsewhere). */
function recordingLog(entries: LogEntry[]): ChangeLog {
  return { append: async (_tx, e) => entries.push(e) - 1, prepareReceipt: () => undefined };
}

async function race(stores: [KyselyStore, KyselyStore]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provena-tuf-race-'));
  const blobs = new FsBlobStore(path.join(dir, 'blobs'));
  const keys = path.join(dir, 'keys');
  const spool = { path: () => path.join(dir, `spool-${randomBytes(6).toString('hex')}`) };
  const logged: LogEntry[] = [];
  await stores[0].channels.create({ name: 'demo', private: false, requireAttestations: false, createdAt: new Date().toISOString() });
  const replicas = stores.map(
    (store) => new TufService({ store, blobs, keys: new KeyDirKeyring(keys), clock: { now: () => new Date() }, spool, expiry: DEFAULT_EXPIRY, log: recordingLog(logged) }),
  );
  // both replicas bootstrap the channel at once: one root v1 wins
  await Promise.all(replicas.map((r) => r.document('demo', 'root.json')));
  const subdirs = ['linux-64', 'osx-64', 'noarch', 'win-64', 'osx-arm64', 'linux-aarch64'];
  await Promise.all(
    subdirs.map(async (subdir, i) => {
      const bytes = Buffer.from(`{"info":{"subdir":"${subdir}"},"packages":{},"packages.conda":{}}`);
      const key = channelFileKey('demo', subdir, 'repodata.json');
      await blobs.putBytes(key, bytes);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await replicas[i % 2]!.subdirPublished('demo', subdir, [{ path: 'repodata.json', key, sha256, size: bytes.length }]);
    }),
  );
  await Promise.all(replicas.map((r) => r.refresh('demo')));

  const state = (await stores[0].tuf.state('demo'))!;
  const targets = parseTargets((await stores[0].tuf.document('demo', 'targets', state.versions.targets))!);
  assert.deepEqual(Object.keys(targets.signed.targets).sort(), subdirs.map((s) => `${s}/repodata.json`).sort(), 'no upload lost to the race');
  // the version chain is whole: every snapshot names the targets of the version before it, once
  for (let v = 1; v <= state.versions.snapshot; v++) {
    const snap = parseSnapshot((await stores[0].tuf.document('demo', 'snapshot', v))!);
    assert.equal(snap.signed.version, v);
  }
  const ts = parseTimestamp((await stores[0].tuf.document('demo', 'timestamp', state.versions.timestamp))!);
  assert.equal(ts.signed.snapshotMeta.version, state.versions.snapshot);
  assert.equal(logged.filter((e) => e.action === 'repodata_publish').length, subdirs.length, 'one log entry per repodata version');
  assert.equal(state.versions.root, 1);

  // the published objects (what the server and a bucket reader serve) are the newest state's, though
  // both replicas published at once: nobody's older timestamp.json stayed on top
  const published = async (file: string) => {
    const h = await blobs.open(channelFileKey('demo', 'tuf', file));
    assert.ok(h, `channels/demo/tuf/${file} is published`);
    const chunks: Buffer[] = [];
    for await (const c of h.stream()) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  const v = state.versions;
  assert.equal(await published('timestamp.json'), await stores[0].tuf.document('demo', 'timestamp', v.timestamp));
  assert.equal(await published('root.json'), await stores[0].tuf.document('demo', 'root', v.root));
  assert.equal(await published(`${v.snapshot}.snapshot.json`), await stores[0].tuf.document('demo', 'snapshot', v.snapshot));
  assert.equal(await published(`${v.targets}.targets.json`), await stores[0].tuf.document('demo', 'targets', v.targets));
  assert.equal(await published('1.root.json'), await stores[0].tuf.document('demo', 'root', 1));
}

test('two signers on one SQLite file commit one document per version', async () => {
  const { store } = await tempSqliteStore();
  try {
    await race([store, store]);
  } finally {
    await store.close();
  }
});

test('two replicas on PostgreSQL commit one document per version', async () => {
  const { store, pg, open } = await tempPgStore();
  const second = open();
  try {
    await race([store, second]);
  } finally {
    await second.close();
    await store.close();
    await pg.drop();
  }
});
