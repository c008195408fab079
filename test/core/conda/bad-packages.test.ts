import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readPackageMetadata, type ReadLimits } from '../../../src/core/conda/package-reader.ts';
import type { PackageFormat } from '../../../src/core/conda/types.ts';
import { isProvenaError } from '../../../src/core/errors.ts';
import { bzip2Compress, chunksOf, tarArchive, zstdCompress } from '../../support/archive-writers.ts';
import * as bad from '../../support/bad-packages.ts';
import { infoMembers, makePackage } from '../../support/package-factory.ts';
import { zipArchive } from '../../support/zip-writer.ts';
import { PACKAGES_DIR } from './package-stats.ts';

const dir = mkdtempSync(join(tmpdir(), 'provena-bad-packages-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

async function refusal(bytes: Buffer, format: PackageFormat, limits?: Partial<ReadLimits>) {
  const path = join(dir, `case-${counter++}${format}`);
  writeFileSync(path, bytes);
  try {
    const meta = await readPackageMetadata(path, format, limits);
    assert.fail(`read without error: ${JSON.stringify(meta.index).slice(0, 200)}`);
  } catch (err) {
    assert.ok(isProvenaError(err), `not a ProvenaError: ${String(err)}`);
    assert.equal(err.kind, 'unprocessable');
    return err;
  }
}

const FORMATS: PackageFormat[] = ['.conda', '.tar.bz2'];

describe('packages that are refused', { timeout: 120_000 }, () => {
  for (const format of FORMATS) {
    it(`${format}: truncated → corrupt_package`, async () => {
      for (const fraction of [0.1, 0.5, 0.9, 0.99]) {
        const err = await refusal(await bad.truncatedPackage(format, fraction), format);
        assert.equal(err.code, 'corrupt_package', `${fraction}: ${err.detail}`);
      }
    });
    it(`${format}: index.json over 1 MiB → index_json_too_large`, async () => {
      const err = await refusal(await bad.oversizedIndexJson(format), format);
      assert.equal(err.code, 'index_json_too_large');
      assert.match(err.detail, /info\/index\.json is larger than 1048576 bytes/);
    });
    it(`${format}: index.json that is not JSON, or not an object → index_json_invalid`, async () => {
      assert.equal((await refusal(await bad.nonJsonIndexJson(format), format)).code, 'index_json_invalid');
      const array = await refusal(await bad.arrayIndexJson(format), format);
      assert.equal(array.code, 'index_json_invalid');
      assert.match(array.detail, /must hold a JSON object, but holds an array/);
    });
    it(`${format}: no index.json → missing_index_json`, async () => {
      assert.equal((await refusal(await bad.missingIndexJson(format), format)).code, 'missing_index_json');
    });
    it(`${format}: a member with '..' or an absolute path → unsafe_path`, async () => {
      for (const path of ['info/../../evil', '../evil', '/etc/evil', './../evil']) {
        const err = await refusal(await bad.unsafeMemberPackage(format, path), format);
        assert.equal(err.code, 'unsafe_path', path);
      }
    });
    it(`${format}: about.json that is not JSON → about_json_invalid`, async () => {
      const spec = { ...bad.baseSpec(format), leadingInfoMembers: [{ path: 'info/about.json', data: Buffer.from('{') }] };
      const err = await refusal(await makePackage({ ...spec, about: null }), format);
      assert.equal(err.code, 'about_json_invalid');
    });
    it(`${format}: smaller limits are honoured`, async () => {
      const bytes = await makePackage(bad.baseSpec(format));
      assert.equal((await refusal(bytes, format, { maxJsonBytes: 64 })).code, 'index_json_too_large');
      const tiny = { maxInfoDecompressedBytes: 1024, minDecompressedBytes: 1024, maxCompressionRatio: 1 };
      assert.equal((await refusal(bytes, format, tiny)).code, 'decompression_limit');
    });
    it(`${format}: a file in the other format → corrupt_package`, async () => {
      const other = format === '.conda' ? '.tar.bz2' : '.conda';
      assert.equal((await refusal(await makePackage(bad.baseSpec(other)), format)).code, 'corrupt_package');
    });
  }

  it('.conda: a zstd bomb in the info member → decompression_limit', async () => {
    const bomb = await bad.zstdBombConda();
    assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes`);
    const err = await refusal(bomb, '.conda');
    assert.equal(err.code, 'decompression_limit');
    assert.match(err.detail, /the info member decompresses to more than 268435456 bytes/);
  });

  it('.tar.bz2: a bzip2 bomb → decompression_limit', async () => {
    const bomb = await bad.bz2BombTarBz2();
    assert.ok(bomb.length < 64 * 1024, `bomb is ${bomb.length} bytes`);
    const err = await refusal(bomb, '.tar.bz2');
    assert.equal(err.code, 'decompression_limit');
    assert.match(err.detail, /more than 67108864 bytes/);
  });

  it('.conda: zip entries named ../evil, /evil or C:evil → unsafe_path', async () => {
    for (const name of ['../evil', 'a/../../evil', '/evil', 'C:evil', '..\\evil']) {
      assert.equal((await refusal(await bad.zipSlipConda(name), '.conda')).code, 'unsafe_path', name);
    }
  });

  it('.conda: broken zip structure → corrupt_package or missing_index_json', async () => {
    const spec = bad.baseSpec('.conda');
    const infoTar = await tarArchive(infoMembers(spec));
    const infoZst = await zstdCompress(chunksOf(infoTar));
    const zip = (entries: { name: string; data: Buffer }[]) => zipArchive(entries);
    const cases: [Buffer, string][] = [
      [zip([{ name: 'info-victim-1.0-h0_0.tar.zst', data: infoZst.subarray(0, infoZst.length - 40) }]), 'corrupt_package'],
      [zip([{ name: 'info-victim-1.0-h0_0.tar.zst', data: Buffer.from('not zstd at all') }]), 'corrupt_package'],
      [zip([{ name: 'info-victim-1.0-h0_0.tar.zst', data: await zstdCompress(chunksOf(Buffer.from('x'.repeat(2000)))) }]), 'corrupt_package'],
      [zip([{ name: 'info-a.tar.zst', data: infoZst }, { name: 'info-b.tar.zst', data: infoZst }]), 'corrupt_package'],
      [zip(Array.from({ length: 100 }, (_, i) => ({ name: `f${i}`, data: Buffer.alloc(1) }))), 'corrupt_package'],
      [zip([{ name: 'pkg-victim-1.0-h0_0.tar.zst', data: infoZst }]), 'missing_index_json'],
      [Buffer.from('PK\u0005\u0006 this is not a zip'), 'corrupt_package'],
      [Buffer.alloc(0), 'corrupt_package'],
    ];
    for (const [bytes, code] of cases) assert.equal((await refusal(bytes, '.conda')).code, code);
  });

  it('.conda: an info member declaring more than the bound → decompression_limit before any decoding', async () => {
    const bytes = await makePackage(bad.baseSpec('.conda'));
    const err = await refusal(bytes, '.conda', { maxInfoDecompressedBytes: 100 });
    assert.match(err.detail, /declares \d+ bytes, more than the limit of 100/);
  });

  it('.tar.bz2: not bzip2, or a bzip2 of something that is not a tar → corrupt_package', async () => {
    assert.equal((await refusal(Buffer.from('BZh9 but no blocks'), '.tar.bz2')).code, 'corrupt_package');
    assert.equal((await refusal(Buffer.alloc(0), '.tar.bz2')).code, 'corrupt_package');
    const notTar = await bzip2Compress(chunksOf(Buffer.alloc(5000, 7)));
    assert.equal((await refusal(notTar, '.tar.bz2')).code, 'corrupt_package');
  });

  it('damaged real packages give a result or a ProvenaError, never another error or a hang', async () => {
    let seed = 0x2545f491;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const outcomes = new Map<string, number>();
    for (const filename of ['zlib-1.2.11-h7b6447c_3.conda', 'zlib-1.2.11-h7b6447c_3.tar.bz2']) {
      const original = readFileSync(join(PACKAGES_DIR, filename));
      const format = filename.endsWith('.conda') ? '.conda' : '.tar.bz2';
      for (let round = 0; round < 40; round++) {
        const damaged = Buffer.from(original);
        for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
          damaged[Math.floor(random() * damaged.length)] ^= 1 << Math.floor(random() * 8);
        }
        const path = join(dir, `damaged-${counter++}${format}`);
        writeFileSync(path, damaged);
        const outcome = await readPackageMetadata(path, format).then(
          () => 'read',
          (err: unknown) => {
            assert.ok(isProvenaError(err), `${filename} round ${round}: ${String(err)}`);
            return err.code;
          },
        );
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
    }
    assert.ok((outcomes.get('corrupt_package') ?? 0) > 0, JSON.stringify([...outcomes]));
  });

  it('leaves no file descriptor open, on success or refusal', async () => {
    const openFds = () => readdirSync('/proc/self/fd').length;
    const inputs: [Buffer, PackageFormat][] = [];
    for (const format of FORMATS) {
      inputs.push([await makePackage(bad.baseSpec(format)), format]);
      inputs.push([await bad.truncatedPackage(format), format]);
      inputs.push([await bad.unsafeMemberPackage(format), format]);
      inputs.push([await bad.nonJsonIndexJson(format), format]);
    }
    inputs.push([await bad.zipSlipConda(), '.conda']);
    const paths = inputs.map(([bytes, format]) => {
      const path = join(dir, `fd-${counter++}${format}`);
      writeFileSync(path, bytes);
      return [path, format] as const;
    });
    const before = openFds();
    for (let i = 0; i < 3; i++) {
      for (const [path, format] of paths) await readPackageMetadata(path, format).catch(() => undefined);
    }
    assert.equal(openFds(), before);
  });
});
