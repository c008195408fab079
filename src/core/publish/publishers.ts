import { randomBytes } from 'node:crypto';
import { notFound } from '../errors.ts';
import type { AccessControl, Principal } from '../channel/access.ts';
import type { Clock, MetadataStore } from '../channel/ports.ts';
import { parsePublisherSpec, type TrustedPublisher } from './publisher.ts';

/**
 * A channel's Trusted Publishers: which CI identities may publish to it, by attestation signature and
 * (Trusted Publishing) by OIDC token. Managing them needs the channel's admin scope.
 */
export class PublisherService {
  constructor(
    private readonly store: MetadataStore,
    private readonly access: AccessControl,
    private readonly clock: Clock,
  ) {}

  async add(principal: Principal, channelName: string, input: unknown): Promise<TrustedPublisher> {
    const channel = await this.access.require(principal, channelName, 'admin');
    const spec = parsePublisherSpec(input);
    const publisher: TrustedPublisher = {
      ...spec,
      id: `pub_${randomBytes(8).toString('hex')}`,
      channel: channel.name,
      createdAt: this.clock.now().toISOString(),
    };
    await this.store.publishers.add(publisher);
    return publisher;
  }

  async list(principal: Principal, channelName: string): Promise<TrustedPublisher[]> {
    const channel = await this.access.require(principal, channelName, 'read');
    return this.store.publishers.list(channel.name);
  }

  async remove(principal: Principal, channelName: string, id: string): Promise<TrustedPublisher> {
    const channel = await this.access.require(principal, channelName, 'admin');
    const publisher = await this.store.publishers.get(id);
    if (!publisher || publisher.channel !== channel.name) {
      throw notFound('publisher_not_found', `channel ${channel.name} has no publisher ${JSON.stringify(id)}`);
    }
    await this.store.publishers.remove(id);
    return publisher;
  }
}
