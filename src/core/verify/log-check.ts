import { decodeBase64 } from '../tlog/base64.ts';
import { type Checkpoint, openCheckpoint, parseCheckpoint } from '../tlog/checkpoint.ts';
import { verifyConsistency } from '../tlog/consistency.ts';
import { hashEquals, hashToHex, type Hash } from '../tlog/hashing.ts';
import { noteVerifier } from '../tlog/key-ring.ts';
import { type NoteVerifier, parseNote } from '../tlog/note.ts';
import { verifyReceipt } from '../tlog/receipt.ts';
import { isBlinded } from '../tlog/entry.ts';
import { isProvenaError } from '../errors.ts';

/**
 * A Provena server's transparency log as a verifier sees it: for each attested package, its receipt
 * (the log entry, an inclusion proof, a checkpoint signed by the log's key) must say that exactly this
 * file, with exactly these attestations, was published to this channel; and every checkpoint seen —
 * in receipts, the log's latest one, and the one the user saw last time (`--log-state`) — must be one
 * append-only history (consistency proofs), or the run raises an alarm.
 */
export interface LogSource {
  /** the signed checkpoint at `/log/checkpoint`; null when the server serves no log (404) */
  checkpoint(): Promise<string | null>;
  /** the log's verifier key as served at `/log/key` (trusted only on first use) */
  key(): Promise<string>;
  /** `/CHANNEL/SUBDIR/FILE.receipt.json`; null on 404 */
  receipt(fetchChannelUrl: string, subdir: string, filename: string): Promise<unknown | null>;
  /** consistency proof between two tree sizes (`/api/v1/log/proof/consistency`) */
  consistency(oldSize: number, newSize: number): Promise<Uint8Array[]>;
}

/** What a verifier remembers of one log between runs. */
export interface LogMemory {
  key: string;
  /** the last checkpoint verified, as a signed note */
  checkpoint: string;
}

export interface LogOutcome {
  status: 'verified' | 'not_served' | 'no_entry' | 'failed';
  code: string | null;
  detail: string;
  index?: number;
}

export interface LogSummary {
  server: string;
  origin: string | null;
  /** error: the log could not be read to the end (network); alarm: it is not one consistent history */
  status: 'consistent' | 'not_served' | 'alarm' | 'error';
  /** how the log key came to be trusted */
  keyTrust: 'pinned' | 'remembered' | 'first_use' | null;
  key: string | null;
  size: number | null;
  detail: string;
  /** the memory to save (absent on alarm or when nothing was verified) */
  remember?: LogMemory;
}

export interface PackageFacts {
  /** channel name as logged: the last segment of the channel URL */
  channel: string;
  fetchChannelUrl: string;
  subdir: string;
  filename: string;
  sha256: string;
  /** sha256 of the `.sigs` bytes verified (null when the package came without attestations) */
  attestationsSha256: string | null;
}

interface Ready {
  origin: string;
  verifier: NoteVerifier;
  key: string;
  keyTrust: 'pinned' | 'remembered' | 'first_use';
  latest: Checkpoint;
  latestNote: string;
  remembered: Checkpoint | null;
}

type State = { kind: 'not_served' } | { kind: 'alarm'; code: string; detail: string; origin: string | null } | ({ kind: 'ready' } & Ready);

export class ServerLog {
  private state: Promise<State> | null = null;
  /** checkpoints of receipts, by size */
  private readonly seen = new Map<number, { checkpoint: Checkpoint; note: string }>();
  private alarm: { code: string; detail: string } | null = null;

  constructor(
    readonly server: string,
    private readonly source: LogSource,
    private readonly opts: { pinnedKeys: readonly string[]; memory: (origin: string) => LogMemory | undefined },
  ) {}

  private ready(): Promise<State> {
    this.state ??= this.init();
    return this.state;
  }

