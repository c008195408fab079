import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { channelFileKey, type BlobStore, type Spool } from '../channel/ports.ts';

/**
 * Targets under their hash (`SUBDIR/SHA256.repodata.json`), as consistent snapshots name them: a copy
 * is written once and never changes, so metadata of an older version keeps naming bytes that exist
 * while a newer version is being published. They sit next to the plain files, at the very path the
 * TUF client asks for relative to the channel (`channels/NAME/SUBDIR/SHA256.FILE`), so a static
 * bucket serves signed repodata too. The repodata publisher writes the full files there first and
 * links the plain names to them (no copy); the shard index, small, is copied here.
 */
export const TUF_TARGET_FILES = ['repodata.json', 'repodata.json.zst', 'current_repodata.json', 'repodata_shards.msgpack.zst'] as const;

const HASHED_TARGET = /^([0-9a-f]{64})\.(repodata\.json|repodata\.json\.zst|current_repodata\.json|repodata_shards\.msgpack\.zst)$/;

export const tufTargetKey = (channel: string, subdir: string, sha256: string, file: string) => channelFileKey(channel, subdir, `${sha256}.${file}`);

/** Where copies were kept before they moved next to the plain files: still served, pruned as before. */
export const legacyTufTargetPrefix = (channel: string, subdir: string) => `tuf/${channel}/targets/${subdir}/`;
export const legacyTufTargetKey = (channel: string, subdir: string, sha256: string, file: string) => `${legacyTufTargetPrefix(channel, subdir)}${sha256}.${file}`;

/** `SHA256.repodata.json` → its parts; null for any other name. */
export function hashedTargetOf(file: string): { sha256: string; file: string } | null {
  const m = HASHED_TARGET.exec(file);
  return m ? { sha256: m[1]!, file: m[2]! } : null;
}

/**
 * Makes `to` (a hashed name) hold the bytes of `sha256`: an existence check when the publisher wrote
 * them there already (`from` is `to`), else a copy of the bytes under `from`. Returns false when they
 * are not to be had (`from` no longer holds them: a newer version replaced them and will be signed
 * instead).
 */
export async function pinTarget(blobs: BlobStore, spool: Spool, from: string, to: string, sha256: string): Promise<boolean> {
  if (await blobs.stat(to)) return true;
  if (from === to) return false;
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
