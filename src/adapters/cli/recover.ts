import type { AppServices } from '../../app.ts';
import type { BlobStore } from '../../core/channel/ports.ts';
import { repairStaticChannel } from '../../core/channel/static-layout.ts';

/** Orphans younger than this may belong to an upload that is about to commit (another replica). */
const ORPHAN_GRACE_MS = 60 * 60 * 1000;

/**
 * What a restart after a crash needs, with no manual repair: drop half-written temporaries (where the
 * store has them), bring every subdir's static files and repodata up to the committed database (a
 * crash may have struck between commit and refresh), and collect package blobs that no record refers
 * to (an upload that died before commit).
 */
export async function recoverOnStart(s: AppServices, blobs: BlobStore): Promise<void> {
  await blobs.removeStaleTemporaries?.();
  for (const channel of await s.store.channels.list()) {
    const subdirs = await s.store.packages.subdirs(channel.name);
    // the static channel in storage (static-layout.ts): each package at its path, and noarch always
    for (const subdir of subdirs) await repairStaticChannel(s.store, blobs, channel.name, subdir);
    for (const subdir of subdirs.includes('noarch') ? subdirs : [...subdirs, 'noarch']) {
      // two primary-key reads for a subdir whose built generations are current; only those behind are rebuilt
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
