import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePackageFilename } from '../../../src/core/conda/filename.ts';
import { checkPackageIdentity, toPackageRecord } from '../../../src/core/conda/record.ts';
import { isKnownSubdir, KNOWN_SUBDIRS } from '../../../src/core/conda/platforms.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const digests = { md5: 'a'.repeat(32), sha256: 'b'.repeat(64), size: 1234 };

function index(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    name: 'demo',
    version: '1.0',
    build: 'h0_1',
    build_number: 1,
    depends: ['zlib >=1.2'],
    subdir: 'linux-64',
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base;
}

function codeOf(fn: () => unknown): { code: string; detail: string; extra?: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    assert.ok(isProvenaError(err), String(err));
    assert.equal(err.kind, 'unprocessable');
    return { code: err.code, detail: err.detail, extra: err.extra };
  }
  assert.fail('no error');
}

describe('toPackageRecord', () => {
  it("drops conda-index's build-machine keys, keeps every other key, and takes the file digests", () => {
    const record = toPackageRecord(
      index({
        arch: 'x86_64', platform: 'linux', machine: 'x86_64', operatingsystem: 'linux', 'target-triplet': 'x86_64-linux',
        has_prefix: true, mtime: 1, ucs: 4, requires_features: {}, binstar: {},
        license: 'MIT', constrains: ['foo <2'], track_features: '', timestamp: 1700000000000, noarch: null,
        md5: 'claimed-by-the-package', size: 1,
      }),
      digests,
    );
    assert.deepEqual(record, {
      ...index({ license: 'MIT', constrains: ['foo <2'], track_features: '', timestamp: 1700000000000, noarch: null }),
      ...digests,
    });
  });

  it('leaves depends out when index.json has none, as conda-index does', () => {
    const record = toPackageRecord(index({ depends: undefined }), digests);
    assert.ok(!('depends' in record));
  });

  it('names the field that is wrong', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ name: undefined }, 'name', /must be a string, but it is missing/],
      [{ name: 7 }, 'name', /must be a string, but it is 7/],
      [{ name: 'Demo' }, 'name', /lowercase/],
      [{ version: '1.*' }, 'version', /wildcard/],
      [{ build: 'h 0' }, 'build', /may only hold/],
      [{ build_number: undefined }, 'build_number', /non-negative integer, but it is missing/],
      [{ build_number: -1 }, 'build_number', /non-negative integer/],
      [{ build_number: 1.5 }, 'build_number', /non-negative integer/],
      [{ build_number: '1' }, 'build_number', /but it is "1"/],
      [{ depends: 'zlib' }, 'depends', /list of match-spec strings/],
      [{ depends: ['zlib', 3] }, 'depends', /list of match-spec strings/],
      [{ constrains: [null] }, 'constrains', /list of match-spec strings/],
    ];
    for (const [overrides, field, detail] of cases) {
      const err = codeOf(() => toPackageRecord(index(overrides), digests));
      assert.equal(err.code, 'index_json_invalid');
      assert.equal(err.extra?.field, field);
      assert.match(err.detail, new RegExp(`"${field}"`));
      assert.match(err.detail, detail);
    }
  });
});

describe('checkPackageIdentity', () => {
  const parsed = parsePackageFilename('demo-1.0-h0_1.conda');

  it('returns the subdir index.json declares', () => {
    assert.equal(checkPackageIdentity(parsed, index()), 'linux-64');
    assert.equal(checkPackageIdentity(parsed, index(), 'linux-64'), 'linux-64');
  });

  it('refuses each of name, version and build differing from the filename, naming the field', () => {
    for (const [field, actual] of [['name', 'other'], ['version', '1.1'], ['build', 'h0_2']]) {
      const err = codeOf(() => checkPackageIdentity(parsed, index({ [field]: actual })));
      assert.equal(err.code, 'filename_mismatch');
      assert.deepEqual(err.extra, { field, expected: parsed[field as 'name'], actual });
      assert.match(err.detail, new RegExp(`names ${field} "${actual}" but the filename`));
    }
  });

  it('refuses subdirs conda does not know, and ones that differ from where the package was sent', () => {
    assert.equal(codeOf(() => checkPackageIdentity(parsed, index({ subdir: 'linux-65' }))).code, 'unknown_subdir');
    assert.equal(codeOf(() => checkPackageIdentity(parsed, index({ subdir: 'Linux-64' }))).code, 'unknown_subdir');
    assert.equal(codeOf(() => checkPackageIdentity(parsed, index(), 'plan9-64')).code, 'unknown_subdir');
    assert.equal(codeOf(() => checkPackageIdentity(parsed, index({ subdir: 42 }))).code, 'index_json_invalid');
    const mismatch = codeOf(() => checkPackageIdentity(parsed, index(), 'osx-arm64'));
    assert.equal(mismatch.code, 'subdir_mismatch');
    assert.deepEqual(mismatch.extra, { expected: 'osx-arm64', actual: 'linux-64' });
  });

  it('without a subdir in index.json: the expected one, else noarch for noarch packages, else refuses', () => {
    assert.equal(checkPackageIdentity(parsed, index({ subdir: undefined }), 'win-64'), 'win-64');
    assert.equal(checkPackageIdentity(parsed, index({ subdir: undefined, noarch: 'python' })), 'noarch');
    assert.equal(checkPackageIdentity(parsed, index({ subdir: undefined, noarch: 'generic' }), 'noarch'), 'noarch');
    assert.equal(codeOf(() => checkPackageIdentity(parsed, index({ subdir: undefined }))).code, 'missing_subdir');
    assert.equal(codeOf(() => checkPackageIdentity(parsed, index({ subdir: null, noarch: null }))).code, 'missing_subdir');
  });
});

describe('KNOWN_SUBDIRS', () => {
  it("is noarch plus conda's platforms", () => {
    assert.equal(KNOWN_SUBDIRS[0], 'noarch');
    assert.equal(new Set(KNOWN_SUBDIRS).size, KNOWN_SUBDIRS.length);
    for (const subdir of ['linux-64', 'linux-aarch64', 'osx-arm64', 'win-64', 'win-arm64', 'emscripten-wasm32', 'zos-z']) {
      assert.ok(isKnownSubdir(subdir), subdir);
    }
    // CEP-26 shape: noarch or <os>-<arch>, lowercase letters and digits
    for (const subdir of KNOWN_SUBDIRS.slice(1)) assert.match(subdir, /^[a-z0-9]+-[a-z0-9]+$/);
    for (const subdir of ['', 'linux', 'Linux-64', 'linux-64/', 'osx-arm', 'noarch ', 'win-64\0']) {
      assert.equal(isKnownSubdir(subdir), false, JSON.stringify(subdir));
    }
  });
});
