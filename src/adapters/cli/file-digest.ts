import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { usageError } from './cli-error.ts';

/** sha256 (hex) of a local file, streamed; an unreadable file is the user's input error (exit 2). */
export async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  try {
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  } catch (e) {
    throw usageError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return h.digest('hex');
}
