/**
 * End to end with a real client: the files Provena writes for a small channel (python 3.9, packaging
 * and their dependency tree, real conda-forge records for linux-64 and noarch) are served from
 * 127.0.0.1 and solved by rattler, once through sharded repodata and once through repodata.json.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleSolve, type SolvedPackage } from '@conda-org/rattler';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { subdirFiles, type ChannelFile } from '../../../src/core/repodata/channel-files.ts';
import { readRepodata, withoutLocationFields } from './shared-repodata.ts';

const SUBDIRS = ['linux-64', 'noarch'] as const;
const ROOTS = ['packaging', 'python'];
const SPECS = ['packaging', 'python 3.9.*'];

interface Subdir {
  packages: Record<string, PackageRecord>;
  packagesConda: Record<string, PackageRecord>;
}

/** The records of ROOTS and everything their dependencies name, in both subdirs. */
function smallChannel(): Record<string, Subdir> {
  const full = Object.fromEntries(
    SUBDIRS.map((s) => {
      const raw = readRepodata(`conda-forge-subchannel-py39_${s}_repodata.json`);
      return [s, { packages: withoutLocationFields(raw.packages), packagesConda: withoutLocationFields(raw['packages.conda']!) }];
    }),
  ) as Record<string, Subdir>;
  const all = SUBDIRS.flatMap((s) => [...Object.values(full[s]!.packages), ...Object.values(full[s]!.packagesConda)]);
  const names = new Set<string>();
  const queue = [...ROOTS];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (names.has(name)) continue;
    names.add(name);
    for (const r of all) if (r.name === name) for (const dep of r.depends ?? []) queue.push(dep.split(/[\s=<>!~]/)[0]!);
  }
  const pick = (records: Record<string, PackageRecord>) =>
    Object.fromEntries(Object.entries(records).filter(([, r]) => names.has(r.name)));
  return Object.fromEntries(SUBDIRS.map((s) => [s, { packages: pick(full[s]!.packages), packagesConda: pick(full[s]!.packagesConda) }]));
}

interface StaticServer {
  url: string;
  requests: { path: string; status: number }[];
  close(): Promise<void>;
}

async function serve(root: string): Promise<StaticServer> {
  const requests: { path: string; status: number }[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(root, path));
    const reply = (status: number, body?: Buffer) => {
      requests.push({ path, status });
      res.statusCode = status;
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (!file.startsWith(root)) return reply(404);
    readFile(file).then(
      (body) => reply(200, body),
      () => reply(404),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function writeChannel(root: string, files: ChannelFile[]): Promise<void> {
  for (const file of files) {
    await mkdir(dirname(join(root, file.path)), { recursive: true });
    await writeFile(join(root, file.path), file.bytes);
  }
}

const summary = (solved: SolvedPackage[]) => solved.map((p) => `${p.subdir}/${p.filename} ${p.sha256}`).sort();

describe('rattler solves against Provena-written channel files', () => {
  const channel = smallChannel();
  const records = new Map<string, PackageRecord>();
  for (const s of SUBDIRS) for (const [fn, r] of Object.entries({ ...channel[s]!.packages, ...channel[s]!.packagesConda })) records.set(`${s}/${fn}`, r);
  const files = SUBDIRS.flatMap((s) => subdirFiles({ subdir: s, ...channel[s]!, createdAt: new Date('2024-05-09T00:00:00Z') }));
  let withShards: string;
  let withoutShards: string;

  before(async () => {
    withShards = await mkdtemp(join(tmpdir(), 'provena-shards-'));
    withoutShards = await mkdtemp(join(tmpdir(), 'provena-json-'));
    await writeChannel(withShards, files);
    await writeChannel(
      withoutShards,
      files.filter((f) => !f.path.includes('/shards/') && !f.path.endsWith('repodata_shards.msgpack.zst')),
    );
  });
  after(async () => {
    await rm(withShards, { recursive: true, force: true });
    await rm(withoutShards, { recursive: true, force: true });
  });

  let shardedResult: SolvedPackage[];
  let jsonResult: SolvedPackage[];

  it('has a channel of a few hundred real records', () => {
    assert.ok(records.size > 200, `${records.size} records`);
  });

  it('solves through sharded repodata when it is offered, never touching repodata.json', async () => {
    const server = await serve(withShards);
    try {
      shardedResult = await simpleSolve(SPECS, [server.url], ['linux-64', 'noarch'], undefined);
    } finally {
      await server.close();
    }
    const ok = server.requests.filter((r) => r.status === 200).map((r) => r.path);
    assert.ok(ok.includes('/linux-64/repodata_shards.msgpack.zst') && ok.includes('/noarch/repodata_shards.msgpack.zst'));
    assert.ok(ok.filter((p) => p.includes('/shards/')).length >= 10, 'fetched shards');
    assert.deepEqual(server.requests.filter((r) => r.path.includes('repodata.json')), []);
    assertSensible(shardedResult, server.url);
  });

  it('solves through repodata.json(.zst) when there are no shards', async () => {
    const server = await serve(withoutShards);
    try {
      jsonResult = await simpleSolve(SPECS, [server.url], ['linux-64', 'noarch'], undefined);
    } finally {
      await server.close();
    }
    const paths = server.requests.map((r) => `${r.status} ${r.path}`);
    assert.ok(paths.includes('404 /linux-64/repodata_shards.msgpack.zst'), paths.join('\n'));
    assert.ok(paths.includes('200 /linux-64/repodata.json.zst') && paths.includes('200 /noarch/repodata.json.zst'), paths.join('\n'));
    assertSensible(jsonResult, server.url);
  });

  it('gives the same solution both ways', () => {
    assert.ok(shardedResult !== undefined && jsonResult !== undefined, 'both solves ran');
    assert.deepEqual(summary(shardedResult), summary(jsonResult));
  });

  function assertSensible(solved: SolvedPackage[], url: string): void {
    const byName = new Map(solved.map((p) => [p.packageName, p]));
    assert.match(byName.get('python')?.version ?? '', /^3\.9\./);
    assert.ok(byName.has('packaging') && byName.has('openssl') && byName.has('libzlib'));
    for (const p of solved) {
      const record = records.get(`${p.subdir}/${p.filename}`);
      assert.ok(record !== undefined, `${p.subdir}/${p.filename} comes from the channel`);
      assert.equal(p.sha256, record.sha256);
      assert.equal(p.md5, record.md5);
      assert.equal(p.url, `${url}${p.subdir}/${p.filename}`);
    }
  }
});
