/**
 * Issue 8: `provena import` in bulk. A synthetic channel (records shaped like conda-forge's: depends,
 * constrains, license, timestamp; small files) imported into a fresh SQLite data directory, each run
 * in a child process of its own (import-worker.ts) so its peak RSS is the import's:
 *   - bulk: what `provena import` does (repodata.json streamed, multi-row inserts, one bulk log append
 *     per batch of 500);
 *   - per-record, the baseline: the path it replaced (JSON.parse of the whole file, one INSERT and one
 *     log append per record, same batches).
 * And the memory of reading a conda-forge-sized repodata.json (no files): streamed as the import reads
 * it vs parsed whole.
 * Reported, no target: records/s (ratio = bulk ÷ per-record) and peak RSS of each.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context.ts';
import { PROJECT_ROOT } from '../lib/provena-process.ts';
import { makeRow, newSection, type SectionResult } from '../lib/report.ts';
import type { Section } from '../lib/section.ts';
import { MB } from '../lib/util.ts';

interface WorkerResult {
  mode: string;
  seconds: number;
  imported: number;
  peakRssBytes: number;
  rssBeforeBytes: number;
}

export const importSection: Section = {
  id: 'import',
  title: 'provena import: bulk records and log entries vs one at a time',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const quick = ctx.config.rounds === 1;
    const records = quick ? 2_000 : 20_000;
    const s = newSection(this.id, this.title, 'per-record');
    s.setup.push(
      `${records} synthetic noarch records (~700 B of repodata each, files of 256 B), imported into a fresh SQLite data directory; a child process per run; best of ${ctx.config.rounds}`,
      'bulk: repodata.json streamed (two passes: check, import), multi-row INSERTs, one bulk log append per 500 records',
      'per-record (baseline): repodata.json parsed whole, one INSERT + one log append per record, same transactions of 500',
    );
    const source = join(ctx.tmpRoot, 'import', 'source');
    await writeSource(source, records);
    const best: Record<string, WorkerResult> = {};
    for (let round = 1; round <= ctx.config.rounds; round++) {
      for (const mode of round % 2 ? ['per-record', 'bulk'] : ['bulk', 'per-record']) {
        const dataDir = join(ctx.tmpRoot, 'import', `data-${mode}-${round}`);
        const out = execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bench/sections/import-worker.ts'), mode, source, dataDir], {
          cwd: PROJECT_ROOT,
          encoding: 'utf8',
          maxBuffer: 1 << 20,
          timeout: 300_000,
        });
        const r = JSON.parse(out.trim().split('\n').pop()!) as WorkerResult;
        if (r.imported !== records) throw new Error(`${mode}: imported ${r.imported} of ${records}`);
        ctx.log(`import round ${round}: ${mode} ${(records / r.seconds).toFixed(0)} records/s, peak RSS ${(r.peakRssBytes / MB).toFixed(0)} MB`);
        if (!best[mode] || r.seconds < best[mode].seconds) best[mode] = r;
      }
    }
    const [bulk, per] = [best.bulk!, best['per-record']!];
    s.rows.push(
      makeRow(`import of ${records} records, records/s`, 'records/s', records / bulk.seconds, records / per.seconds, null),
      makeRow('peak RSS of the import process (MB)', 'MB', bulk.peakRssBytes / MB, per.peakRssBytes / MB, null, false),
    );
    // reading alone, at conda-forge size: the records of a big repodata.json, streamed vs parsed whole
    const bigRecords = quick ? 50_000 : 350_000;
    const big = join(ctx.tmpRoot, 'import', 'big');
    const bigBytes = await writeBigRepodata(big, bigRecords);
    const read: Record<string, WorkerResult> = {};
    for (const mode of ['read-whole', 'read-stream']) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bench/sections/import-worker.ts'), mode, big], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        maxBuffer: 1 << 20,
        timeout: 300_000,
      });
      read[mode] = JSON.parse(out.trim().split('\n').pop()!) as WorkerResult;
      if (read[mode].imported !== bigRecords) throw new Error(`${mode}: read ${read[mode].imported} of ${bigRecords}`);
    }
    s.setup.push(`reading alone: a ${(bigBytes / MB).toFixed(0)} MB repodata.json of ${bigRecords} records, streamed (both passes) vs JSON.parse of the whole file`);
    s.rows.push(
      makeRow(`peak RSS reading ${bigRecords} records (MB)`, 'MB', read['read-stream']!.peakRssBytes / MB, read['read-whole']!.peakRssBytes / MB, null, false),
      makeRow(`time reading ${bigRecords} records (s)`, 's', read['read-stream']!.seconds, read['read-whole']!.seconds, null, false),
    );
    s.details = { best, read };
    return s;
  },
};

/** DIR/noarch/repodata.json of `n` records (no files), written as a stream; returns its size. */
async function writeBigRepodata(dir: string, n: number): Promise<number> {
  await mkdir(join(dir, 'noarch'), { recursive: true });
  const file = join(dir, 'noarch', 'repodata.json');
  const out = createWriteStream(file);
  const write = (text: string) => (out.write(text) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('{"info":{"subdir":"noarch"},"packages":{},"packages.conda":{');
  for (let i = 0; i < n; i++) {
    const name = `bigpkg${i % 20_011}`;
    const version = `${i % 13}.${Math.floor(i / 20_011)}.${i % 7}`;
    const build = `pyh${(i * 2654435761 >>> 0).toString(16).padStart(8, '0')}_0`;
    const sha = createHash('sha256').update(String(i)).digest('hex');
    const record = condaForgeShaped(i, name, version, build, { md5: sha.slice(0, 32), sha256: sha, size: 123_456 + i });
    await write(`${i ? ',' : ''}${JSON.stringify(`${name}-${version}-${build}.conda`)}:${JSON.stringify(record)}`);
  }
  await write('},"removed":[],"repodata_version":1}');
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
  return statSync(file).size;
}

/** A noarch python record shaped like conda-forge's (keys sorted, as repodata.json has them). */
function condaForgeShaped(i: number, name: string, version: string, build: string, file: { md5: string; sha256: string; size: number }) {
  return {
    build,
    build_number: 0,
    constrains: [`${name}-extras ==${version}`],
    depends: ['python >=3.9', 'numpy >=1.21,<3', 'packaging', 'typing-extensions >=4.0', `lib${name} >=${version},<2`, 'setuptools'],
    license: 'BSD-3-Clause',
    license_family: 'BSD',
    md5: file.md5,
    name,
    noarch: 'python',
    sha256: file.sha256,
    size: file.size,
    subdir: 'noarch',
    timestamp: 1_700_000_000_000 + i,
    version,
  };
}

/** DIR/noarch/repodata.json and its files: records shaped like conda-forge's, files of random bytes. */
async function writeSource(dir: string, n: number): Promise<void> {
  const subdir = join(dir, 'noarch');
  await mkdir(subdir, { recursive: true });
  const conda: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const name = `bulkpkg${i % 997}`;
    const version = `1.${Math.floor(i / 997)}.${i % 7}`;
    const build = `pyh${createHash('sha1').update(String(i)).digest('hex').slice(0, 8)}_0`;
    const filename = `${name}-${version}-${build}.conda`;
    const bytes = randomBytes(256);
    await writeFile(join(subdir, filename), bytes);
    conda[filename] = condaForgeShaped(i, name, version, build, {
      md5: createHash('md5').update(bytes).digest('hex'),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
    });
  }
  await writeFile(join(subdir, 'repodata.json'), JSON.stringify({ info: { subdir: 'noarch' }, packages: {}, 'packages.conda': conda, removed: [], repodata_version: 1 }));
}
