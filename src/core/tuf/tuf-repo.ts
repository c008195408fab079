/**
 * Where a channel's TUF metadata lives: one state row per channel (the version of each top-level role
 * now current, and a serial that every change bumps) and every signed document by (role, version).
 * The serial is the single-writer guard: a change commits only if the serial is still what it read,
 * so two servers never publish two different snapshot.json of one version.
 */
export type TufRole = 'root' | 'targets' | 'snapshot' | 'timestamp';

export interface TufState {
  channel: string;
  serial: number;
  versions: Record<TufRole, number>;
}

export interface TufDocument {
  role: TufRole;
  version: number;
  /** the JSON as served */
  body: string;
}

export interface TufRepo {
  state(channel: string): Promise<TufState | null>;
  /**
   * Moves the channel from `expectedSerial` (null: no state yet) to `next` and stores `documents`.
   * Returns false, changing nothing, when another writer moved it first.
   */
  commit(expectedSerial: number | null, next: TufState, documents: readonly TufDocument[]): Promise<boolean>;
  document(channel: string, role: TufRole, version: number): Promise<string | null>;
  /** Drops documents of `role` older than `belowVersion` (never root: clients walk the root chain). */
  prune(channel: string, role: Exclude<TufRole, 'root'>, belowVersion: number): Promise<void>;
  channels(): Promise<string[]>;
  forget(channel: string): Promise<void>;
}