  private async init(): Promise<State> {
    const note = await this.source.checkpoint();
    if (note === null) return { kind: 'not_served' };
    let origin: string;
    try {
      origin = parseCheckpoint(parseNote(note).text).origin;
    } catch (e) {
      return { kind: 'alarm', code: 'log_signature_invalid', detail: `the checkpoint served is not a signed checkpoint: ${detail(e)}`, origin: null };
    }
    const memory = this.opts.memory(origin);
    const pinned = this.opts.pinnedKeys.find((k) => k.split('+')[0] === origin);
    if (pinned !== undefined && memory !== undefined && memory.key !== pinned) {
      return { kind: 'alarm', code: 'log_key_changed', detail: `the log state remembers ${origin} signed by ${memory.key}, not by --log-key ${pinned}`, origin };
    }
    const key = pinned ?? memory?.key ?? (await this.source.key()).trim();
    const keyTrust = pinned !== undefined ? 'pinned' : memory !== undefined ? 'remembered' : 'first_use';
    let verifier: NoteVerifier;
    try {
      verifier = noteVerifier(key);
    } catch (e) {
      return { kind: 'alarm', code: 'log_key_invalid', detail: `${JSON.stringify(key)} is not a log verifier key: ${detail(e)}`, origin };
    }
    let latest: Checkpoint;
    try {
      latest = openCheckpoint(note, [verifier], origin).checkpoint;
    } catch (e) {
      return { kind: 'alarm', code: 'log_signature_invalid', detail: `the latest checkpoint of ${origin} is not validly signed by ${key}: ${detail(e)}`, origin };
    }
    let remembered: Checkpoint | null = null;
    if (memory !== undefined) {
      try {
        remembered = openCheckpoint(memory.checkpoint, [verifier], origin).checkpoint;
      } catch (e) {
        return { kind: 'alarm', code: 'log_state_invalid', detail: `the remembered checkpoint of ${origin} does not verify: ${detail(e)}`, origin };
      }
    }
    return { kind: 'ready', origin, verifier, key, keyTrust, latest, latestNote: note, remembered };
  }

  /** Checks the file's publish entry; never throws for a check (network errors do throw). */
  async checkPackage(p: PackageFacts): Promise<LogOutcome> {
    const state = await this.ready();
    if (state.kind === 'not_served') return { status: 'not_served', code: null, detail: `${this.server} serves no transparency log` };
    if (state.kind === 'alarm') return { status: 'failed', code: state.code, detail: state.detail };
    const receipt = await this.source.receipt(p.fetchChannelUrl, p.subdir, p.filename);
    if (receipt === null) {
      return { status: 'no_entry', code: 'log_entry_missing', detail: `the log of ${state.origin} has no publish entry for ${p.channel}/${p.subdir}/${p.filename}` };
    }
    let verified;
    try {
      verified = verifyReceipt(receipt, [state.verifier], state.origin);
    } catch (e) {
      const code = isProvenaError(e) ? e.code : 'receipt_invalid';
      return { status: 'failed', code: code.startsWith('log_') ? code : `log_${code}`, detail: `the receipt of ${p.filename} does not verify: ${detail(e)}` };
    }
    const e = verified.entry;
    // A private channel's entry is blinded; its receipt must carry the opening (the server gives it to
    // readers of the channel) or nothing ties the logged commitment to this file.
    if (isBlinded(e)) {
      return {
        status: 'failed',
        code: 'log_entry_blinded',
        detail: `log entry ${verified.index} is blinded (a private channel) and the receipt of ${p.filename} carries no opening`,
        index: verified.index,
      };
    }
    const expected: Array<[string, unknown, unknown]> = [
      ['action', 'publish', e.action],
      ['channel', p.channel, e.channel],
      ['subdir', p.subdir, e.subdir],
      ['filename', p.filename, e.filename],
      ['sha256', p.sha256, e.sha256],
      ['attestation_sha256', p.attestationsSha256, e.attestation_sha256],
    ];
    for (const [field, want, got] of expected) {
      if (want !== got) {
        return {
          status: 'failed',
          code: 'log_entry_mismatch',
          detail: `log entry ${verified.index}: ${field} expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`,
          index: verified.index,
        };
      }
    }
    const cp = verified.checkpoint;
    const other = this.seen.get(cp.size);
    if (other !== undefined && !hashEquals(other.checkpoint.root, cp.root)) {
      this.alarm ??= { code: 'log_fork', detail: `two checkpoints of size ${cp.size} with different roots (${hashToHex(other.checkpoint.root)} and ${hashToHex(cp.root)})` };
      return { status: 'failed', code: 'log_fork', detail: this.alarm.detail, index: verified.index };
    }
    if (other === undefined) this.seen.set(cp.size, { checkpoint: cp, note: typeof receipt === 'object' && receipt !== null ? String((receipt as Record<string, unknown>).checkpoint) : '' });
    return { status: 'verified', code: null, detail: `log entry ${verified.index} in ${state.origin} (size ${cp.size})`, index: verified.index };
  }

