import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { isProvenaError, unprocessable, type ProvenaError } from '../errors.ts';
import { DecompressionBudget, type ReadLimits } from './read-limits.ts';
import { readTarMembers } from './tar-members.ts';
import { decodeZstd } from './zstd-stream.ts';

/**
 * `.conda` (format v2): a zip of `metadata.json`, `pkg-<dist>.tar.zst` and `info-<dist>.tar.zst`.
 * Only the central directory and the info member are read; the pkg member, usually nearly the
 * whole file, is never touched.
 */

/** A .conda has three entries; anything far beyond is not one, and costs time to list. */
const MAX_ENTRIES = 64;
const INFO_MEMBER = /^info-.+\.tar\.zst$/;

export async function readCondaMembers(
  path: string,
  wanted: readonly string[],
  limits: ReadLimits,
): Promise<Map<string, Buffer>> {
  const zip = await openZip(path);
  let stream: Readable | undefined;
  try {
    const info = await findInfoEntry(zip);
    if (info === undefined) {
      throw unprocessable(
        'missing_index_json',
        'the .conda has no info-*.tar.zst member, so no info/index.json; build it with conda-build, rattler-build or cph',
      );
    }
    if (info.uncompressedSize > limits.maxInfoDecompressedBytes) {
      throw unprocessable(
        'decompression_limit',
        `the info member declares ${info.uncompressedSize} bytes, more than the limit of ${limits.maxInfoDecompressedBytes}`,
      );
    }
    stream = await openEntry(zip, info);
    const budget = new DecompressionBudget(limits.maxInfoDecompressedBytes, 'the info member');
    return await readTarMembers(decodeZstd(stream, budget), {
      wanted,
      maxMemberBytes: limits.maxJsonBytes,
      stopWhenComplete: false,
      what: 'the info member',
    });
  } catch (err) {
    throw asZipError(err);
  } finally {
    stream?.destroy();
    await closeZip(zip);
  }
}

/** Resolves once the file descriptor is closed, so callers may delete or move the file at once. */
function closeZip(zip: yauzl.ZipFile): Promise<void> {
  return new Promise((resolve) => {
    zip.once('close', () => resolve());
    zip.once('error', () => resolve()); // a failed close(2): nothing left to release
    zip.close();
  });
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    // names are decoded and checked here (decodeStrings: false) so that a bad one gets our code
    const options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true };
    yauzl.open(path, options, (err, zip) => (err ? reject(asZipError(err)) : resolve(zip)));
  });
}

/** Lists the central directory, checking every name; returns the one `info-*.tar.zst` entry. */
function findInfoEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  if (zip.entryCount > MAX_ENTRIES) {
    const detail = `the zip lists ${zip.entryCount} entries; a .conda holds metadata.json, info-*.tar.zst and pkg-*.tar.zst`;
    return Promise.reject(unprocessable('corrupt_package', detail));
  }
  return new Promise((resolve, reject) => {
    let info: yauzl.Entry | undefined;
    zip.on('error', (err: unknown) => reject(asZipError(err)));
    zip.on('end', () => resolve(info));
    zip.on('entry', (entry: yauzl.Entry) => {
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      const segments = name.split(/[\\/]/);
      if (/^([\\/]|[A-Za-z]:)/.test(name) || segments.includes('..')) {
        const detail = `the zip has an entry named ${JSON.stringify(name)}, an absolute path or one with '..'`;
        return reject(unprocessable('unsafe_path', detail));
      }
      if (INFO_MEMBER.test(name)) {
        if (info !== undefined) return reject(unprocessable('corrupt_package', 'the zip has two info-*.tar.zst members'));
        info = entry;
      }
      zip.readEntry();
    });
    zip.readEntry();
  });
}

function openEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => (err ? reject(asZipError(err)) : resolve(stream)));
  });
}

function asZipError(err: unknown): ProvenaError {
  if (isProvenaError(err)) return err;
  const why = err instanceof Error ? err.message : String(err);
  return unprocessable('corrupt_package', `the .conda is not a readable zip: ${why}`);
}
