import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parsePackageFilename } from '../../core/conda/filename.ts';
import { readPackageMetadata } from '../../core/conda/package-reader.ts';
import { isKnownSubdir } from '../../core/conda/platforms.ts';
import { checkPackageIdentity, toPackageRecord } from '../../core/conda/record.ts';
import type { PackageRecord } from '../../core/conda/types.ts';
import { subdirFiles } from '../../core/repodata/channel-files.ts';
import { isProvenaError } from '../../core/errors.ts';
import { CliError } from './cli-error.ts';
import { ProgressBar } from './progress.ts';
import { writeFileDurably } from '../files/durable-file.ts';

export interface IndexReport {
  subdirs: Record<string, { packages: number; skipped: { file: string; reason: string }[] }>;
}

/**
 * `provena index DIR`: writes repodata.json(.zst), current_repodata.json(.zst) and sharded repodata
 * into every platform subdir of a directory of packages, as conda-index / rattler-index do.
 * A package that cannot be read is reported and left out, never half-indexed.
 */
export async function indexDirectory(dir: string, log: (line: string) => void = () => undefined): Promise<IndexReport> {
  const root = path.resolve(dir);
  const entries = await fs.readdir(root, { withFileTypes: true }).catch(() => {
    throw new CliError(`cannot read directory ${dir}; give the channel directory that holds noarch/, linux-64/, ...`, 2);
  });
  const subdirs = entries.filter((e) => e.isDirectory() && isKnownSubdir(e.name)).map((e) => e.name);
  if (!subdirs.includes('noarch')) {
    await fs.mkdir(path.join(root, 'noarch')); // clients always ask for noarch
    subdirs.push('noarch');
  }
  const report: IndexReport = { subdirs: {} };
  for (const subdir of subdirs.sort()) {
    const files = (await fs.readdir(path.join(root, subdir))).filter((f) => f.endsWith('.conda') || f.endsWith('.tar.bz2'));
    const progress = new ProgressBar(`index ${subdir}`, files.length, 'items');
    const packages = new Map<string, PackageRecord>();
    const packagesConda = new Map<string, PackageRecord>();
    const skipped: { file: string; reason: string }[] = [];
    for (const file of files.sort()) {
      try {
        (file.endsWith('.conda') ? packagesConda : packages).set(file, await indexOne(path.join(root, subdir, file), subdir));
      } catch (e) {
        if (!isProvenaError(e)) throw e;
        skipped.push({ file, reason: `${e.code}: ${e.detail}` });
        log(`skipped ${subdir}/${file}: ${e.code}: ${e.detail}`);
      }
      progress.tick(1);
    }
    progress.finish();
    for (const out of subdirFiles({ subdir, packages, packagesConda, removed: [], createdAt: new Date() })) {
      await writeAtomically(path.join(root, out.path), out.bytes);
    }
    const count = packages.size + packagesConda.size;
    report.subdirs[subdir] = { packages: count, skipped };
    log(`${subdir}: ${count} packages${skipped.length ? `, ${skipped.length} skipped` : ''}`);
  }
  return report;
}

async function indexOne(file: string, subdir: string): Promise<PackageRecord> {
  const parsed = parsePackageFilename(path.basename(file));
  const meta = await readPackageMetadata(file, parsed.format);
  const resolvedSubdir = checkPackageIdentity(parsed, meta.index, subdir);
  return toPackageRecord({ ...meta.index, subdir: resolvedSubdir }, await digestFile(file));
}

async function digestFile(file: string): Promise<{ sha256: string; md5: string; size: number }> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    sha256.update(chunk as Buffer);
    md5.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: sha256.digest('hex'), md5: md5.digest('hex'), size };
}

async function writeAtomically(target: string, bytes: Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(target), { recursive: true });
  writeFileDurably(target, bytes, { how: 'replace' });
}
