import type { AppServices } from '../../app.ts';
import type { FsBlobStore } from '../blobs/fs/fs-blob-store.ts';

/** Orphans younger than this may belong to an upload that is about to commit (another replica). */
const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/**
 * What a restart after a crash needs, with no manual repair: drop half-written temporaries, bring
 * every subdir's repodata up to the committed database (a crash may have struck between commit and
 * refresh), and collect package blobs that no record refers to (an upload that died before commit).
 */
export async function recoverOnStart(s: AppServices, blobs: FsBlobStore): Promise<void> {
  await blobs.removeStaleTemporaries();
  for (const channel of await s.store.channels.list()) {
    for (const subdir of await s.store.packages.subdirs(channel.name)) {
      await s.repodata.refresh(channel.name, subdir);
    }
  }
  const now = Date.now();
  for await (const key of blobs.list('pkgs/sha256/')) {
    const sha256 = key.slice(key.lastIndexOf('/') + 1);
    if (await s.store.packages.isReferenced(sha256)) continue;
    const stat = await blobs.stat(key);
    if (stat && now - stat.lastModified.getTime() > ORPHAN_GRACE_MS) await blobs.delete(key);
  }
}
