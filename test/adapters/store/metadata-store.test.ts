// The metadata store's contract, run on SQLite and on the machine's PostgreSQL with the same queries:
// what a row holds comes back the same (numbers, not strings; booleans; order), and every
// insert-if-absent decides a race exactly once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KyselyStore } from '../../../src/adapters/store/kysely-store.ts';
import type { StoredPackage } from '../../../src/core/channel/model.ts';
import { LogSequencer } from '../../../src/core/tlog/sequencer.ts';
import { treeRoot } from '../../../src/core/tlog/stored-hashes.ts';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { hashEquals } from '../../../src/core/tlog/hashing.ts';
import { STORE_KINDS } from '../../support/pg.ts';
import { publishEntry } from '../../tlog-server/log-fixture.ts';

function pkg(filename: string, over: Partial<StoredPackage> = {}): StoredPackage {
  const [name, version, build] = filename.replace(/\.conda$/, '').split('-') as [string, string, string];
  return {
    channel: 'main',
    subdir: 'noarch',
    filename,
    sha256: (filename.length.toString(16) + 'ab').repeat(32).slice(0, 64),
    md5: 'cd'.repeat(16),
    // beyond 32 bits: a bigint column that must come back as the same number
    size: 5_000_000_123,
    record: { name, version, build, build_number: 0, depends: [], subdir: 'noarch' } as unknown as StoredPackage['record'],
    about: { summary: 's' },
    uploadedAt: '2026-01-02T03:04:05.000Z',
    uploadedBy: 'admin',
    attestationsSha256: null,
    ...over,
  };
}

async function withStore(kind: (typeof STORE_KINDS)[number], fn: (store: KyselyStore) => Promise<void>): Promise<void> {
  const { store, cleanup } = await kind.open();
  try {
    await fn(store);
  } finally {
    await cleanup();
  }
}

