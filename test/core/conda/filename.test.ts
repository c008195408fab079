import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isValidPackageName, parsePackageFilename } from '../../../src/core/conda/filename.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const REPODATA_DIR = '/work/shared/data/repodata';

function refusal(filename: string): string {
  try {
    parsePackageFilename(filename);
  } catch (err) {
    assert.ok(isProvenaError(err), `expected a ProvenaError for ${JSON.stringify(filename)}, got ${String(err)}`);
    assert.equal(err.code, 'invalid_filename');
    assert.equal(err.kind, 'unprocessable');
    return err.detail;
  }
  assert.fail(`${JSON.stringify(filename)} was accepted`);
}

describe('parsePackageFilename', () => {
  it('splits name-version-build at the last two dashes, for both formats', () => {
    assert.deepEqual(parsePackageFilename('zlib-1.2.11-h7b6447c_3.conda'), {
      filename: 'zlib-1.2.11-h7b6447c_3.conda',
      name: 'zlib',
      version: '1.2.11',
      build: 'h7b6447c_3',
      format: '.conda',
    });
    const legacy = parsePackageFilename('clobber-pynoarch-1-0.1.0-pyh4616a5c_0.tar.bz2');
    assert.deepEqual(
      [legacy.name, legacy.version, legacy.build, legacy.format],
      ['clobber-pynoarch-1', '0.1.0', 'pyh4616a5c_0', '.tar.bz2'],
    );
  });

  it('accepts the version and build shapes conda accepts', () => {
    for (const [filename, version, build] of [
      ['_libgcc_mutex-0.1-main.conda', '0.1', 'main'],
      ['pkg-1!2.0-0.conda', '1!2.0', '0'],
      ['pkg-1.0+local.7-0.conda', '1.0+local.7', '0'],
      ['openssl-1.0.2_-h0_0.tar.bz2', '1.0.2_', 'h0_0'],
      ['pkg-1.0RC1-0.conda', '1.0RC1', '0'],
      ['pytorch-2.1.0-py3.9_cuda12.1_cudnn8.9.2_0.tar.bz2', '2.1.0', 'py3.9_cuda12.1_cudnn8.9.2_0'],
      ['pkg-1.0-cuda12+h0_0.conda', '1.0', 'cuda12+h0_0'],
    ]) {
      const parsed = parsePackageFilename(filename);
      assert.equal(parsed.version, version, filename);
      assert.equal(parsed.build, build, filename);
    }
  });

  it('accepts every real package filename in the shared data and splits it as its record says', () => {
    let checked = 0;
    for (const file of readdirSync(REPODATA_DIR).filter((f) => f.endsWith('.json'))) {
      const repodata = JSON.parse(readFileSync(`${REPODATA_DIR}/${file}`, 'utf8'));
      for (const section of ['packages', 'packages.conda']) {
        for (const [filename, record] of Object.entries<Record<string, string>>(repodata[section] ?? {})) {
          const parsed = parsePackageFilename(filename);
          assert.deepEqual([parsed.name, parsed.version, parsed.build], [record.name, record.version, record.build]);
          checked++;
        }
      }
    }
    assert.ok(checked > 10_000, `only ${checked} filenames checked`);
  });

  it('refuses path tricks, control characters and over-long names', () => {
    assert.match(refusal(''), /empty/);
    assert.match(refusal(`${'a'.repeat(250)}-1.0-0.conda`), /longer than 255/);
    assert.match(refusal('zlib-1.0-0.conda\u0000.png'), /control character/);
    assert.match(refusal('zlib\n-1.0-0.conda'), /control character/);
    assert.match(refusal('../zlib-1.0-0.conda'), /path separator/);
    assert.match(refusal('sub/zlib-1.0-0.conda'), /path separator/);
    assert.match(refusal('..\\zlib-1.0-0.conda'), /path separator/);
    assert.match(refusal('..'), /relative path segment/);
  });

  it('refuses other extensions and a missing part', () => {
    for (const filename of ['zlib-1.0-0.zip', 'zlib-1.0-0.tar.gz', 'zlib-1.0-0.CONDA', 'zlib-1.0-0.tar.bz2.part']) {
      assert.match(refusal(filename), /must end in '\.conda' or '\.tar\.bz2'/);
    }
    assert.match(refusal('zlib-1.0.conda'), /<name>-<version>-<build>\.conda/);
    assert.match(refusal('zlib.tar.bz2'), /<name>-<version>-<build>\.tar\.bz2/);
    assert.match(refusal('-1.0-0.conda'), /name is empty/);
    assert.match(refusal('zlib--0.conda'), /version is empty/);
    assert.match(refusal('zlib-1.0-.conda'), /build string is empty/);
  });

  it('refuses names conda does not allow', () => {
    assert.match(refusal('Zlib-1.0-0.conda'), /lowercase; use "zlib"/);
    for (const name of ['zl!b', 'zlib..x', '__zlib', '.zlib', 'z lib', 'zlib@2']) {
      assert.match(refusal(`${name}-1.0-0.conda`), /may only hold lowercase letters/, name);
    }
    assert.match(refusal(`${'a'.repeat(65)}-1.0-0.conda`), /name is longer than 64/);
  });

  it('refuses versions conda cannot parse', () => {
    assert.match(refusal('zlib-1.*-0.conda'), /'\*', a match-spec wildcard/);
    assert.match(refusal('zlib-1.0$-0.conda'), /may only hold letters, digits/);
    assert.match(refusal('zlib-1 0-0.conda'), /may only hold letters, digits/);
    assert.match(refusal('zlib-1!2!3-0.conda'), /more than one epoch/);
    assert.match(refusal('zlib-a!1-0.conda'), /epoch before '!' .* must be a number/);
    assert.match(refusal('zlib-1+a+b-0.conda'), /more than one local-version/);
    assert.match(refusal('zlib-+1-0.conda'), /nothing before its local part/);
    assert.match(refusal('zlib-1!-0.conda'), /nothing before its local part or after its epoch/);
    for (const version of ['1..2', '.1', '1.', '1+a..b', '1+']) {
      assert.match(refusal(`zlib-${version}-0.conda`), /empty component/, version);
    }
    assert.match(refusal(`zlib-${'1'.repeat(65)}-0.conda`), /version is longer than 64/);
  });

  it('refuses build strings outside CEP-26', () => {
    assert.match(refusal('zlib-1.0-h0$.conda'), /build string "h0\$" may only hold/);
    assert.match(refusal('zlib-1.0-h 0.conda'), /build string "h 0" may only hold/);
    assert.match(refusal(`zlib-1.0-${'b'.repeat(65)}.conda`), /build string is longer than 64/);
  });
});

describe('isValidPackageName', () => {
  it('accepts conda names (also used for channel names)', () => {
    for (const name of ['zlib', '_libgcc_mutex', 'r-base', 'python.app', 'a', '7za', 'conda-forge']) {
      assert.equal(isValidPackageName(name), true, name);
    }
  });
  it('refuses upper case, separators in a row or in front, and other characters', () => {
    for (const name of ['', 'Zlib', '-a', '.a', '__a', 'a--b', 'a_.b', 'a b', 'a/b', 'a\\b', '..', 'a'.repeat(65), 'zlib\0']) {
      assert.equal(isValidPackageName(name), false, JSON.stringify(name));
    }
    assert.equal(isValidPackageName(42), false);
  });
});
