import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalid, ProvenaError, tooLarge } from '../errors.ts';
import type { FileDigests } from '../conda/types.ts';
import type { Spool } from './ports.ts';

/** An upload's bytes on local disk, with the digests measured on the way in. */
export interface SpooledFile extends FileDigests {
  path: string;
  discard(): Promise<void>;
}

/**
 * Streams a request body to a spool file while computing sha256, md5 and size, and stops as soon as
 * the size limit is passed: memory stays flat whatever the package size, and an oversized upload is
 * cut off without being written out.
 */
export async function receiveToSpool(
  body: Readable,
  spool: Spool,
  limit: number | { maxBytes: number; what: string },
  declaredBytes?: number,
): Promise<SpooledFile> {
  const { maxBytes, what } = typeof limit === 'number' ? { maxBytes: limit, what: `the ${limit}-byte limit for packages on this server` } : limit;
  const refusal = () => tooLarge('package_too_large', `the upload exceeds ${what}`);
  if (declaredBytes !== undefined && declaredBytes > maxBytes) {
    body.resume(); // read and drop, so the client, still sending, gets the answer
    throw refusal();
  }
  const path = spool.path();
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) {
        done(refusal());
        return;
      }
      sha256.update(chunk);
      md5.update(chunk);
      done(null, chunk);
    },
  });
  const discard = () => rm(path, { force: true });
  const aborted = new Promise<never>((_, reject) => {
    body.once('error', (e) => reject(e));
    body.once('aborted', () => reject(new Error('the client aborted the request')));
  });
  aborted.catch(() => undefined);
  const writing = pipeline(meter, createWriteStream(path, { highWaterMark: 1024 * 1024 }));
  writing.catch(() => undefined);
  try {
    // The body is piped, not handed to pipeline(): a refusal (too large) must not destroy the
    // request, or the client, still sending, never reads the 413. The rest is read and dropped.
    body.pipe(meter);
    await Promise.race([writing, aborted]);
  } catch (e) {
    body.unpipe(meter);
    if (!body.destroyed) body.resume();
    // the file stream may open (create the file) after a body that failed at once: removed only
    // once it is closed, or a spool file outlives the refused upload
    meter.destroy();
    await writing.catch(() => undefined);
    await discard();
    if (e instanceof ProvenaError) throw e;
    throw invalid('upload_interrupted', `the upload ended before its body was complete (${(e as Error).message}); send it again`);
  }
  return { path, sha256: sha256.digest('hex'), md5: md5.digest('hex'), size, discard };
}
