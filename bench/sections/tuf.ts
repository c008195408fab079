/**
 * Issue 10: what signed repodata (TUF) costs the server, in one process on a real SQLite store and
 * file blob store:
 *  - per upload: new targets + snapshot + timestamp signed, committed (compare-and-set, log entry) and
 *    published to the blob store (`channels/NAME/tuf/`, what a bucket reader serves) for one changed
 *    subdir, next to a bare ed25519 signature of a targets-sized document;
 *  - per scheduled refresh: a new timestamp signed, committed and published, next to the same bare
 *    signature;
 *  - the hash-named copy of a big repodata.json (consistent snapshots), next to writing the same
 *    bytes once (what the repodata publisher itself does per version).
 * Signing never reads repodata: metadata holds a sha256 and a length per file, so its cost depends on
 * the number of subdirs (targets entries), not on records; the copy is linear in the file's size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import { KeyDirKeyring } from '../../src/adapters/tuf/key-dir.ts';
import { channelFileKey, type PublishedChannelFile } from '../../src/core/channel/ports.ts';
import { DEFAULT_EXPIRY } from '../../src/core/tuf/metadata.ts';
import { pinTarget } from '../../src/core/tuf/target-copies.ts';
import { TufService } from '../../src/core/tuf/tuf-service.ts';
import type { BenchContext } from '../lib/context.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';

const SUBDIRS = ['noarch', 'linux-64', 'linux-aarch64', 'osx-64', 'osx-arm64', 'win-64'];

export const tufSection: Section = {
  id: 'tuf',
  title: 'Signed repodata (TUF): metadata signing per upload and per timestamp refresh',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const quick = ctx.config.rounds === 1 && ctx.config.wrkDurationSec <= 2;
    const perRound = quick ? 10 : 60;
    const rounds = quick ? 2 : 5;
    const records = quick ? 20_000 : 1_000_000;
    const s = newSection(this.id, this.title, 'bare ed25519 sign / one plain write');
    const dir = fs.mkdtempSync(path.join(ctx.tmpRoot, 'tuf-'));
    const store = new KyselyStore(openSqlite(path.join(dir, 'provena.sqlite')));
    await store.migrate();
    const blobs = new FsBlobStore(path.join(dir, 'blobs'));
    let fakeNow = Date.now();
    const spool = { path: () => path.join(dir, `spool-${randomBytes(6).toString('hex')}`) };
    const tuf = new TufService({
      store,
      blobs,
      keys: new KeyDirKeyring(path.join(dir, 'keys')),
      // ten seconds pass per call: each refresh finds the 1-second timestamp due (and nothing else)
      clock: { now: () => new Date((fakeNow += 10_000)) },
      spool,
      expiry: { ...DEFAULT_EXPIRY, timestamp: 1 }, // every refresh is due: each call signs a timestamp
      log: { append: async () => 0, prepareReceipt: () => undefined },
    });
    await store.channels.create({ name: 'bench', private: false, requireAttestations: false, createdAt: new Date().toISOString() });

    // every subdir has its four files (small: signing does not read them), copies already pinned
    const filesOf = new Map<string, PublishedChannelFile[]>();
    for (const subdir of SUBDIRS) {
      const files: PublishedChannelFile[] = [];
      for (const f of ['repodata.json', 'repodata.json.zst', 'current_repodata.json', 'repodata_shards.msgpack.zst']) {
        const bytes = Buffer.from(`${subdir}/${f} ${randomBytes(16).toString('hex')}`);
        const key = channelFileKey('bench', subdir, f);
        await blobs.putBytes(key, bytes);
        files.push({ path: f, key, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
      }
      filesOf.set(subdir, files);
      await tuf.subdirPublished('bench', subdir, files);
    }
    const targetsDoc = (await store.tuf.document('bench', 'targets', (await store.tuf.state('bench'))!.versions.targets))!;
    const { privateKey } = generateKeyPairSync('ed25519');
    const bare = () => sign(null, Buffer.from(targetsDoc), privateKey);

    let i = 0;
    const upload = async () => {
      const subdir = SUBDIRS[i++ % SUBDIRS.length]!;
      await tuf.subdirPublished('bench', subdir, filesOf.get(subdir)!);
    };
    const refresh = async () => {
      await tuf.refresh('bench');
    };
    let best = { upload: Infinity, refresh: Infinity, bare: Infinity };
    for (let r = 0; r < rounds; r++) {
      best = {
        upload: Math.min(best.upload, await timeEach(upload, perRound)),
        refresh: Math.min(best.refresh, await timeEach(refresh, perRound)),
        bare: Math.min(best.bare, await timeEach(async () => void bare(), perRound)),
      };
    }
    ctx.log(`tuf: upload ${best.upload.toFixed(2)} ms, refresh ${best.refresh.toFixed(2)} ms, bare sign ${best.bare.toFixed(3)} ms`);
    s.setup.push(
      `${SUBDIRS.length} subdirs × 4 targets; ${rounds} rounds of ${perRound} calls each, best round kept; SQLite file, fs blobs`,
      'per upload: TufService.subdirPublished (copies pinned already): targets + snapshot + timestamp signed, CAS commit, published to blobs (channels/NAME/tuf/), prune, copy GC',
      'per refresh: TufService.refresh with the timestamp due: one timestamp signed, committed and published; root expiry checked',
      `baseline: one bare ed25519 signature (node:crypto) over the ${targetsDoc.length}-byte targets document`,
    );
    s.rows.push(
      makeRow('ms of TUF work per upload', 'ms', best.upload, best.bare, null, false),
      makeRow('ms per scheduled timestamp refresh', 'ms', best.refresh, best.bare, null, false),
    );

    // the one size-dependent part: the hash-named copy of a big repodata.json
    const big = path.join(dir, 'big-repodata.json');
    const bytes = await writeBigRepodata(big, records);
    const sha256 = await sha256File(big);
    const from = channelFileKey('bench', 'linux-64', 'repodata.json');
    await blobs.putFile(from, big);
    // baseline: the same bytes read and written once, no hashing, no blob API
    const t0 = performance.now();
    await pipeline(fs.createReadStream(path.join(dir, 'blobs', from)), fs.createWriteStream(path.join(dir, 'plain-copy')));
    const plain = performance.now() - t0;
    const t1 = performance.now();
    const pinned = await pinTarget(blobs, spool, from, `tuf/bench/targets/linux-64/${sha256}.repodata.json`, sha256);
    const copy = performance.now() - t1;
    if (!pinned) throw new Error('the big repodata was not pinned');
    s.setup.push(`copy: a synthetic repodata.json of ${records.toLocaleString('en')} records (${(bytes / 1e6).toFixed(0)} MB), hashed while copied; baseline: the same bytes streamed to a new file`);
    s.rows.push(makeRow(`ms to pin repodata.json of ${records.toLocaleString('en')} records`, 'ms', copy, plain, null, false));
    s.rows.push(makeRow('pin copy ÷ plain copy of the same file', '×', copy / plain, null, null));
    await store.close();
    return s;
  },
};

async function timeEach(fn: () => Promise<void>, n: number): Promise<number> {
  const t0 = performance.now();
  for (let k = 0; k < n; k++) await fn();
  return (performance.now() - t0) / n;
}

/** A repodata.json shaped like conda-index's, written in chunks (never held in memory whole). */
async function writeBigRepodata(file: string, records: number): Promise<number> {
  const out = fs.createWriteStream(file);
  const write = (s: string) => new Promise<void>((resolve) => (out.write(s) ? resolve() : out.once('drain', () => resolve())));
  await write('{"info":{"subdir":"linux-64"},"packages":{},"packages.conda":{');
  let chunk = '';
  for (let n = 0; n < records; n++) {
    const sha = createHash('sha256').update(String(n)).digest('hex');
    chunk += `${n ? ',' : ''}"pkg${n}-1.0-h0_0.conda":{"build":"h0_0","build_number":0,"depends":["python >=3.8"],"license":"MIT","md5":"${sha.slice(0, 32)}","name":"pkg${n}","sha256":"${sha}","size":12345,"subdir":"linux-64","timestamp":1700000000000,"version":"1.0"}`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(`${chunk}},"removed":[],"repodata_version":1}`);
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return fs.statSync(file).size;
}

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
