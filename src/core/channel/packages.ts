import { notFound } from '../errors.ts';
import type { AccessControl, Principal } from './access.ts';
import type { StoredPackage } from './model.ts';
import type { BlobStore, Clock, MetadataStore } from './ports.ts';
import { withdrawStaticFiles } from './static-layout.ts';
import { type ChangeLog, fileEntry } from './log-entries.ts';
import type { RepodataPublisher } from './repodata-publisher.ts';

/** Reading a channel's package list and taking files out of it. */
export class PackageService {
  constructor(
    private readonly store: MetadataStore,
    private readonly access: AccessControl,
    private readonly repodata: RepodataPublisher,
    private readonly log: ChangeLog,
    private readonly clock: Clock,
    /** where the static channel's copies of packages live (static-layout.ts) */
    private readonly blobs?: BlobStore,
  ) {}

  async list(principal: Principal, channelName: string, filter: { subdir?: string; filename?: string } = {}): Promise<StoredPackage[]> {
    const channel = await this.access.require(principal, channelName, 'read');
    const subdirs = filter.subdir !== undefined ? [filter.subdir] : await this.store.packages.subdirs(channel.name);
    const out: StoredPackage[] = [];
    for (const subdir of subdirs) {
      for (const pkg of await this.store.packages.list(channel.name, subdir)) {
        if (filter.filename === undefined || pkg.filename === filter.filename) out.push(pkg);
      }
    }
    return out;
  }

  async get(principal: Principal, channelName: string, subdir: string, filename: string): Promise<StoredPackage> {
    const channel = await this.access.require(principal, channelName, 'read');
    const pkg = await this.store.packages.get(channel.name, subdir, filename);
    if (!pkg) throw notFound('package_not_found', `${channel.name}/${subdir}/${filename} is not in the channel`);
    return pkg;
  }

  /**
   * Takes a file out of `packages` and lists its name under `removed`, as conda-index does for
   * hotfixes. Removing needs the channel's admin scope: an upload key cannot unpublish.
   */
  async remove(principal: Principal, channelName: string, subdir: string, filename: string): Promise<StoredPackage> {
    const channel = await this.access.require(principal, channelName, 'admin');
    const removed = await this.store.transaction(async (tx) => {
      const pkg = await tx.packages.remove(channel.name, subdir, filename);
      if (pkg) await this.log.append(tx, fileEntry('remove', pkg, principal, this.clock.now()));
      return pkg;
    });
    if (!removed) throw notFound('package_not_found', `${channel.name}/${subdir}/${filename} is not in the channel`);
    if (this.blobs) await withdrawStaticFiles(this.blobs, removed);
    await this.repodata.refresh(channel.name, subdir);
    return removed;
  }
}
