import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { readPackageMetadata } from '../../../src/core/conda/package-reader.ts';
import type { PackageFormat } from '../../../src/core/conda/types.ts';
import { indexJsonOf, writePackage, type PackageSpec } from '../../support/package-factory.ts';

/**
 * The factory's packages are only worth testing against if real conda tools accept them: Debian's
 * conda-package-handling (`cph`) extracts them, conda-package-streaming lists them, and packages
 * `cph` itself creates are read by Provena.
 */

const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'provena-factory-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function requireTool(t: TestContext, command: string, args: string[]): boolean {
  const probe = spawnSync(command, args, { encoding: 'utf8' });
  if (probe.status === 0) return true;
  t.skip(`${command} ${args.join(' ')} is unavailable here (Debian conda-package-handling / python3-conda-package-streaming)`);
  return false;
}

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const files = {
  'bin/demo': '#!/bin/sh\necho demo\n',
  'lib/python3.12/site-packages/demo/__init__.py': 'VERSION = "2.0.1"\n',
  'share/demo/blob.bin': Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) & 0xff)),
};

function spec(format: PackageFormat, extra: Partial<PackageSpec> = {}): PackageSpec {
  return {
    name: 'demo-tool',
    version: '2.0.1',
    build: 'py312h0_3',
    buildNumber: 3,
    subdir: 'linux-64',
    depends: ['python >=3.12,<3.13.0a0', 'libzlib >=1.2.13'],
    about: { summary: 'a demo', home: 'https://example.org/demo' },
    files,
    format,
    ...extra,
  };
}

describe('package factory output', { timeout: 120_000 }, () => {
  for (const format of ['.conda', '.tar.bz2'] as const) {
    it(`${format}: cph extracts it to exactly the files and metadata asked for`, async (t) => {
      if (!requireTool(t, 'cph', ['--version'])) return;
      const path = await writePackage(dir, spec(format));
      assert.equal(basename(path), `demo-tool-2.0.1-py312h0_3${format}`);
      const dest = join(dir, `extracted${format}`);
      run('cph', ['extract', '--dest', dest, path]);
      for (const [file, content] of Object.entries(files)) {
        assert.deepEqual(readFileSync(join(dest, file)), Buffer.from(content), file);
      }
      const index = JSON.parse(readFileSync(join(dest, 'info/index.json'), 'utf8'));
      assert.deepEqual(index, indexJsonOf(spec(format)));
      assert.equal(index.build_number, 3);
      assert.deepEqual(JSON.parse(readFileSync(join(dest, 'info/about.json'), 'utf8')), spec(format).about);
      const paths = JSON.parse(readFileSync(join(dest, 'info/paths.json'), 'utf8'));
      assert.equal(paths.paths_version, 1);
      for (const entry of paths.paths) {
        const content = readFileSync(join(dest, entry._path));
        assert.equal(entry.sha256, createHash('sha256').update(content).digest('hex'), entry._path);
        assert.equal(entry.size_in_bytes, content.length);
      }
      assert.deepEqual(paths.paths.map((p: { _path: string }) => p._path).sort(), Object.keys(files).sort());
    });
  }

  it('.conda: conda-package-streaming finds only info/ in the info member and the files in pkg', async (t) => {
    if (!requireTool(t, PYTHON, ['-c', 'import conda_package_streaming'])) return;
    const path = await writePackage(dir, spec('.conda', { infoMethod: 'deflated' }));
    const script = `
import json, sys
from conda_package_streaming.package_streaming import stream_conda_component, CondaComponent
out = {}
for component in (CondaComponent.info, CondaComponent.pkg):
    with open(sys.argv[1], 'rb') as fh:
        out[component.name] = sorted(m.name for _, m in stream_conda_component(sys.argv[1], fh, component))
print(json.dumps(out))`;
    const listing = JSON.parse(run(PYTHON, ['-c', script, path]));
    assert.deepEqual(listing.info, ['info/about.json', 'info/files', 'info/index.json', 'info/paths.json']);
    assert.deepEqual(listing.pkg, Object.keys(files).sort());
  });

  it('.conda with a deflated info member: Provena reads it too (yauzl inflates, then zstd)', async () => {
    const path = await writePackage(dir, spec('.conda', { name: 'deflated-info', infoMethod: 'deflated' }));
    const zip = readFileSync(path);
    const infoHeader = zip.indexOf('info-deflated-info');
    assert.equal(zip.readUInt16LE(zip.lastIndexOf(Buffer.from('PK\u0003\u0004'), infoHeader) + 8), 8, 'method 8');
    const meta = await readPackageMetadata(path, '.conda');
    assert.equal(meta.index.name, 'deflated-info');
    assert.deepEqual(meta.about, spec('.conda').about);
  });

  for (const format of ['.conda', '.tar.bz2'] as const) {
    it(`${format}: a package that cph itself creates is read by Provena`, async (t) => {
      if (!requireTool(t, 'cph', ['--version'])) return;
      const prefix = join(dir, `prefix${format}`);
      const index = { name: 'made-by-cph', version: '0.9', build: 'h1_0', build_number: 0, subdir: 'osx-arm64', depends: ['zlib'] };
      for (const [file, content] of Object.entries({
        'info/index.json': JSON.stringify(index),
        'info/about.json': JSON.stringify({ summary: 'cph made this' }),
        'info/files': 'share/x.txt\n',
        'share/x.txt': 'x\n',
      })) {
        mkdirSync(dirname(join(prefix, file)), { recursive: true });
        writeFileSync(join(prefix, file), content);
      }
      const out = join(dir, 'cph-out');
      mkdirSync(out, { recursive: true });
      run('cph', ['create', prefix, `made-by-cph-0.9-h1_0${format}`, '--out-folder', out]);
      const path = join(out, `made-by-cph-0.9-h1_0${format}`);
      assert.ok(existsSync(path));
      const meta = await readPackageMetadata(path, format);
      assert.deepEqual(meta.index, index);
      assert.deepEqual(meta.about, { summary: 'cph made this' });
    });
  }
});
