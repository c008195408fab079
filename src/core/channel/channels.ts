import { conflict, notFound, unprocessable } from '../errors.ts';
import type { AccessControl, Principal } from './access.ts';
import type { Channel } from './model.ts';
import type { Clock, MetadataStore } from './ports.ts';
import { type ChangeLog, channelEntry, fileEntry } from './log-entries.ts';

/** Lowercase conda-style names; `t` is taken by the `/t/TOKEN/...` URL form and `api`, `log` by the server. */
const CHANNEL_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const RESERVED = new Set(['api', 't', 'log', 'static', 'channels', 'healthz', 'readyz', 'metrics', 'favicon.ico']);

export function validateChannelName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw unprocessable('invalid_channel_name', 'a channel needs a name (lowercase letters, digits, "-", "_", ".")');
  }
  if (!CHANNEL_NAME.test(name) || name.includes('..')) {
    throw unprocessable(
      'invalid_channel_name',
      `${JSON.stringify(name)} is not a channel name: use 1-64 lowercase letters, digits, "-", "_" or ".", starting with a letter or digit`,
    );
  }
  if (RESERVED.has(name)) {
    throw unprocessable('invalid_channel_name', `${JSON.stringify(name)} is reserved by the server; choose another name`);
  }
  return name;
}

export interface ChannelEvents {
  /** a channel was created or emptied: its subdirs must answer empty repodata */
  channelCreated?(channel: Channel): Promise<void>;
  channelDeleted?(name: string, sha256s: string[]): Promise<void>;
}

export class ChannelService {
  constructor(
    private readonly store: MetadataStore,
    private readonly access: AccessControl,
    private readonly clock: Clock,
    private readonly log: ChangeLog,
    private readonly events: ChannelEvents = {},
  ) {}

  async create(principal: Principal, input: { name?: unknown; private?: unknown }): Promise<Channel> {
    this.access.requireAdmin(principal);
    const name = validateChannelName(input.name);
    if (input.private !== undefined && typeof input.private !== 'boolean') {
      throw unprocessable('invalid_field', '"private" must be true or false');
    }
    const channel: Channel = {
      name,
      private: input.private === true,
      requireAttestations: false,
      maxPackageBytes: null,
      createdAt: this.clock.now().toISOString(),
    };
    const created = await this.store.transaction(async (tx) => {
      const ok = await tx.channels.create(channel);
      if (ok) await this.log.append(tx, channelEntry(name, principal, this.clock.now()));
      return ok;
    });
    this.access.channels.invalidate(name); // after the write, so no read re-caches the old state
    if (!created) throw conflict('channel_exists', `a channel named ${name} exists already`);
    await this.events.channelCreated?.(channel);
    return channel;
  }

  /** The channels this caller may see; private ones only with access. */
  async list(principal: Principal): Promise<Channel[]> {
    const all = await this.store.channels.list();
    return all.filter((c) => this.access.allows(principal, c, 'read'));
  }

  async get(principal: Principal, name: string): Promise<Channel> {
    return this.access.require(principal, name, 'read');
  }

  async update(
    principal: Principal,
    name: string,
    changes: { private?: unknown; require_attestations?: unknown; max_package_size?: unknown },
  ): Promise<Channel> {
    await this.access.require(principal, name, 'admin');
    const { max_package_size: maxSize, ...flags } = changes;
    if (maxSize !== undefined && maxSize !== null && !(Number.isSafeInteger(maxSize) && (maxSize as number) > 0)) {
      throw unprocessable('invalid_field', '"max_package_size" must be a positive number of bytes, or null for the server\'s limit');
    }
    for (const [field, value] of Object.entries(flags)) {
      if (value !== undefined && typeof value !== 'boolean') {
        throw unprocessable('invalid_field', `${JSON.stringify(field)} must be true or false`);
      }
    }
    const updated = await this.store.transaction(async (tx) => {
      const changed = await tx.channels.update(name, {
        private: changes.private as boolean | undefined,
        requireAttestations: changes.require_attestations as boolean | undefined,
        maxPackageBytes: maxSize as number | null | undefined,
      });
      if (changed) await this.log.append(tx, channelEntry(name, principal, this.clock.now()));
      return changed;
    });
    this.access.channels.invalidate(name);
    if (!updated) throw notFound('channel_not_found', `no channel named ${JSON.stringify(name)}`);
    return updated;
  }

  async delete(principal: Principal, name: string): Promise<void> {
    this.access.requireAdmin(principal);
    const sha256s = await this.store.transaction(async (tx) => {
      // every file that disappears with the channel gets its `remove` entry, then the channel its own
      const now = this.clock.now();
      for (const subdir of await tx.packages.subdirs(name)) {
        for (const pkg of await tx.packages.list(name, subdir)) await this.log.append(tx, fileEntry('remove', pkg, principal, now));
      }
      // logged before the row goes: the log reads the channel's privacy in this transaction, and a
      // channel it cannot find is logged blinded (fail closed), which would hide a public deletion
      if (await tx.channels.get(name)) await this.log.append(tx, channelEntry(name, principal, now));
      return tx.channels.delete(name);
    });
    this.access.channels.invalidate(name);
    if (sha256s === null) throw notFound('channel_not_found', `no channel named ${JSON.stringify(name)}`);
    await this.events.channelDeleted?.(name, sha256s);
  }
}
