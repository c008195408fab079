import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { isProvenaError } from '../../../src/core/errors.ts';
import {
  REPODATA_ZSTD_LEVEL,
  zstdBackend,
  zstdCompress,
  zstdCompressStream,
  zstdDecompress,
} from '../../../src/core/repodata/zstd.ts';
import { readRepodataBytes } from './shared-repodata.ts';

function hasZstdCli(): boolean {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const cli = hasZstdCli();
const cliDecompress = (bytes: Buffer): Buffer => execFileSync('zstd', ['-d', '-c', '-q'], { input: bytes, maxBuffer: 1 << 30 });

const repodata = readRepodataBytes('conda-forge-subchannel-py39_linux-64_repodata.json');
// Enough text for zstd to show its ratio, small enough to keep high levels quick.
const sample = repodata.subarray(0, 300_000);

describe(`zstd (${zstdBackend})`, () => {
  it('uses the built-in zlib zstd exactly when Node has it', async () => {
    const zlib = (await import('node:zlib')) as unknown as Record<string, unknown>;
    assert.equal(zstdBackend, typeof zlib.zstdCompressSync === 'function' ? 'node:zlib' : 'zstd-napi');
  });

  it('round-trips real repodata and actually compresses it', () => {
    const compressed = zstdCompress(repodata, REPODATA_ZSTD_LEVEL);
    assert.ok(compressed.length < repodata.length / 5, `${compressed.length} of ${repodata.length}`);
    assert.ok(zstdDecompress(compressed, repodata.length).equals(repodata));
  });

  it('compresses better at a higher level', () => {
    assert.ok(zstdCompress(sample, 12).length < zstdCompress(sample, 1).length);
  });

  it('writes frames the zstd CLI reads', { skip: !cli && 'zstd CLI not installed' }, () => {
    for (const level of [1, 3, REPODATA_ZSTD_LEVEL]) {
      assert.ok(cliDecompress(zstdCompress(sample, level)).equals(sample), `level ${level}`);
    }
    assert.equal(cliDecompress(zstdCompress(Buffer.alloc(0))).length, 0);
  });

  it('reads frames the zstd CLI writes, several frames in a row included', { skip: !cli && 'zstd CLI not installed' }, () => {
    const fromCli = execFileSync('zstd', ['-c', '-q', '-9'], { input: sample, maxBuffer: 1 << 30 });
    assert.ok(zstdDecompress(fromCli, sample.length).equals(sample));
    const two = Buffer.concat([fromCli, zstdCompress(Buffer.from('tail'))]);
    assert.ok(zstdDecompress(two, sample.length + 4).equals(Buffer.concat([sample, Buffer.from('tail')])));
  });

  it('streams: the Transform output is one valid zstd stream of everything written', { skip: !cli && 'zstd CLI not installed' }, async () => {
    const pieces: Buffer[] = [];
    for (let i = 0; i < repodata.length; i += 100_000) pieces.push(repodata.subarray(i, i + 100_000));
    const out: Buffer[] = [];
    await pipeline(Readable.from(pieces), zstdCompressStream(3), async function* (source) {
      for await (const chunk of source) out.push(chunk as Buffer);
    });
    const compressed = Buffer.concat(out);
    assert.ok(compressed.length < repodata.length / 5);
    assert.ok(cliDecompress(compressed).equals(repodata));
    assert.ok(zstdDecompress(compressed, repodata.length).equals(repodata));
  });

  it('refuses to decompress beyond the limit (a zstd bomb)', () => {
    const bomb = zstdCompress(Buffer.alloc(64 * 1024 * 1024), 3);
    assert.ok(bomb.length < 64 * 1024, 'a tiny input');
    assert.throws(
      () => zstdDecompress(bomb, 1024 * 1024),
      (e) => isProvenaError(e) && e.code === 'zstd_output_too_large' && e.kind === 'too_large',
    );
    assert.equal(zstdDecompress(zstdCompress(Buffer.alloc(1000)), 1000).length, 1000, 'exactly at the limit is fine');
  });

  it('rejects corrupt, truncated and empty input', () => {
    const good = zstdCompress(repodata);
    for (const bad of [Buffer.from('not zstd at all'), good.subarray(0, good.length >> 1), Buffer.alloc(0)]) {
      assert.throws(
        () => zstdDecompress(bad, repodata.length),
        (e) => isProvenaError(e) && e.code === 'invalid_zstd',
      );
    }
  });
});
