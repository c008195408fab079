import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { AccessControl } from './core/channel/access.ts';
import { ChannelService } from './core/channel/channels.ts';
import { Ingest } from './core/channel/ingest.ts';
import { KeyService } from './core/channel/keys.ts';
import { PackageService } from './core/channel/packages.ts';
import type { BlobStore, Clock, MetadataStore, RepodataListener, Spool } from './core/channel/ports.ts';
import { RepodataPublisher } from './core/channel/repodata-publisher.ts';
import type { FullFilesWriter } from './core/channel/full-files.ts';
import { ServedFiles } from './core/channel/served-files.ts';
import { buildHttpServer, type HttpOptions } from './adapters/http/server.ts';
import type { SignerKey } from './core/tlog/note-keys.ts';
import { TransparencyLog } from './core/tlog/transparency-log.ts';
import { AttestationGate } from './core/channel/attestation-gate.ts';
import type { SigstoreTrustRoot } from './core/attest/trust-root.ts';
import { PublisherService } from './core/publish/publishers.ts';
import type { TrustedPublishingService } from './core/publish/trusted-publishing.ts';
import { createTrustedPublishing, type TrustedPublishingConfig } from './adapters/oidc/trusted-publishing-setup.ts';
import { TufService } from './core/tuf/tuf-service.ts';
import type { TufKeyring } from './core/tuf/keyring.ts';
import { DEFAULT_EXPIRY, type ExpiryPolicy } from './core/tuf/metadata.ts';
import { Metrics } from './adapters/http/metrics.ts';
import { readinessChecks, type Readiness } from './adapters/http/health.ts';

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
  /** the transparency log: its signing key, origin and batch interval */
  log: { key: SignerKey; origin: string; batchMs?: number };
  /** Sigstore trusted roots attestations must chain to (public-good, staging, private instances) */
  trustRoots: readonly SigstoreTrustRoot[];
  /** Trusted Publishing: OIDC issuers, audience, upload token lifetime (defaults: GitHub + gitlab.com, host name, 15 min) */
  trustedPublishing?: TrustedPublishingConfig;
  /** signed repodata (TUF): the server's keys and how long signatures last; absent, no channel is signed */
  tuf?: { keys: TufKeyring; expiry?: Partial<ExpiryPolicy> };
  /**
   * full repodata files: rebuilt before the acknowledgement below `syncRecords` records, else every
   * `debounceMs` at most, by `fullFiles` when given (serve: a builder process), else in this process
   */
  repodata?: { syncRecords?: number; debounceMs?: number; fullFiles?: FullFilesWriter };
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
  log: TransparencyLog;
  publishers: PublisherService;
  trustedPublishing: TrustedPublishingService;
  /** each channel as a TUF repository (undefined when the server signs no repodata) */
  tuf?: TufService;
  /** Prometheus metrics; also the core's Telemetry */
  metrics: Metrics;
  /** what `/readyz` checks */
  readiness: Readiness;
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
  const metrics = new Metrics(() => services.log);
  // signed repodata (TUF) listens to every new repodata version; it is made below, with the log
  const repodataListeners: RepodataListener[] = [];
  const repodata = new RepodataPublisher(deps.store, deps.blobs, repodataListeners, metrics, {
    ...deps.repodata,
    spoolDir: deps.spoolDir,
    onError: (err, channel, subdir) => http.log.error({ err }, `repodata: rebuilding ${channel}/${subdir} failed`),
  });
  const log = new TransparencyLog({
    store: deps.store,
    blobs: deps.blobs,
    key: deps.log.key,
    origin: deps.log.origin,
    clock,
    intervalMs: deps.log.batchMs,
    onError: (err) => http.log.error({ err }, 'transparency log: checkpoint batch failed'),
  });
  const tuf =
    deps.tuf &&
    new TufService({
      store: deps.store,
      blobs: deps.blobs,
      keys: deps.tuf.keys,
      clock,
      spool,
      expiry: { ...DEFAULT_EXPIRY, ...deps.tuf.expiry },
      log,
      telemetry: metrics,
      warn: (message, fields) => http.log.warn(fields, message),
    });
  if (tuf) repodataListeners.push(tuf);
  const services: AppServices = {
    store: deps.store,
    blobs: deps.blobs,
    access,
    repodata,
    channels: new ChannelService(deps.store, access, clock, log, {
      channelDeleted: async (name) => {
        await repodata.forget(name);
        await tuf?.forget(name);
      },
      // a static reader of the storage needs noarch/repodata.json from the start (conda asks for it first)
      channelCreated: (channel) => repodata.refresh(channel.name, 'noarch'),
    }),
    keys: new KeyService(deps.store, access, clock),
    packages: new PackageService(deps.store, access, repodata, log, clock, deps.blobs),
    ingest: new Ingest({
      store: deps.store,
      blobs: deps.blobs,
      access,
      spool,
      clock,
      repodata,
      limits: { maxPackageBytes: deps.maxPackageBytes },
      log,
      // read at upload time: with --port 0 the public URL is known only after listening
      attestations: new AttestationGate(deps.store, deps.trustRoots, (channel) => `${services.publicUrl}/${channel}`, metrics),
    }),
    servedFiles: new ServedFiles(deps.store, access, repodata, deps.blobs),
    publicUrl: deps.publicUrl,
    log,
    publishers: new PublisherService(deps.store, access, clock),
    tuf,
    trustedPublishing: createTrustedPublishing(deps.store, clock, deps.trustedPublishing ?? {}, () => services.publicUrl, () => http.log),
    metrics,
    readiness: readinessChecks({ store: deps.store, blobs: deps.blobs, logKey: deps.log.key, log: { error: (o, m) => http.log.error(o, m) } }),
  };
  const http = buildHttpServer(services, deps.http ?? { logger: false });
  return { services, http };
}
