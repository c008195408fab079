/**
 * The log entries channel operations write. Each is built inside the transaction of the change it
 * records, so its time is when the change was sequenced.
 */
import type { LogAction, LogEntry, Publisher } from '../tlog/entry.ts';
import type { LogTransactions } from '../tlog/log-repo.ts';
import type { Principal } from './access.ts';
import { publisherLogIdentity } from '../publish/upload-tokens.ts';

/** What channel operations need from the transparency log. */
export interface ChangeLog {
  append(tx: LogTransactions, entry: LogEntry): Promise<number>;
  /** Many entries at consecutive indexes, in the one transaction (a bulk import); optional for fakes. */
  appendMany?(tx: LogTransactions, entries: readonly LogEntry[]): Promise<number[]>;
  /** After the commit: starts signing a checkpoint that covers `index`, for a receipt asked for soon. */
  prepareReceipt(index: number): void;
}

/**
 * Who acted, as the log records it. A Trusted Publishing token is recorded as the CI identity its id
 * token proved (`{kind: 'github', issuer, repository, workflow, ref, sha, ...}`), with the channel's
 * publisher id and the token id.
 */
export function publisherOf(principal: Principal, channel?: string): Publisher | null {
  switch (principal.kind) {
    case 'admin':
      return { kind: 'admin' };
    case 'key':
      return { kind: 'key', id: principal.key.id };
    case 'publisher':
      return publisherLogIdentity(principal, channel);
    case 'anonymous':
      return null;
  }
}

export interface LoggedFile {
  channel: string;
  subdir: string;
  filename: string;
  sha256: string;
  size: number;
  attestationsSha256: string | null;
}

export function fileEntry(action: Extract<LogAction, 'publish' | 'yank' | 'remove'>, file: LoggedFile, principal: Principal, at: Date): LogEntry {
  return {
    channel: file.channel,
    subdir: file.subdir,
    filename: file.filename,
    sha256: file.sha256,
    size: file.size,
    action,
    publisher: publisherOf(principal, file.channel),
    attestation_sha256: file.attestationsSha256,
    time: at.toISOString(),
  };
}

/** A channel was created, changed or deleted; the entry names the channel and who did it. */
export function channelEntry(channel: string, principal: Principal, at: Date): LogEntry {
  return {
    channel,
    subdir: null,
    filename: null,
    sha256: null,
    size: null,
    action: 'channel_update',
    publisher: publisherOf(principal, channel),
    attestation_sha256: null,
    time: at.toISOString(),
  };
}
