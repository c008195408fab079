import { createReadStream } from 'node:fs';
import { decodeBzip2 } from './bzip2-stream.ts';
import { DecompressionBudget, tarBz2Budget, type ReadLimits } from './read-limits.ts';
import { readTarMembers } from './tar-members.ts';

/**
 * `.tar.bz2` (format v1): one bzip2-compressed tar of `info/` and the package files, in no fixed
 * order (conda-build writes info first, but zlib's own package mixes them), so the stream is
 * decoded until the wanted members have been seen, or to the end.
 */

/** Large reads: fewer, bigger chunks into the bzip2 decoder, which buffers a block's worth anyway. */
const READ_CHUNK = 1024 * 1024;

/** `size` is the file's size in bytes: the decompression budget scales with it. */
export async function readTarBz2Members(
  path: string,
  size: number,
  wanted: readonly string[],
  limits: ReadLimits,
): Promise<Map<string, Buffer>> {
  const budget = new DecompressionBudget(tarBz2Budget(limits, size), 'the .tar.bz2 package');
  // the decoder closes this stream on every path: end, early stop, or error
  const file = createReadStream(path, { highWaterMark: READ_CHUNK });
  try {
    return await readTarMembers(decodeBzip2(file, budget), {
      wanted,
      maxMemberBytes: limits.maxJsonBytes,
      stopWhenComplete: true,
      what: 'the .tar.bz2 package',
    });
  } finally {
    // wait for close(2), so callers may delete or move the file as soon as this returns
    await new Promise<void>((resolve) => {
      if (file.closed) return resolve();
      file.once('close', () => resolve());
      file.destroy();
    });
  }
}