for (const kind of STORE_KINDS) {
  describe(`metadata store on ${kind.name}`, () => {
    test('channels: create once, booleans and order read back the same', () =>
      withStore(kind, async (store) => {
        const at = '2026-01-01T00:00:00.000Z';
        assert.equal(await store.channels.create({ name: 'main', private: false, requireAttestations: true, createdAt: at }), true);
        assert.equal(await store.channels.create({ name: 'main', private: true, requireAttestations: false, createdAt: at }), false, 'the second create of a name loses');
        await store.channels.create({ name: 'a-b', private: true, requireAttestations: false, createdAt: at });
        await store.channels.create({ name: 'ab', private: false, requireAttestations: false, createdAt: at });
        const main = await store.channels.get('main');
        assert.equal(main?.private, false);
        assert.equal(main?.requireAttestations, true);
        assert.deepEqual((await store.channels.list()).map((c) => c.name), ['a-b', 'ab', 'main']);
        assert.equal((await store.channels.update('main', { private: true }))?.private, true);
      }));

    test('packages: inserted, exists, replaced, removed; sizes are numbers; a race has one winner', () =>
      withStore(kind, async (store) => {
        await store.channels.create({ name: 'main', private: false, requireAttestations: false, createdAt: '2026-01-01T00:00:00.000Z' });
        assert.equal(await store.transaction((tx) => tx.packages.insert(pkg('zlib-1.0-0.conda'), { replace: false })), 'inserted');
        assert.equal(await store.transaction((tx) => tx.packages.insert(pkg('zlib-1.0-0.conda'), { replace: false })), 'exists');
        assert.equal(await store.transaction((tx) => tx.packages.insert(pkg('zlib-1.0-0.conda', { md5: 'ef'.repeat(16) }), { replace: true })), 'replaced');
        const got = await store.packages.get('main', 'noarch', 'zlib-1.0-0.conda');
        assert.equal(got?.size, 5_000_000_123);
        assert.equal(typeof got?.size, 'number');
        assert.equal(got?.md5, 'ef'.repeat(16));
        assert.deepEqual(got?.about, { summary: 's' });
        await store.transaction((tx) => tx.packages.insert(pkg('abc-1.0-0.conda'), { replace: false }));
        assert.deepEqual((await store.packages.list('main', 'noarch')).map((p) => p.filename), ['abc-1.0-0.conda', 'zlib-1.0-0.conda']);
        assert.equal(await store.packages.count('main'), 2);
        assert.equal(typeof (await store.packages.count('main')), 'number');
        assert.ok(await store.packages.isReferenced(pkg('abc-1.0-0.conda').sha256));

        assert.equal((await store.transaction((tx) => tx.packages.remove('main', 'noarch', 'abc-1.0-0.conda')))?.filename, 'abc-1.0-0.conda');
        assert.deepEqual(await store.packages.removed('main', 'noarch'), ['abc-1.0-0.conda']);
        assert.deepEqual(await store.packages.subdirs('main'), ['noarch']);

        // 12 transactions insert one filename at once: the primary key lets exactly one in
        const outcomes = await Promise.all(
          Array.from({ length: 12 }, (_, i) => store.transaction((tx) => tx.packages.insert(pkg('race-1.0-0.conda', { uploadedBy: `key:${i}` }), { replace: false }))),
        );
        assert.deepEqual(outcomes.filter((o) => o === 'inserted').length, 1);
        assert.deepEqual(outcomes.filter((o) => o === 'exists').length, 11);
        // forced uploads of one new filename at once: one inserts it, the rest replace it
        const forced = await Promise.all(
          Array.from({ length: 8 }, (_, i) => store.transaction((tx) => tx.packages.insert(pkg('forced-1.0-0.conda', { uploadedBy: `key:${i}` }), { replace: true }))),
        );
        assert.deepEqual([...forced].sort(), ['inserted', ...Array(7).fill('replaced')]);
      }));

    test('keys and Trusted Publishing: a jti is claimed once, times compare as times, revocation once', () =>
      withStore(kind, async (store) => {
        await store.channels.create({ name: 'main', private: false, requireAttestations: false, createdAt: '2026-01-01T00:00:00.000Z' });
        const claims = await Promise.all(Array.from({ length: 10 }, () => store.trustedPublishing.claimJti('https://issuer.test', 'jti-1', '2026-01-01T00:10:00.000Z')));
        assert.equal(claims.filter(Boolean).length, 1, 'exactly one claim of a jti succeeds');
        await store.trustedPublishing.claimJti('https://issuer.test', 'jti-2', '2026-01-01T00:20:00.000Z');
        await store.trustedPublishing.purge('2026-01-01T00:15:00.000Z', '2026-01-01T00:00:00.000Z');
        assert.equal(await store.trustedPublishing.claimJti('https://issuer.test', 'jti-1', '2026-01-01T00:10:00.000Z'), true, 'purged: expired before the cut-off');
        assert.equal(await store.trustedPublishing.claimJti('https://issuer.test', 'jti-2', '2026-01-01T00:20:00.000Z'), false, 'kept: expires after the cut-off');

        const token = {
          id: 't1',
          issuer: 'https://issuer.test',
          grants: [{ channel: 'main', publisherId: 'p1' }],
          identity: { kind: 'github', id: 'p1' } as never,
          createdAt: '2026-01-01T00:00:00.000Z',
          expiresAt: '2026-01-01T00:15:00.000Z',
        };
        await store.trustedPublishing.createToken(token, 'h'.repeat(64));
        assert.deepEqual(await store.trustedPublishing.findToken('h'.repeat(64)), token);

        const key = { id: 'k1', channel: 'main', scope: 'upload' as const, description: null, createdAt: '2026-01-01T00:00:00.000Z', expiresAt: null, revokedAt: null };
        await store.keys.create(key, 's'.repeat(64));
        assert.deepEqual(await store.keys.findBySecretHash('s'.repeat(64)), key);
        const revokes = await Promise.all([store.keys.revoke('k1', '2026-01-02T00:00:00.000Z'), store.keys.revoke('k1', '2026-01-02T00:00:00.000Z')]);
        assert.deepEqual(revokes.filter(Boolean).length, 1);
      }));

    test('log: concurrent appends take consecutive indexes; a rollback gives its index back; one checkpoint per size', () =>
      withStore(kind, async (store) => {
        // a public channel: its entries are logged in full
        await store.channels.create({ name: 'main', private: false, requireAttestations: false, createdAt: '2026-01-01T00:00:00.000Z' });
        const seq = new LogSequencer();
        const indexes = await Promise.all(Array.from({ length: 60 }, () => store.transaction((tx) => seq.append(tx, publishEntry()))));
        assert.deepEqual([...indexes].sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i));
        await assert.rejects(
          store.transaction(async (tx) => {
            await seq.append(tx, publishEntry());
            throw new Error('rolled back');
          }),
          /rolled back/,
        );
        assert.equal(await store.transaction((tx) => seq.append(tx, publishEntry())), 60);
        assert.equal(await store.log.size(), 61);
        const rebuilt = TreeAppender.empty();
        for (const e of await store.log.entries(0, 61)) rebuilt.appendEntry(e);
        assert.ok(hashEquals(await treeRoot(61, store.log), rebuilt.root()));
        assert.equal(await store.log.latestEntryFor({ ...subjectOf(await store.log.entries(7, 8)) }), 7);

        const cp = { size: 61, root: rebuilt.root(), note: 'note A', createdAt: '2026-01-01T00:00:00.000Z' };
        await store.log.addCheckpoint(cp);
        await store.log.addCheckpoint({ ...cp, note: 'note B' });
        const latest = await store.log.latestCheckpoint();
        assert.equal(latest?.size, 61);
        assert.equal(latest?.note, 'note A', 'the first checkpoint of a size stays');
      }));
  });
}

function subjectOf(entries: Uint8Array[]) {
  const e = JSON.parse(new TextDecoder().decode(entries[0]!)) as Record<string, string | null>;
  return { channel: e.channel!, subdir: e.subdir ?? null, filename: e.filename ?? null, sha256: e.sha256 ?? null, action: e.action! };
}
