import type { Channel } from './model.ts';
import type { ChannelRepo } from './ports.ts';

/**
 * Channel lookups sit on the hot path of every conda request. Changes made through this process
 * invalidate at once; the short TTL bounds how long another replica's change (say, making a channel
 * private) can take to apply here.
 */
export class ChannelCache {
  private readonly entries = new Map<string, { channel: Channel | null; at: number }>();

  constructor(
    private readonly repo: ChannelRepo,
    private readonly ttlMs = 1000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async get(name: string): Promise<Channel | null> {
    const hit = this.entries.get(name);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.channel;
    const channel = await this.repo.get(name);
    if (this.entries.size > 10_000) this.entries.clear(); // bounded: names come from requests
    this.entries.set(name, { channel, at: this.now() });
    return channel;
  }

  /** The cached channel when fresh, without touching the database; undefined when not cached. */
  peek(name: string): Channel | null | undefined {
    const hit = this.entries.get(name);
    return hit && this.now() - hit.at < this.ttlMs ? hit.channel : undefined;
  }

  invalidate(name: string): void {
    this.entries.delete(name);
  }
}