  /**
   * After all packages: every checkpoint seen must lie on one history with the latest one and the one
   * remembered. Returns the memory to keep (the largest verified checkpoint) unless there is an alarm.
   */
  async finish(): Promise<LogSummary> {
    if (this.state === null) return { server: this.server, origin: null, status: 'not_served', keyTrust: null, key: null, size: null, detail: 'not consulted' };
    const state = await this.state;
    if (state.kind === 'not_served') return { server: this.server, origin: null, status: 'not_served', keyTrust: null, key: null, size: null, detail: `${this.server} serves no transparency log` };
    if (state.kind === 'alarm') return { server: this.server, origin: state.origin, status: 'alarm', keyTrust: null, key: null, size: null, detail: `ALARM ${state.code}: ${state.detail}` };
    const base = { server: this.server, origin: state.origin, keyTrust: state.keyTrust, key: state.key };
    if (this.alarm !== null) return { ...base, status: 'alarm', size: null, detail: `ALARM ${this.alarm.code}: ${this.alarm.detail}` };
    const all: { checkpoint: Checkpoint; note: string }[] = [...this.seen.values(), { checkpoint: state.latest, note: state.latestNote }];
    if (state.remembered !== null) all.push({ checkpoint: state.remembered, note: this.opts.memory(state.origin)!.checkpoint });
    const largest = all.reduce((a, b) => (b.checkpoint.size > a.checkpoint.size ? b : a));
    try {
      for (const c of all) await this.consistent(c.checkpoint, largest.checkpoint);
    } catch (e) {
      if (isProvenaError(e) && e.kind === 'unavailable') return { ...base, status: 'error', size: null, detail: `the consistency of the log could not be checked: ${e.detail}` };
      return { ...base, status: 'alarm', size: null, detail: `ALARM log_fork: ${detail(e)}` };
    }
    const rememberedNote = state.remembered !== null && state.remembered.size === largest.checkpoint.size ? this.opts.memory(state.origin)!.checkpoint : largest.note;
    const sizes = [...new Set(all.map((c) => c.checkpoint.size))].sort((a, b) => a - b);
    return {
      ...base,
      status: 'consistent',
      size: largest.checkpoint.size,
      detail: `checkpoints of sizes ${sizes.join(', ')} are one append-only history${state.remembered !== null ? ` (including the one remembered, size ${state.remembered.size})` : ''}`,
      remember: { key: state.key, checkpoint: rememberedNote },
    };
  }

  private async consistent(older: Checkpoint, newer: Checkpoint): Promise<void> {
    if (older.size === newer.size) {
      if (!hashEquals(older.root, newer.root)) throw new Error(`two different roots were signed for size ${older.size}`);
      return;
    }
    if (older.size === 0) return;
    const proof: Hash[] = await this.source.consistency(older.size, newer.size);
    try {
      verifyConsistency(older.size, newer.size, older.root, newer.root, proof);
    } catch (e) {
      throw new Error(`the tree of size ${newer.size} is not an extension of the tree of size ${older.size}: ${detail(e)}`);
    }
  }
}

/** Decodes the proof API's `{"proof": [base64...]}`. */
export function decodeConsistencyProof(body: unknown): Uint8Array[] {
  const proof = (body as { proof?: unknown } | null)?.proof;
  if (!Array.isArray(proof)) throw new Error('consistency proof: no "proof" list');
  return proof.map((p, i) => {
    const h = typeof p === 'string' ? decodeBase64(p) : null;
    if (h === null || h.length !== 32) throw new Error(`consistency proof[${i}] is not a base64 hash`);
    return h;
  });
}

function detail(e: unknown): string {
  return isProvenaError(e) ? e.detail : e instanceof Error ? e.message : String(e);
}
