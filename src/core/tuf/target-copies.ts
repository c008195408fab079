import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, Spool } from '../channel/ports.ts';

/**
 * Targets under their hash (`SUBDIR/SHA256.repodata.json`), as consistent snapshots name them: a copy
 * is written once and never changes, so metadata of an older version keeps naming bytes that exist
 * while a newer version is being published.
 */
export const TUF_TARGET_FILES = ['repodata.json', 'repodata.json.zst', 'current_repodata.json', 'repodata_shards.msgpack.zst'] as const;

const HASHED_TARGET = /^([0-9a-f]{64})\.(repodata\.json|repodata\.json\.zst|current_repodata\.json|repodata_shards\.msgpack\.zst)$/;

export const tufTargetPrefix = (channel: string, subdir: string) => `tuf/${channel}/targets/${subdir}/`;
export const tufTargetKey = (channel: string, subdir: string, sha256: string, file: string) => `${tufTargetPrefix(channel, subdir)}${sha256}.${file}`;

/** `SHA256.repodata.json` → its parts; null for any other name. */
export function hashedTargetOf(file: string): { sha256: string; file: string } | null {
  const m = HASHED_TARGET.exec(file);
  return m ? { sha256: m[1]!, file: m[2]! } : null;
}

/**
 * Copies the bytes under `from` to their hashed name. Returns false when `from` no longer holds the
 * bytes of `sha256` (a newer version replaced them: that version will be signed instead).
 */
export async function pinTarget(blobs: BlobStore, spool: Spool, from: string, to: string, sha256: string): Promise<boolean> {
  if (await blobs.stat(to)) return true;
  const handle = await blobs.open(from);
  if (!handle) return false;
  const path = spool.path();
  const hash = createHash('sha256');
  try {
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(handle.stream(), meter, createWriteStream(path));
    if (hash.digest('hex') !== sha256) return false;
    await blobs.putFile(to, path);
    return true;
  } finally {
    await rm(path, { force: true });
  }
}
