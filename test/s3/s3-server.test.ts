import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { simpleSolve } from '@conda-org/rattler';
import { makePackage } from '../support/package-factory.ts';
import { startS3, type RunningS3 } from '../support/s3.ts';
import { ADMIN_TOKEN, api, startServer, type RunningServer } from '../support/server.ts';
import { startSigstoreStack, type SigstoreStack } from '../support/sigstore-stack/index.ts';
import { uploadMultipart, uploadRaw } from '../support/upload.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const GITHUB = 'https://token.actions.githubusercontent.com';
const PREFIX = 'cdn/v1';

/**
 * `provena serve --storage s3://...` on a real S3 API (s3rver): every byte (packages, attestations,
 * repodata, shards, log tiles) goes to the bucket, nothing to DATA/blobs; clients get the same HTTP
 * semantics as on files; and the bucket is itself a static conda channel that a client reads straight
 * from s3rver's own HTTP endpoint, rattler's solver included.
 */
describe('a server on S3 storage', () => {
  let s3: RunningS3;
  let stack: SigstoreStack;
  let server: RunningServer;
  let dataDir: string;
  let rootFile: string;
  const pkgs: Record<string, { bytes: Buffer; subdir: string }> = {};
  let bundle = '';
  /** the bucket read as an anonymous static web server, path-style */
  const staticUrl = (p: string) => `${s3.endpoint}/${s3.bucket}/${PREFIX}/${p}`;
  const objectKeys = async (prefix: string) => {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  };
  const start = (dir?: string) =>
    startServer({ dataDir: dir, args: [...s3.serverArgs(PREFIX), '--trusted-root', rootFile], env: s3.serverEnv() });

  before(async () => {
    s3 = await startS3();
    stack = await startSigstoreStack();
    rootFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'provena-root-')), 'trusted_root.json');
    fs.writeFileSync(rootFile, stack.trustedRootJson);
    server = await start();
    dataDir = server.dataDir;
    for (const name of ['demo', 'gone']) assert.equal((await api(server, 'POST', '/api/v1/channels', { name })).status, 201);
    const pub = await api(server, 'POST', '/api/v1/channels/demo/publishers', { kind: 'github', repository: 'acme/widgets', workflow: 'release.yml' });
    assert.equal(pub.status, 201, JSON.stringify(pub.json));
    const specs = [
      { name: 'libgreet', version: '1.0', build: 'h0_0', subdir: 'linux-64', depends: [] as string[], format: '.conda' as const },
      { name: 'libgreet', version: '2.0', build: 'h0_0', subdir: 'linux-64', depends: [] as string[], format: '.tar.bz2' as const },
      { name: 'greeter', version: '0.3', build: 'h1_0', subdir: 'linux-64', depends: ['libgreet >=1,<2', 'greet-data'], format: '.conda' as const },
      { name: 'greet-data', version: '5', build: 'pyh_0', subdir: 'noarch', depends: [] as string[], noarch: 'generic', format: '.tar.bz2' as const },
    ];
    for (const spec of specs) {
      const bytes = await makePackage(spec);
      const filename = `${spec.name}-${spec.version}-${spec.build}${spec.format}`;
      pkgs[filename] = { bytes, subdir: spec.subdir };
      let res;
      if (filename.startsWith('greeter')) {
        bundle = await stack.signAttestation({
          filename,
          sha256: sha256(bytes),
          targetChannel: `${server.url}/demo`,
          identity: 'github',
          tokenOverrides: { iss: GITHUB },
        });
        res = await uploadMultipart(server, 'demo', filename, bytes, { token: ADMIN_TOKEN, attestation: bundle });
      } else {
        res = await uploadRaw(server, 'demo', filename, bytes, { token: ADMIN_TOKEN });
      }
      assert.equal(res.status, 201, JSON.stringify(res.json));
    }
    const gone = await uploadRaw(server, 'gone', 'libgreet-1.0-h0_0.conda', pkgs['libgreet-1.0-h0_0.conda']!.bytes, { token: ADMIN_TOKEN });
    assert.equal(gone.status, 201);
  });
  after(async () => {
    await server?.stop();
    await stack?.close();
    await s3?.stop();
  });

  it('keeps no blobs in the data directory: everything is in the bucket', async () => {
    const blobsDir = path.join(dataDir, 'blobs');
    assert.equal(fs.existsSync(blobsDir) ? fs.readdirSync(blobsDir).length : 0, 0);
    const keys = await objectKeys(`${PREFIX}/`);
    const sha = sha256(pkgs['greeter-0.3-h1_0.conda']!.bytes);
    assert.ok(keys.includes(`${PREFIX}/_provena/pkgs/sha256/${sha.slice(0, 2)}/${sha}`), keys.join('\n'));
    assert.ok(keys.includes(`${PREFIX}/demo/linux-64/repodata.json`));
    assert.ok(keys.some((k) => k.startsWith(`${PREFIX}/demo/linux-64/shards/`)));
  });

  it('serves packages with a strong ETag, 304, Range and HEAD', async () => {
    const filename = 'libgreet-2.0-h0_0.tar.bz2';
    const { bytes } = pkgs[filename]!;
    const url = `${server.url}/demo/linux-64/${filename}`;
    const full = await fetch(url);
    assert.equal(full.status, 200);
    assert.deepEqual(Buffer.from(await full.arrayBuffer()), bytes);
    const etag = full.headers.get('etag');
    assert.equal(etag, `"${sha256(bytes)}"`);
    assert.equal((await fetch(url, { headers: { 'if-none-match': etag! } })).status, 304);
    const part = await fetch(url, { headers: { range: 'bytes=10-99' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 10-99/${bytes.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(10, 100));
    const tail = await fetch(url, { headers: { range: 'bytes=-64' } });
    assert.deepEqual(Buffer.from(await tail.arrayBuffer()), bytes.subarray(bytes.length - 64));
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(bytes.length));
    assert.equal((await fetch(url, { headers: { range: `bytes=${bytes.length + 5}-` } })).status, 416);
  });

  it('serves repodata and the attestation sidecars from the bucket', async () => {
    const repodata = (await (await fetch(`${server.url}/demo/linux-64/repodata.json`)).json()) as any;
    assert.deepEqual(Object.keys(repodata['packages.conda']).sort(), ['greeter-0.3-h1_0.conda', 'libgreet-1.0-h0_0.conda']);
    assert.deepEqual(Object.keys(repodata.packages), ['libgreet-2.0-h0_0.tar.bz2']);
    const sigs = Buffer.from(`[${bundle}]`);
    const base = `${server.url}/demo/linux-64/greeter-0.3-h1_0.conda`;
    for (const suffix of ['.v0.sigs', '.sigs', `.sigs.${sha256(sigs)}`]) {
      const res = await fetch(base + suffix);
      assert.equal(res.status, 200, suffix);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), sigs, suffix);
    }
    assert.equal(await (await fetch(`${base}.sigstore`)).text(), bundle);
  });

  it('writes the transparency log tiles to the bucket and serves them', async () => {
    const checkpoint = await (await fetch(`${server.url}/log/checkpoint`)).text();
    const size = Number(checkpoint.split('\n')[1]);
    assert.ok(size >= 7, checkpoint); // 2 channels, 5 uploads
    const tiles = (await objectKeys(`${PREFIX}/_provena/log/`)).filter((k) => k.includes('/tile/'));
    assert.ok(tiles.length > 0, 'tiles in the bucket');
    const key = tiles[0]!;
    const served = await fetch(`${server.url}/log/${key.slice(`${PREFIX}/_provena/log/`.length)}`);
    assert.equal(served.status, 200, key);
    const stored = await s3.client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), Buffer.from(await stored.Body!.transformToByteArray()));
  });

  it('is a static conda channel: repodata, packages and sidecars straight from the bucket', async () => {
    const repodata = (await (await fetch(staticUrl('demo/linux-64/repodata.json'))).json()) as any;
    const served = await (await fetch(`${server.url}/demo/linux-64/repodata.json`)).json();
    assert.deepEqual(repodata, served);
    for (const [filename, { bytes, subdir }] of Object.entries(pkgs)) {
      const res = await fetch(staticUrl(`demo/${subdir}/${filename}`));
      assert.equal(res.status, 200, filename);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes, filename);
    }
    const sigs = await fetch(staticUrl('demo/linux-64/greeter-0.3-h1_0.conda.v0.sigs'));
    assert.equal(await sigs.text(), `[${bundle}]`);
    assert.equal(await (await fetch(staticUrl('demo/linux-64/greeter-0.3-h1_0.conda.sigstore'))).text(), bundle);
    const noarch = await fetch(staticUrl('demo/noarch/repodata.json'));
    assert.equal(noarch.status, 200);
    assert.equal(noarch.headers.get('content-type'), 'application/json');
    // the content-addressed half is not part of the channel
    assert.equal((await fetch(staticUrl('_provena/nothing'))).status, 404);
  });

  it('rattler solves against the bucket URL alone', async () => {
    const solved = await simpleSolve(['greeter'], [`${s3.endpoint}/${s3.bucket}/${PREFIX}/demo`], ['linux-64', 'noarch'], []);
    const picked = Object.fromEntries(solved.map((p) => [p.packageName, p.version]));
    assert.deepEqual(picked, { greeter: '0.3', libgreet: '1.0', 'greet-data': '5' });
    for (const p of solved) assert.ok(p.url.startsWith(`${s3.endpoint}/${s3.bucket}/${PREFIX}/demo/`), p.url);
  });

  it('a removed package leaves the server, the static channel and its repodata', async () => {
    const res = await api(server, 'DELETE', '/api/v1/channels/demo/packages/linux-64/libgreet-2.0-h0_0.tar.bz2');
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal((await fetch(`${server.url}/demo/linux-64/libgreet-2.0-h0_0.tar.bz2`)).status, 404);
    assert.equal((await fetch(staticUrl('demo/linux-64/libgreet-2.0-h0_0.tar.bz2'))).status, 404);
    const repodata = (await (await fetch(staticUrl('demo/linux-64/repodata.json'))).json()) as any;
    assert.deepEqual(Object.keys(repodata.packages), []);
    assert.deepEqual(repodata.removed, ['libgreet-2.0-h0_0.tar.bz2']);
  });

  it('a deleted channel leaves the bucket', async () => {
    assert.ok((await objectKeys(`${PREFIX}/gone/`)).length > 0);
    assert.equal((await api(server, 'DELETE', '/api/v1/channels/gone')).status, 204);
    assert.deepEqual(await objectKeys(`${PREFIX}/gone/`), []);
  });

  it('repairs the static channel on restart (a crash between commit and copy)', async () => {
    const key = `${PREFIX}/demo/linux-64/libgreet-1.0-h0_0.conda`;
    await s3.client().send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key }));
    assert.equal((await fetch(staticUrl('demo/linux-64/libgreet-1.0-h0_0.conda'))).status, 404);
    await server.stop();
    server = await start(dataDir);
    const res = await fetch(staticUrl('demo/linux-64/libgreet-1.0-h0_0.conda'));
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), pkgs['libgreet-1.0-h0_0.conda']!.bytes);
    // and the server still serves everything it did
    assert.equal((await fetch(`${server.url}/demo/linux-64/greeter-0.3-h1_0.conda.sigstore`)).status, 200);
  });

  it('refuses to start with one line when the bucket cannot be reached', async () => {
    const bad = await startServer({ args: ['--storage', 's3://no-such-bucket/x', '--s3-endpoint', s3.endpoint, '--s3-force-path-style', 'true'], env: s3.serverEnv() }).then(
      async (s) => {
        await s.stop();
        return null;
      },
      (e: Error) => e.message,
    );
    assert.ok(bad, 'the server must not start');
    assert.match(bad, /cannot reach the bucket s3:\/\/no-such-bucket/);
  });
});
