/**
 * Tables of the transparency log (migration 0003_transparency_log). Indexes and sizes are bigint,
 * which PostgreSQL returns as strings, so readers convert with Number(); hashes are lowercase hex
 * text, so the same queries run on SQLite and PostgreSQL without per-dialect binary types.
 */
export interface LogTables {
  /** One row (id 1): the tree size. Incrementing it is the sequencer, and its write lock the mutex. */
  log_head: {
    id: number;
    size: number | string | bigint;
    /** the right edge: the frontier hashes in hex, concatenated, largest subtree first */
    frontier: string;
  };
  log_entries: {
    idx: number | string | bigint;
    /** the canonical JSON entry, exactly as logged (UTF-8 text) */
    entry: string;
    channel: string;
    subdir: string | null;
    filename: string | null;
    sha256: string | null;
    action: string;
  };
  /** Openings of blinded entries (migration 0008_log_openings): given only to readers of `channel`. */
  log_openings: {
    idx: number | string | bigint;
    channel: string;
    salt: string;
    entry: string;
  };
  /** Complete-subtree hashes: level 0 the leaves, level L+1 pairs of level L (see stored-hashes.ts). */
  log_hashes: {
    level: number;
    idx: number | string | bigint;
    hash: string;
  };
  /** Every checkpoint the log signed, so a restart resumes from (and checks against) the last one. */
  log_checkpoints: {
    size: number | string | bigint;
    root: string;
    note: string;
    created_at: string;
  };
}
