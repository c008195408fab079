import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PackageFormat } from '../../src/core/conda/types.ts';
import * as bad from '../support/bad-packages.ts';
import { makePackage, packageFilename } from '../support/package-factory.ts';
import { ADMIN_TOKEN, api, PACKAGES_DIR, startServer, type RunningServer } from '../support/server.ts';
import { sha256Hex, uploadMultipart, uploadRaw } from '../support/upload.ts';

/**
 * Bad input never crashes the server and never changes what is stored: each case is refused with a
 * 4xx JSON error naming the problem, and afterwards the channel is exactly as before.
 */
describe('bad uploads are refused and leave nothing behind', () => {
  let server: RunningServer;
  const token = ADMIN_TOKEN;
  before(async () => {
    server = await startServer({ args: ['--max-package-size', String(8 * 1024 * 1024)] });
    await api(server, 'POST', '/api/v1/channels', { name: 'victim' });
  });
  after(async () => {
    await server.stop();
  });

  async function assertNothingStored() {
    const listed = (await api(server, 'GET', '/api/v1/channels/victim/packages')).json.packages;
    assert.deepEqual(listed, []);
    const blobs = path.join(server.dataDir, 'blobs/pkgs');
    const files = fs.existsSync(blobs) ? fs.readdirSync(blobs, { recursive: true }).filter((f) => String(f).length > 60) : [];
    assert.deepEqual(files, [], 'no package blob was kept');
    assert.deepEqual(fs.readdirSync(path.join(server.dataDir, 'tmp')), [], 'no spool file was kept');
  }

  const victim = (format: PackageFormat) => packageFilename(bad.baseSpec(format));
  const cases: [string, () => Promise<{ filename: string; bytes: Buffer }>, number, string][] = [];
  for (const format of ['.conda', '.tar.bz2'] as const) {
    cases.push(
      [`truncated ${format}`, async () => ({ filename: victim(format), bytes: await bad.truncatedPackage(format) }), 422, 'corrupt_package'],
      [`index.json over the bound in ${format}`, async () => ({ filename: victim(format), bytes: await bad.oversizedIndexJson(format) }), 422, 'index_json_too_large'],
      [`index.json not JSON in ${format}`, async () => ({ filename: victim(format), bytes: await bad.nonJsonIndexJson(format) }), 422, 'index_json_invalid'],
      [`index.json an array in ${format}`, async () => ({ filename: victim(format), bytes: await bad.arrayIndexJson(format) }), 422, 'index_json_invalid'],
      [`no index.json in ${format}`, async () => ({ filename: victim(format), bytes: await bad.missingIndexJson(format) }), 422, 'missing_index_json'],
      [`member path escaping in ${format}`, async () => ({ filename: victim(format), bytes: await bad.unsafeMemberPackage(format) }), 422, 'unsafe_path'],
    );
  }
  cases.push(
    ['zstd bomb', async () => ({ filename: victim('.conda'), bytes: await bad.zstdBombConda() }), 422, 'decompression_limit'],
    ['bz2 bomb', async () => ({ filename: victim('.tar.bz2'), bytes: await bad.bz2BombTarBz2() }), 422, 'decompression_limit'],
    ['zip entry ../evil', async () => ({ filename: victim('.conda'), bytes: await bad.zipSlipConda() }), 422, 'unsafe_path'],
    ['random bytes', async () => ({ filename: victim('.conda'), bytes: Buffer.from('definitely not a zip file') }), 422, 'corrupt_package'],
    [
      'filename differs from index.json',
      async () => ({ filename: 'victim-1.1-0.conda', bytes: await makePackage({ ...bad.baseSpec('.conda') }) }),
      422,
      'filename_mismatch',
    ],
  );

  for (const [label, make, status, code] of cases) {
    for (const upload of [uploadRaw, uploadMultipart]) {
      it(`${label} (${upload === uploadRaw ? 'raw' : 'multipart'}) → ${status} ${code}`, async () => {
        const { filename, bytes } = await make();
        const res = await upload(server, 'victim', filename, bytes, { token });
        assert.equal(res.status, status, JSON.stringify(res.json));
        assert.equal(res.json.error, code);
        assert.equal(typeof res.json.detail, 'string');
        await assertNothingStored();
      });
    }
  }

  it('refuses names with /, .., NUL or upper case before reading the body', async () => {
    const bytes = fs.readFileSync(path.join(PACKAGES_DIR, 'empty-0.1.0-h4616a5c_0.conda'));
    for (const name of ['../empty-0.1.0-h4616a5c_0.conda', 'a/empty-0.1.0-h4616a5c_0.conda', 'Empty-0.1.0-h4616a5c_0.conda', 'empty-0.1.0-h4616a5c_0.zip', 'empty.conda']) {
      const res = await uploadRaw(server, 'victim', name, bytes, { token });
      assert.equal(res.status, 422, name);
      assert.equal(res.json.error, 'invalid_filename', name);
    }
    const nul = await uploadMultipart(server, 'victim', 'empty-0.1.0-h4616a5c_0\u0000.conda', bytes, { token });
    assert.ok(nul.status === 422 || nul.status === 400, String(nul.status));
    const none = await uploadRaw(server, 'victim', '', bytes, { token });
    assert.equal(none.status, 400);
    assert.equal(none.json.error, 'missing_filename');
    await assertNothingStored();
  });

  it('refuses a body whose sha256 differs from X-File-SHA256, and a malformed header', async () => {
    const bytes = fs.readFileSync(path.join(PACKAGES_DIR, 'empty-0.1.0-h4616a5c_0.conda'));
    const wrong = await uploadRaw(server, 'victim', 'empty-0.1.0-h4616a5c_0.conda', bytes, { token, sha256: sha256Hex(Buffer.from('x')) });
    assert.equal(wrong.status, 422);
    assert.equal(wrong.json.error, 'sha256_mismatch');
    assert.match(wrong.json.detail, new RegExp(sha256Hex(bytes)));
    const wrongPart = await uploadMultipart(server, 'victim', 'empty-0.1.0-h4616a5c_0.conda', bytes, { token, sha256: '0'.repeat(64) });
    assert.equal(wrongPart.json.error, 'sha256_mismatch');
    const malformed = await uploadRaw(server, 'victim', 'empty-0.1.0-h4616a5c_0.conda', bytes, { token, sha256: 'zz' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error, 'invalid_sha256_header');
    await assertNothingStored();
  });

  it('cuts off an upload over the size limit with 413', async () => {
    const big = Buffer.alloc(9 * 1024 * 1024, 7);
    const res = await uploadRaw(server, 'victim', 'empty-0.1.0-h4616a5c_0.conda', big, { token });
    assert.equal(res.status, 413);
    assert.equal(res.json.error, 'package_too_large');
    await assertNothingStored();
  });

  it('places or refuses packages by the subdir on the upload URL', async () => {
    const infoOnly = fs.readFileSync(path.join(PACKAGES_DIR, 'info-only-1.0.0-0.conda'));
    const noSubdir = await uploadRaw(server, 'victim', 'info-only-1.0.0-0.conda', infoOnly, { token });
    assert.equal(noSubdir.status, 422);
    assert.equal(noSubdir.json.error, 'missing_subdir');
    const zlib = fs.readFileSync(path.join(PACKAGES_DIR, 'zlib-1.2.11-h7b6447c_3.conda'));
    const other = await uploadRaw(server, 'victim', 'zlib-1.2.11-h7b6447c_3.conda', zlib, { token, subdir: 'osx-64' });
    assert.equal(other.status, 422);
    assert.equal(other.json.error, 'subdir_mismatch');
    await assertNothingStored();
  });

  it('refuses a malformed attestation and stores nothing', async () => {
    const bytes = fs.readFileSync(path.join(PACKAGES_DIR, 'empty-0.1.0-h4616a5c_0.conda'));
    const res = await uploadMultipart(server, 'victim', 'empty-0.1.0-h4616a5c_0.conda', bytes, { token, attestation: '{"mediaType": ' });
    assert.equal(res.status, 422);
    assert.equal(res.json.error, 'attestation_malformed');
    await assertNothingStored();
  });

  it('refuses a multipart body cut short, and keeps serving', async () => {
    const res = await fetch(`${server.url}/api/v1/upload/victim`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz', authorization: `Bearer ${token}` },
      body: '--xyz\r\nContent-Disposition: form-data; name="file"; filename="empty-0.1.0-h4616a5c_0.conda"\r\n\r\nPK\u0003\u0004partial',
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as any).error, 'invalid_multipart');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    await assertNothingStored();
  });
});
