import type { FastifyBaseLogger } from 'fastify';
import type { Clock, MetadataStore } from '../../core/channel/ports.ts';
import { IssuerKeys, type FetchJson, type IssuerKeysOptions } from '../../core/publish/issuer-keys.ts';
import { DEFAULT_ISSUERS, type TrustedIssuer } from '../../core/publish/oidc-issuers.ts';
import { TrustedPublishingService, type MintEvent } from '../../core/publish/trusted-publishing.ts';
import { fetchJson } from './fetch-json.ts';

export interface TrustedPublishingConfig {
  /** issuers whose id tokens are exchanged; GitHub Actions and gitlab.com unless given */
  issuers?: readonly TrustedIssuer[];
  /** the `aud` id tokens must carry; default: the host name of the public URL */
  audience?: string;
  /** lifetime of minted upload tokens; 900 s unless given */
  uploadTokenTtlSeconds?: number;
  fetchJson?: FetchJson;
  keys?: IssuerKeysOptions;
}

/** Wires Trusted Publishing: issuers' keys over HTTP, and every exchange into the server log. */
export function createTrustedPublishing(
  store: MetadataStore,
  clock: Clock,
  config: TrustedPublishingConfig,
  publicUrl: () => string,
  log: () => FastifyBaseLogger,
): TrustedPublishingService {
  return new TrustedPublishingService(store, clock, {
    issuers: config.issuers ?? DEFAULT_ISSUERS,
    keys: new IssuerKeys(config.fetchJson ?? fetchJson, clock, config.keys),
    // what rattler requests: the server's host name, lower case, without port
    audience: () => config.audience ?? new URL(publicUrl()).hostname,
    uploadTokenTtlSeconds: config.uploadTokenTtlSeconds ?? 900,
    audit: (event: MintEvent) => {
      const line = { event: 'trusted_publishing_mint', ...event };
      if (event.outcome === 'minted') log().info(line, 'trusted publishing: upload token minted');
      else log().warn(line, `trusted publishing: exchange refused (${event.code})`);
    },
  });
}
