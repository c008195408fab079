import type { StoredPackage } from './model.ts';
import { channelFileKey, packageBlobKey, sigsBlobKey, type BlobStore, type MetadataStore } from './ports.ts';
import { readSmallBlob } from './small-blob.ts';

/**
 * The blob store's `channels/NAME/SUBDIR/` is a complete static conda channel: the repodata publisher
 * writes the repodata and shards there, and this module puts each live package there under its
 * filename (a link to its content-addressed blob: a hard link on files, a server-side copy in a
 * bucket) with its attestation sidecars, and takes them away when the package goes. The server itself
 * keeps serving from the content-addressed keys; these copies are for a web server or CDN reading
 * the storage directly (docs/configuration.md, "Serving reads from the bucket").
 *
 * Order: placed after the record commits and before the repodata refresh that lists it, withdrawn
 * after the removal commits; a crash in between is repaired on start (`repairStaticChannel`).
 */
export type StaticFile = Pick<StoredPackage, 'channel' | 'subdir' | 'filename' | 'sha256' | 'attestationsSha256'>;

/** The sidecar names of a package file, as the server answers them (served-files.ts). */
function sidecarKeys(pkg: StaticFile, sigsSha256: string) {
  const key = (suffix: string) => channelFileKey(pkg.channel, pkg.subdir, pkg.filename + suffix);
  return { v0: key('.v0.sigs'), sigs: key('.sigs'), pinned: key(`.sigs.${sigsSha256}`), bundle: key('.sigstore') };
}

export async function placeStaticFiles(blobs: BlobStore, pkg: StaticFile, replaced?: StaticFile | null): Promise<void> {
  await blobs.link(packageBlobKey(pkg.sha256), channelFileKey(pkg.channel, pkg.subdir, pkg.filename));
  const sha = pkg.attestationsSha256;
  if (replaced?.attestationsSha256 && replaced.attestationsSha256 !== sha) {
    const old = sidecarKeys(replaced, replaced.attestationsSha256);
    await blobs.delete(old.pinned);
    if (!sha) for (const key of [old.v0, old.sigs, old.bundle]) await blobs.delete(key);
  }
  if (!sha) return;
  const keys = sidecarKeys(pkg, sha);
  const sigs = sigsBlobKey(sha);
  for (const key of [keys.v0, keys.sigs, keys.pinned]) await blobs.link(sigs, key);
  // the single bundle is the array's bytes without its brackets, never re-serialised
  const bytes = await readSmallBlob(blobs, sigs, 'the attestation');
  await blobs.putBytes(keys.bundle, bytes.subarray(1, bytes.length - 1));
}

export async function withdrawStaticFiles(blobs: BlobStore, pkg: StaticFile): Promise<void> {
  await blobs.delete(channelFileKey(pkg.channel, pkg.subdir, pkg.filename));
  if (!pkg.attestationsSha256) return;
  const keys = sidecarKeys(pkg, pkg.attestationsSha256);
  for (const key of [keys.v0, keys.sigs, keys.pinned, keys.bundle]) await blobs.delete(key);
}

/** The package file a static file belongs to: itself, or the package of a sidecar. */
const PACKAGE_OR_SIDECAR = /^(.+\.(?:conda|tar\.bz2))(\.v0\.sigs|\.sigs|\.sigstore|\.sigs\.[0-9a-f]{64})?$/;

/**
 * Brings one subdir's static files in line with the database after a crash: a live package missing
 * from its channel path (or its last-written sidecar) is placed (a commit the crash cut off before the
 * link), and the files of one no longer live are withdrawn. One listing per subdir; each candidate is
 * checked again just before it is withdrawn, so an upload racing the repair on another replica keeps
 * its files.
 */
export async function repairStaticChannel(store: MetadataStore, blobs: BlobStore, channel: string, subdir: string): Promise<number> {
  const present = new Map<string, string[]>(); // package filename -> its static files present
  const prefix = channelFileKey(channel, subdir, '');
  for await (const key of blobs.list(prefix)) {
    const file = key.slice(prefix.length);
    const m = file.includes('/') ? null : PACKAGE_OR_SIDECAR.exec(file);
    if (!m) continue;
    const files = present.get(m[1]!) ?? [];
    files.push(file);
    present.set(m[1]!, files);
  }
  let repaired = 0;
  for (const pkg of await store.packages.list(channel, subdir)) {
    const files = present.get(pkg.filename) ?? [];
    present.delete(pkg.filename);
    const complete = files.includes(pkg.filename) && (!pkg.attestationsSha256 || files.includes(`${pkg.filename}.sigstore`));
    if (complete) continue;
    await placeStaticFiles(blobs, pkg);
    repaired++;
  }
  for (const [filename, files] of present) {
    if (await store.packages.get(channel, subdir, filename)) continue;
    for (const file of files) await blobs.delete(prefix + file);
    repaired++;
  }
  return repaired;
}
