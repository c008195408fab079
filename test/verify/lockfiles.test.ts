import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProvenaError } from '../../src/core/errors.ts';
import { readLockfile } from '../../src/core/lockfiles/read-lockfile.ts';
import { condaLockV1, explicitSpec, pixiLockV5, pixiLockV6, pixiLockV7, type LockPackage } from './lockfile-formats.ts';

const A: LockPackage = {
  name: 'zlib', version: '1.3.1', build: 'hb9d3cd8_2', subdir: 'linux-64',
  url: 'https://conda.example.org/acme/linux-64/zlib-1.3.1-hb9d3cd8_2.conda',
  sha256: 'a'.repeat(64), md5: 'b'.repeat(32),
};
const B: LockPackage = {
  name: 'tzdata', version: '2024b', build: 'hc8b5060_0', subdir: 'noarch',
  url: 'https://conda.example.org/t/secret-token/acme/noarch/tzdata-2024b-hc8b5060_0.tar.bz2',
  sha256: 'c'.repeat(64), md5: 'd'.repeat(32),
};

function refused(text: string, pattern: RegExp, selection = {}) {
  let caught: unknown;
  try {
    readLockfile(text, 'lock', selection);
  } catch (e) {
    caught = e;
  }
  assert.ok(isProvenaError(caught), 'expected a refusal');
  assert.equal(caught.code, 'lockfile_invalid');
  assert.match(caught.detail, pattern);
}

describe('lock files: explicit specs, pixi.lock, conda-lock.yml', () => {
  it('reads an explicit spec with sha256 (conda list --explicit --sha256), the channel without its /t/TOKEN', () => {
    const lock = readLockfile(explicitSpec([A, B], 'sha256'), 'env.txt');
    assert.equal(lock.format, 'explicit spec');
    assert.deepEqual(lock.packages.map((p) => [p.filename, p.channelUrl, p.fetchChannelUrl, p.subdir, p.sha256, p.md5]), [
      ['zlib-1.3.1-hb9d3cd8_2.conda', 'https://conda.example.org/acme', 'https://conda.example.org/acme', 'linux-64', A.sha256, null],
      ['tzdata-2024b-hc8b5060_0.tar.bz2', 'https://conda.example.org/acme', 'https://conda.example.org/t/secret-token/acme', 'noarch', B.sha256, null],
    ]);
  });

  it('reads --md5 lines, "#sha256:" lines, lines without a hash, and reports "# no URL for:" packages', () => {
    const text = `# platform: osx-arm64\n@EXPLICIT\n${A.url}#${A.md5}\n${B.url}#sha256:${B.sha256}\nhttps://conda.example.org/acme/noarch/x-1-0.conda\n# no URL for: local-1-0.conda\n`;
    const lock = readLockfile(text, 'env.txt');
    assert.deepEqual(lock.packages.map((p) => [p.filename, p.sha256, p.md5, p.local, p.platforms.join()]), [
      ['zlib-1.3.1-hb9d3cd8_2.conda', null, A.md5, null, 'osx-arm64'],
      ['tzdata-2024b-hc8b5060_0.tar.bz2', B.sha256, null, null, 'osx-arm64'],
      ['x-1-0.conda', null, null, null, 'osx-arm64'],
      ['local-1-0.conda', null, null, '(no URL in the explicit spec)', 'osx-arm64'],
    ]);
  });

  it('reads pixi.lock v5, v6 and v7 the same way, and counts PyPI packages instead of hiding them', () => {
    for (const [text, format] of [[pixiLockV5([A, B]), 'pixi.lock v5'], [pixiLockV6([A, B]), 'pixi.lock v6'], [pixiLockV7([A, B]), 'pixi.lock v7']] as const) {
      const lock = readLockfile(text, 'pixi.lock');
      assert.equal(lock.format, format);
      assert.deepEqual(lock.packages.map((p) => [p.filename, p.sha256, p.md5, p.platforms.join()]), [
        ['zlib-1.3.1-hb9d3cd8_2.conda', A.sha256, A.md5, 'default/linux-64'],
        ['tzdata-2024b-hc8b5060_0.tar.bz2', B.sha256, B.md5, 'default/linux-64'],
      ]);
      if (format === 'pixi.lock v6') assert.deepEqual(lock.otherPackages, [{ kind: 'pypi', count: 1 }]);
    }
  });

  it('selects pixi environments and platforms, and refuses unknown ones', () => {
    const text = pixiLockV6([A]);
    assert.equal(readLockfile(text, 'pixi.lock', { environments: ['default'], platforms: ['linux-64'] }).packages.length, 1);
    refused(text, /no environment "test"/, { environments: ['test'] });
    refused(text, /no environment has platform win-64/, { platforms: ['win-64'] });
  });

  it('reads conda-lock.yml v1 and lists a noarch package once for all its platforms', () => {
    const lock = readLockfile(condaLockV1([A, B], ['linux-64', 'osx-arm64']), 'conda-lock.yml');
    assert.equal(lock.format, 'conda-lock.yml v1');
    assert.equal(lock.packages.length, 2);
    assert.deepEqual(lock.packages[1]!.platforms, ['linux-64', 'osx-arm64']);
    assert.deepEqual(lock.otherPackages, [{ kind: 'pip', count: 1 }]);
    assert.equal(readLockfile(condaLockV1([A], ['linux-64', 'osx-arm64']), 'c', { platforms: ['osx-arm64'] }).packages[0]!.platforms.join(), 'osx-arm64');
  });

  it('refuses what is not a lock file, or a broken one, saying where', () => {
    refused('hello: world\n', /not a lock file Provena reads/);
    refused(`https://conda.example.org/acme/linux-64/a-1-0.conda\n@EXPLICIT\n`, /line 1: a package line before the @EXPLICIT marker/);
    refused(`@EXPLICIT\nhttps://conda.example.org/acme/linux-64/a-1-0.whl\n`, /line 2: not a package URL/);
    refused(`@EXPLICIT\nhttps://conda.example.org/a-1-0.conda\n`, /names no channel|is not CHANNEL\/SUBDIR\/FILE/);
    refused(pixiLockV6([A]).replace('version: 6', 'version: 3'), /Provena reads pixi.lock versions 5, 6 and 7/);
    refused(pixiLockV6([A]).replace(`sha256: ${A.sha256}`, 'sha256: nothex'), /sha256 must be 64 hex digits/);
    refused(condaLockV1([A]).replace(`    sha256: ${A.sha256}`, `    sha256: ${'e'.repeat(64)}`).replace('package:\n', `package:\n- name: zlib\n  version: '1'\n  manager: conda\n  platform: osx-64\n  url: ${A.url}\n  hash:\n    sha256: ${'f'.repeat(64)}\n`), /pinned twice with different digests/);
    refused('version: 6\nenvironments: {}\npackages: [\n', /neither an explicit spec .* nor readable YAML/);
  });
});
