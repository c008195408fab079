/**
 * Issue 3: upload throughput with a CEP-27 attestation vs without. One server (createApp, real SQLite file
 * and blob directory, listening on 127.0.0.1, uploads over keep-alive HTTP from the same process) with two channels
 * that differ only in their Trusted Publisher; the same packages go to both, one at a time, alternating which
 * goes first: to `signed` as multipart with the package's bundle (verified: Sigstore crypto, statement,
 * publisher; then stored with its sidecars), to `plain` as the same multipart without it.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { FsBlobStore } from '../../src/adapters/blobs/fs/fs-blob-store.ts';
import { KyselyStore } from '../../src/adapters/store/kysely-store.ts';
import { openSqlite } from '../../src/adapters/store/sqlite/open-sqlite.ts';
import { buildTrustRoot } from '../../src/core/attest/trust-root.ts';
import { generateSignerKey } from '../../src/core/tlog/note-keys.ts';
import { startSigstoreStack } from '../../test/support/sigstore-stack/index.ts';
import { multipartBody } from '../../test/support/upload.ts';
import { writeBigConda } from '../lib/big-package.ts';
import type { BenchContext } from '../lib/context.ts';

const ADMIN = 'bench-admin-token-0123456789abcdef';
const GITHUB = 'https://token.actions.githubusercontent.com';

interface Pkg {
  filename: string;
  bytes: Buffer;
  /** signed for the `signed` channel */
  bundle: string;
}

export interface UploadThroughput {
  setup: string[];
  /** uploads/s, best round */
  with: number;
  without: number;
  rounds: { with: number; without: number }[];
}

export async function measureUploadThroughput(ctx: BenchContext, quick: boolean): Promise<UploadThroughput> {
  const perRound = quick ? 10 : 40;
  const rounds = quick ? 2 : 3;
  const dir = join(ctx.tmpRoot, 'attest-upload');
  const stack = await startSigstoreStack();
  let pkgs: Pkg[];
  let rootJson: unknown;
  let server: Awaited<ReturnType<typeof openServer>> | undefined;
  try {
    rootJson = JSON.parse(stack.trustedRootJson);
    server = await openServer(join(dir, 'server'), rootJson);
    const channelUrl = `${server.url}/signed`;
    pkgs = await makePackages(join(dir, 'pkgs'), perRound * rounds, (filename, sha256) =>
      stack.signAttestation({ filename, sha256, targetChannel: channelUrl, identity: 'github', tokenOverrides: { iss: GITHUB } }),
    );
  } catch (e) {
    await server?.close();
    throw e;
  } finally {
    await stack.close();
  }
  const result: UploadThroughput = {
    setup: [
      `upload throughput: ${rounds} rounds of ${perRound} small .conda packages (~20 kB), each to channel \`signed\` with its bundle (local-stack v0.3 DSSE, Rekor v1 + RFC 3161) and to \`plain\` without, one at a time, alternating; best round kept`,
      'same server (createApp on 127.0.0.1, SQLite + blob files, transparency log on), same multipart body apart from the `attestation` part; bundles signed before timing',
    ],
    with: 0,
    without: 0,
    rounds: [],
  };
  try {
    for (let r = 0; r < rounds; r++) {
      const busy = { with: 0, without: 0 };
      for (const [i, p] of pkgs.slice(r * perRound, (r + 1) * perRound).entries()) {
        for (const v of i % 2 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
          const t0 = performance.now();
          await server!.upload(p, v === 'with');
          busy[v] += performance.now() - t0;
        }
      }
      const round = { with: perRound / (busy.with / 1000), without: perRound / (busy.without / 1000) };
      ctx.log(`attest upload round ${r + 1}: with attestation ${round.with.toFixed(1)}, without ${round.without.toFixed(1)} uploads/s`);
      result.rounds.push(round);
      result.with = Math.max(result.with, round.with);
      result.without = Math.max(result.without, round.without);
    }
  } finally {
    await server!.close();
  }
  return result;
}

async function makePackages(dir: string, n: number, sign: (filename: string, sha256: string) => Promise<string>): Promise<Pkg[]> {
  await mkdir(dir, { recursive: true });
  const out: Pkg[] = [];
  for (let i = 0; i < n; i++) {
    const p = await writeBigConda({ dir, sizeBytes: 20_000, name: `attestbench${i}`, seed: `attest-${i}` });
    const bytes = await readFile(p.path);
    out.push({ filename: p.filename, bytes, bundle: await sign(p.filename, createHash('sha256').update(bytes).digest('hex')) });
  }
  return out;
}

async function openServer(dir: string, rootJson: unknown) {
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const store = new KyselyStore(openSqlite(join(dir, 'provena.sqlite')));
  await store.migrate();
  const app: App = createApp({
    store,
    blobs: new FsBlobStore(join(dir, 'blobs')),
    spoolDir: join(dir, 'tmp'),
    adminToken: ADMIN,
    publicUrl: 'http://127.0.0.1:1', // set to the real address once listening
    maxPackageBytes: 1e9,
    log: { key: generateSignerKey('bench.provena.test/log'), origin: 'bench.provena.test/log' },
    trustRoots: [buildTrustRoot(rootJson, 'bench-stack')],
    http: { logger: { level: 'error' } },
  });
  await app.services.log.start();
  const url = (await app.http.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
  app.services.publicUrl = url;
  const post = async (path: string, contentType: string, body: string | Buffer) => {
    const res = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': contentType }, body });
    return { status: res.status, text: await res.text() };
  };
  const admin = async (_method: 'POST', path: string, payload: object) => {
    const res = await post(path, 'application/json', JSON.stringify(payload));
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text.slice(0, 300)}`);
  };
  await admin('POST', '/api/v1/channels', { name: 'signed' });
  await admin('POST', '/api/v1/channels', { name: 'plain' });
  await admin('POST', '/api/v1/channels/signed/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
  return {
    url,
    async upload(p: Pkg, attested: boolean) {
      const channel = attested ? 'signed' : 'plain';
      const { body, contentType } = multipartBody(p.filename, p.bytes, attested ? { attestation: p.bundle } : {});
      const res = await post(`/api/v1/upload/${channel}`, contentType, body);
      if (res.status !== 201) throw new Error(`upload ${p.filename} to ${channel}: ${res.status} ${res.text.slice(0, 300)}`);
      if (attested && !JSON.parse(res.text).attestations_sha256) throw new Error(`upload ${p.filename}: stored without its attestation`);
    },
    async close() {
      await app.http.close();
      await app.services.log.stop();
      await store.close();
    },
  };
}
