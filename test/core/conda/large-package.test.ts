import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { readPackageMetadata, type ReadLimits } from '../../../src/core/conda/package-reader.ts';
import type { PackageFormat } from '../../../src/core/conda/types.ts';
import { writePackage, type PackageSpec } from '../../support/package-factory.ts';

/**
 * Memory must not grow with the package: a fresh process reads it while sampling RSS (see
 * rss-probe.ts). Bounds are loose (GC timing varies) but far below the bytes involved.
 */

const MiB = 1024 * 1024;
const PROBE = fileURLToPath(new URL('./rss-probe.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'provena-large-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Reads the package in a fresh process; returns its name and the RSS growth while reading. */
function readWatchingMemory(path: string, format: PackageFormat, limits?: Partial<ReadLimits>) {
  const args = ['--import', 'tsx', PROBE, path, format, ...(limits ? [JSON.stringify(limits)] : [])];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 240_000 });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout) as { name: string; growth: number };
}

describe('large packages', { timeout: 300_000 }, () => {
  it('.conda with 200 MB of incompressible package data: info member found, RSS growth far below the file', async () => {
    const spec: PackageSpec = {
      name: 'huge-data',
      version: '1.0',
      build: 'h0_0',
      subdir: 'linux-64',
      format: '.conda',
      files: { 'share/huge-data/blob.bin': randomBytes(200 * MiB) },
      level: 1,
    };
    const path = await writePackage(dir, spec);
    spec.files = undefined; // drop the 200 MB before measuring
    const size = statSync(path).size;
    assert.ok(size > 200 * MiB, `package is ${size} bytes`);
    const { name, growth } = readWatchingMemory(path, '.conda');
    assert.equal(name, 'huge-data');
    assert.ok(growth < size / 4, `RSS grew by ${(growth / MiB).toFixed(1)} MiB reading a ${(size / MiB).toFixed(0)} MiB package`);
  });

  it('.tar.bz2 decoding 256 MiB before index.json: read to the end, RSS growth far below what was decoded', async () => {
    // zeros before info/: small and quick to build, yet every byte passes through the decoder and tar
    const decoded = 256 * MiB;
    const path = await writePackage(dir, {
      name: 'late-info',
      version: '1.0',
      build: 'h0_0',
      subdir: 'linux-64',
      format: '.tar.bz2',
      leadingInfoMembers: [{ path: 'share/late-info/zeros.bin', zeros: decoded }],
    });
    // this is not a bomb test: lift the ratio bound that would (rightly) stop it
    const { name, growth } = readWatchingMemory(path, '.tar.bz2', { maxCompressionRatio: 1e9 });
    assert.equal(name, 'late-info');
    assert.ok(growth < 96 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB decoding ${decoded / MiB} MiB`);
  });

  it('.tar.bz2 with incompressible files before info/: every block decoded, metadata found', async () => {
    const path = await writePackage(dir, {
      name: 'noisy',
      version: '1.0',
      build: 'h0_0',
      subdir: 'noarch',
      noarch: 'generic',
      format: '.tar.bz2',
      files: { 'share/noisy/a.bin': randomBytes(3 * MiB), 'share/noisy/b.bin': randomBytes(2 * MiB) },
      filesFirst: true,
    });
    const meta = await readPackageMetadata(path, '.tar.bz2');
    assert.equal(meta.index.name, 'noisy');
    assert.equal(meta.about?.summary, 'noisy, a test package');
  });
});
