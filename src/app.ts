import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AccessControl } from './core/channel/access.ts';
import { ChannelService } from './core/channel/channels.ts';
import { Ingest } from './core/channel/ingest.ts';
import { KeyService } from './core/channel/keys.ts';
import { PackageService } from './core/channel/packages.ts';
import type { BlobStore, Clock, MetadataStore, Spool } from './core/channel/ports.ts';
import { RepodataPublisher } from './core/channel/repodata-publisher.ts';
import { ServedFiles } from './core/channel/served-files.ts';
import { buildHttpServer, type HttpOptions } from './adapters/http/server.ts';

export interface AppDeps {
  store: MetadataStore;
  blobs: BlobStore;
  /** local directory for spooling uploads; on the blob store's filesystem when it is local */
  spoolDir: string;
  adminToken: string;
  /** the URL clients reach the server at, without a trailing slash */
  publicUrl: string;
  maxPackageBytes: number;
  clock?: Clock;
  http?: HttpOptions;
}

export interface AppServices {
  store: MetadataStore;
  blobs: BlobStore;
  access: AccessControl;
  channels: ChannelService;
  keys: KeyService;
  packages: PackageService;
  ingest: Ingest;
  repodata: RepodataPublisher;
  servedFiles: ServedFiles;
  publicUrl: string;
}

export interface App {
  services: AppServices;
  http: FastifyInstance;
}

/** Builds the server from its parts; main.ts wires production parts, tests wire theirs. */
export function createApp(deps: AppDeps): App {
  const clock = deps.clock ?? { now: () => new Date() };
  const spool: Spool = { path: () => path.join(deps.spoolDir, `upload-${randomBytes(12).toString('hex')}`) };
  const access = new AccessControl(deps.store, deps.adminToken, clock);
  const repodata = new RepodataPublisher(deps.store, deps.blobs);
  const services: AppServices = {
    store: deps.store,
    blobs: deps.blobs,
    access,
    repodata,
    channels: new ChannelService(deps.store, access, clock, {
      channelDeleted: (name) => repodata.forget(name),
    }),
    keys: new KeyService(deps.store, access, clock),
    packages: new PackageService(deps.store, access, repodata),
    ingest: new Ingest({
      store: deps.store,
      blobs: deps.blobs,
      access,
      spool,
      clock,
      repodata,
      limits: { maxPackageBytes: deps.maxPackageBytes },
    }),
    servedFiles: new ServedFiles(deps.store, access, repodata),
    publicUrl: deps.publicUrl,
  };
  return { services, http: buildHttpServer(services, deps.http ?? { logger: false }) };
}
