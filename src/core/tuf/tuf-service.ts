import type { Metadata, Root } from '@tufjs/models';
import { conflict, notFound, ProvenaError, unprocessable } from '../errors.ts';
import type { ChangeLog } from '../channel/log-entries.ts';
import { channelFileKey, type BlobStore, type Clock, type MetadataStore, type PublishedChannelFile, type RepodataListener, type Spool } from '../channel/ports.ts';
import type { LogEntry } from '../tlog/entry.ts';
import { noTelemetry, type Telemetry } from '../telemetry.ts';
import type { TufKeyring } from './keyring.ts';
import {
  buildRoot,
  buildSnapshot,
  buildTargets,
  buildTimestamp,
  expiresAt,
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  signDocument,
  targetEntries,
  type ExpiryPolicy,
  type TargetEntry,
} from './metadata.ts';
import type { TufSigner } from './signer.ts';
import { legacyTufTargetKey, legacyTufTargetPrefix, pinTarget, TUF_TARGET_FILES, tufTargetKey } from './target-copies.ts';
import type { TufDocument, TufRole, TufState } from './tuf-repo.ts';

export interface TufServiceDeps {
  store: MetadataStore;
  blobs: BlobStore;
  keys: TufKeyring;
  clock: Clock;
  spool: Spool;
  expiry: ExpiryPolicy;
  log: ChangeLog;
  telemetry?: Telemetry;
  /** says that an offline root expires soon (the server cannot renew it) */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

/** When a channel's root expires, and whether the server can renew it. */
export interface RootStatus {
  version: number;
  expires: string;
  /** seconds until it expires (negative once expired) */
  expiresInSeconds: number;
  /** `server`: the server holds the root keys and renews the root itself; `offline`: the owner must sign a new one */
  keys: 'server' | 'offline';
  /** set when an offline root expires within ROOT_WARN_SECONDS */
  warning?: string;
}

/** an offline root is announced this long before it expires (a month: time to gather the key holders) */
export const ROOT_WARN_SECONDS = 30 * 86400;

/** The channel's metadata as it stands (or, before the first commit, as it would be bootstrapped). */
interface Current {
  state: TufState | null;
  root: Metadata<Root>;
  rootBody: string;
  targets: Map<string, TargetEntry>;
  targetsBody: string | null;
  snapshotBody: string | null;
  expires: Record<Exclude<TufRole, 'root'>, Date>;
}

interface Change {
  /** a new root, signed already */
  root?: string;
  /** the new target set (targets, snapshot and timestamp are then all signed anew) */
  targets?: Map<string, TargetEntry>;
  /** re-sign these roles even though nothing in them changed (expiry) */
  resign?: readonly Exclude<TufRole, 'root'>[];
}

const MAX_ATTEMPTS = 50;

/** Where a metadata file is published: `channels/NAME/tuf/FILE`, i.e. `NAME/tuf/FILE` in a static bucket. */
export const tufDocumentKey = (channel: string, file: string) => channelFileKey(channel, 'tuf', file);
/** stored versions of targets/snapshot/timestamp kept for readers still walking an older chain */
const KEEP_VERSIONS = 100;
/** hashed target copies stay while one of this many latest targets versions names them */
const KEEP_TARGET_VERSIONS = 20;

/**
 * Each channel as a TUF repository. Every new version of a subdir's repodata is pinned under its hash
 * and then named by new targets, snapshot and timestamp documents, committed in one transaction with
 * a compare-and-set on the channel's serial (one signer at a time across replicas) and with a
 * transparency-log entry for the repodata.json sha256. The timestamp is re-signed on a schedule so a
 * mirror that stops updating is caught when it expires.
 */
export class TufService implements RepodataListener {
  /** when each channel's offline-root warning was last logged */
  private readonly warned = new Map<string, number>();

  /** the repodata publisher writes full files under their hash first, and this service prunes them */
  readonly keepsHashedCopies = true;

  constructor(private readonly d: TufServiceDeps) {}

  async subdirPublished(channel: string, subdir: string, files: readonly PublishedChannelFile[]): Promise<void> {
    const entries = new Map<string, TargetEntry>();
    for (const f of files) {
      if (!(TUF_TARGET_FILES as readonly string[]).includes(f.path)) continue;
      const pinned = await pinTarget(this.d.blobs, this.d.spool, f.key, tufTargetKey(channel, subdir, f.sha256, f.path), f.sha256);
      if (!pinned) return; // replaced meanwhile: the newer version is signed by its own call
      entries.set(`${subdir}/${f.path}`, { sha256: f.sha256, length: f.size });
    }
    const repodata = files.find((f) => f.path === 'repodata.json');
    const entry: LogEntry | undefined = repodata && {
      channel,
      subdir,
      filename: null,
      sha256: repodata.sha256,
      size: repodata.size,
      action: 'repodata_publish',
      publisher: null,
      attestation_sha256: null,
      time: this.d.clock.now().toISOString(),
    };
    await this.change(
      channel,
      (cur) => {
        const targets = new Map([...cur.targets].filter(([path]) => !path.startsWith(`${subdir}/`)));
        for (const [path, e] of entries) targets.set(path, e);
        return { targets };
      },
      entry,
    );
    await this.collectCopies(channel, subdir);
  }

  /** Re-signs what is past half its validity (the timestamp, on the default policy); creates missing repositories. */
  async refreshAll(): Promise<number> {
    let changed = 0;
    let failed: unknown;
    for (const channel of await this.d.store.channels.list()) {
      try {
        if (await this.refresh(channel.name)) changed++;
      } catch (e) {
        failed ??= e; // one channel's trouble (a missing key) must not stop the others' timestamps
      }
    }
    if (failed !== undefined) throw failed;
    return changed;
  }

  async refresh(channel: string): Promise<boolean> {
    let did = false;
    await this.change(channel, (cur) => {
      const now = this.d.clock.now().getTime();
      const due = (['targets', 'snapshot', 'timestamp'] as const).filter((r) => cur.expires[r].getTime() - now < (this.d.expiry[r] * 1000) / 2);
      const root = this.renewedRoot(cur);
      if (cur.state !== null && due.length === 0 && root === undefined) return null;
      did = true;
      return { resign: due, root };
    });
    if (!did) await this.publishIfBehind(channel);
    await this.watchRoot(channel);
    return did;
  }

  /** The root's expiry and who can renew it, for the admin API and the expiry warning. */
  async rootStatus(channel: string): Promise<RootStatus> {
    await this.document(channel, 'root.json'); // makes the repository if it does not exist yet
    const cur = await this.load(channel);
    const expires = cur.root.signed.expires;
    const expiresInSeconds = Math.floor((Date.parse(expires) - this.d.clock.now().getTime()) / 1000);
    const keys = this.holdsRootKeys(cur.root) ? 'server' : 'offline';
    const status: RootStatus = { version: cur.root.signed.version, expires, expiresInSeconds, keys };
    if (keys === 'offline' && expiresInSeconds < ROOT_WARN_SECONDS) {
      status.warning =
        expiresInSeconds <= 0
          ? `the root of ${channel} (version ${status.version}, keys offline) expired at ${expires}: clients refuse the channel until its owner signs a new root (provena tuf sign-root)`
          : `the root of ${channel} (version ${status.version}, keys offline) expires at ${expires}, in ${Math.ceil(expiresInSeconds / 86400)} day(s): its owner must sign a new root before then (provena tuf sign-root)`;
    }
    return status;
  }

  /** Reports the root's remaining life as a metric, and warns while an offline root nears expiry. */
  private async watchRoot(channel: string): Promise<void> {
    const status = await this.rootStatus(channel);
    (this.d.telemetry ?? noTelemetry).tufRootExpiry?.(channel, status.expiresInSeconds, status.keys);
    if (!status.warning) return;
    // once an hour per channel is enough to be seen, and not a line every few minutes
    const now = this.d.clock.now().getTime();
    if (now - (this.warned.get(channel) ?? -Infinity) < 3600_000) return;
    this.warned.set(channel, now);
    this.d.warn?.(status.warning, { channel, root_version: status.version, root_expires: status.expires });
  }

  /** Whether the server holds a threshold of the root's own keys (true until the owner runs `tuf init`). */
  private holdsRootKeys(root: Metadata<Root>): boolean {
    const r = root.signed.roles.root;
    if (!r) return false;
    return r.keyIDs.filter((id) => this.d.keys.signer(id) !== undefined).length >= r.threshold;
  }

  /**
   * A server-held root past half its validity, renewed: the next version with the same keys and a new
   * expiry, signed by the current root keys (which clients require of the next root, and which are
   * also its own). Undefined when not due, or when the root keys are offline (only the owner can).
   */
  private renewedRoot(cur: Current): string | undefined {
    if (cur.state === null) return undefined;
    const now = this.d.clock.now();
    const signed = cur.root.signed;
    if (Date.parse(signed.expires) - now.getTime() >= (this.d.expiry.root * 1000) / 2) return undefined;
    if (!this.holdsRootKeys(cur.root)) return undefined;
    const keysOf = (role: string) => signed.roles[role]!.keyIDs.map((id) => signed.keys[id]!);
    const next = buildRoot(signed.version + 1, expiresAt(now, this.d.expiry.root), {
      root: keysOf('root'),
      rootThreshold: signed.roles.root!.threshold,
      targets: keysOf('targets'),
      snapshot: keysOf('snapshot'),
      timestamp: keysOf('timestamp'),
    });
    return signDocument(next, this.signers(cur.root, 'root'));
  }

  /**
   * A metadata file as served under `NAME/tuf/`: `N.root.json`, `root.json`, `timestamp.json`,
   * `[N.]snapshot.json`, `[N.]targets.json`. Answered with its blob key (`channels/NAME/tuf/FILE`):
   * the server serves the very objects a web server or CDN reading the bucket serves.
   */
  async document(channel: string, file: string): Promise<{ key: string; immutable: boolean }> {
    const m = /^(?:(\d{1,9})\.)?(root|targets|snapshot|timestamp)\.json$/.exec(file);
    if (!m || (m[2] === 'timestamp' && m[1] !== undefined)) throw notFound('tuf_file_not_found', `tuf/${file} is not a TUF metadata file`);
    const key = tufDocumentKey(channel, file);
    const immutable = m[1] !== undefined;
    if (await this.d.blobs.stat(key)) return { key, immutable };
    let state = await this.d.store.tuf.state(channel);
    if (!state) {
      await this.change(channel, () => ({})); // a channel's first request makes its repository
      state = await this.d.store.tuf.state(channel);
    }
    const role = m[2] as TufRole;
    // a version not signed yet (clients probe N+1.root.json on every refresh) or pruned long ago is
    // missing: no repair, so asking for one costs no writes
    const current = state!.versions[role];
    const kept = (v: number) => v <= current && (role === 'root' || v > current - KEEP_VERSIONS);
    if (!immutable || kept(Number(m[1]))) {
      await this.publish(channel); // a publication cut off by a crash, or a repository older than its blobs
      if (await this.d.blobs.stat(key)) return { key, immutable };
    }
    throw notFound('tuf_file_not_found', `${channel}/tuf/${file} does not exist (current ${role} version is ${state!.versions[role]})`);
  }

  /**
   * Writes the signed documents now current to the blob store, the published form both the server and
   * a bucket reader serve: new roots first, then targets, snapshot and last the timestamp, so a reader
   * following the timestamp always finds what it names. Every replica may publish at once: a writer
   * that finds the state moved on while it wrote (it may have put an older timestamp.json over a
   * newer one) writes again, so the last word is always the newest state's.
   */
  async publish(channel: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const state = await this.d.store.tuf.state(channel);
      if (!state) return;
      const put = async (role: TufRole, version: number, files: readonly string[]) => {
        const body = await this.d.store.tuf.document(channel, role, version);
        if (body === null) throw new ProvenaError('tuf_state_corrupt', 'internal', `${channel}: ${role} version ${version} is missing`);
        for (const f of files) await this.d.blobs.putBytes(tufDocumentKey(channel, f), Buffer.from(body, 'utf8'));
      };
      // every root the store lacks: clients walk the chain from the root they trust, one version at a time
      const roots: number[] = [];
      for (let v = state.versions.root; v >= 1 && !(await this.d.blobs.stat(tufDocumentKey(channel, `${v}.root.json`))); v--) roots.unshift(v);
      for (const v of roots) await put('root', v, [`${v}.root.json`]);
      const v = state.versions;
      await put('targets', v.targets, [`${v.targets}.targets.json`, 'targets.json']);
      await put('snapshot', v.snapshot, [`${v.snapshot}.snapshot.json`, 'snapshot.json']);
      await put('root', v.root, ['root.json']);
      await put('timestamp', v.timestamp, ['timestamp.json']);
      if ((await this.d.store.tuf.state(channel))?.serial === state.serial) return;
    }
  }

  /** Publishes again when the stored timestamp.json is not the current one (a writer stopped between commit and publication). */
  private async publishIfBehind(channel: string): Promise<void> {
    const state = await this.d.store.tuf.state(channel);
    if (!state) return;
    let version = -1;
    const handle = await this.d.blobs.open(tufDocumentKey(channel, 'timestamp.json'));
    if (handle) {
      const chunks: Buffer[] = [];
      for await (const c of handle.stream()) chunks.push(c as Buffer);
      try {
        version = parseTimestamp(Buffer.concat(chunks).toString('utf8')).signed.version;
      } catch {
        // unreadable: written again below
      }
    }
    if (version !== state.versions.timestamp) await this.publish(channel);
  }

  /**
   * Takes a new root from the channel owner. It must be the next version, signed by a threshold of
   * the current root's keys (the server adds its own signature when it still holds the current root
   * key, as it does until the owner takes the root offline) and by a threshold of its own; the
   * server must hold the online keys it names.
   */
  async submitRoot(channel: string, body: string): Promise<{ version: number }> {
    await this.document(channel, 'root.json'); // makes the repository if it does not exist yet
    let submitted: Metadata<Root>;
    try {
      submitted = parseRoot(body);
    } catch (e) {
      throw unprocessable('tuf_root_invalid', `the new root is not TUF root metadata: ${(e as Error).message}`);
    }
    const cur = await this.load(channel);
    const next = cur.root.signed.version + 1;
    if (submitted.signed.version !== next) {
      throw unprocessable('tuf_root_version', `the new root must be version ${next} (the current is ${cur.root.signed.version}); got ${submitted.signed.version}`);
    }
    if (!submitted.signed.consistentSnapshot) throw unprocessable('tuf_root_invalid', 'the new root must set consistent_snapshot: true');
    for (const id of cur.root.signed.roles.root?.keyIDs ?? []) {
      const signer = this.d.keys.signer(id);
      if (signer) submitted.sign((data) => signer.sign(data), true);
    }
    try {
      cur.root.verifyDelegate('root', submitted);
    } catch (e) {
      const r = cur.root.signed.roles.root!;
      throw unprocessable('tuf_root_not_signed_by_current', `the new root needs signatures of ${r.threshold} of the current root keys (${r.keyIDs.join(', ')}): ${(e as Error).message}`);
    }
    try {
      submitted.verifyDelegate('root', submitted);
    } catch (e) {
      throw unprocessable('tuf_root_not_self_signed', `the new root needs signatures of a threshold of its own root keys: ${(e as Error).message}`);
    }
    if (submitted.signed.isExpired(this.d.clock.now())) throw unprocessable('tuf_root_expired', `the new root expired at ${submitted.signed.expires}`);
    this.d.keys.reload();
    for (const role of ['targets', 'snapshot', 'timestamp'] as const) this.signers(submitted, role);
    const newBody = `${JSON.stringify(submitted.toJSON())}\n`;
    await this.change(channel, (c) => {
      if (c.root.signed.version !== cur.root.signed.version) throw conflict('tuf_root_changed', 'the root changed while this one was submitted; sign against the new one');
      return { root: newBody, resign: ['targets', 'snapshot', 'timestamp'] };
    });
    return { version: next };
  }

  async forget(channel: string): Promise<void> {
    await this.d.store.tuf.forget(channel);
    for await (const key of this.d.blobs.list(`tuf/${channel}/`)) await this.d.blobs.delete(key);
    for await (const key of this.d.blobs.list(tufDocumentKey(channel, ''))) await this.d.blobs.delete(key);
  }

  /** Applies one change with compare-and-set on the channel's serial, retrying when another signer got there first. */
  private async change(channel: string, plan: (cur: Current) => Change | null, logEntry?: LogEntry): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.load(channel);
      const change = plan(cur);
      if (change === null) return;
      const { next, documents } = this.sign(channel, cur, change);
      let index: number | undefined;
      const committed = await this.d.store.transaction(async (tx) => {
        if (!(await tx.tuf.commit(cur.state?.serial ?? null, next, documents))) return false;
        if (logEntry) index = await this.d.log.append(tx, logEntry);
        return true;
      });
      if (committed) {
        if (index !== undefined) this.d.log.prepareReceipt(index);
        await this.publish(channel);
        for (const role of ['targets', 'snapshot', 'timestamp'] as const) {
          const below = next.versions[role] - KEEP_VERSIONS;
          await this.d.store.tuf.prune(channel, role, below);
          // each version is committed once, so the one falling out of the window now is deleted once
          if (role !== 'timestamp' && below - 1 >= 1) await this.d.blobs.delete(tufDocumentKey(channel, `${below - 1}.${role}.json`));
        }
        return;
      }
    }
    throw new ProvenaError('tuf_busy', 'unavailable', `could not sign ${channel}'s TUF metadata: other signers kept changing it; retry`);
  }

  private sign(channel: string, cur: Current, change: Change): { next: TufState; documents: TufDocument[] } {
    const now = this.d.clock.now();
    const v = cur.state?.versions ?? { root: 0, targets: 0, snapshot: 0, timestamp: 0 };
    const documents: TufDocument[] = [];
    let root = cur.root;
    let rootVersion = v.root;
    if (cur.state === null) {
      documents.push({ role: 'root', version: cur.root.signed.version, body: cur.rootBody });
      rootVersion = cur.root.signed.version;
    }
    if (change.root) {
      root = parseRoot(change.root);
      rootVersion = root.signed.version;
      documents.push({ role: 'root', version: rootVersion, body: change.root });
    }
    const resign = new Set(change.resign ?? []);
    const newTargets = change.targets !== undefined || resign.has('targets') || cur.targetsBody === null;
    let targets = { version: v.targets, body: cur.targetsBody ?? '' };
    if (newTargets) {
      const version = v.targets + 1;
      const signed = buildTargets(version, expiresAt(now, this.d.expiry.targets), change.targets ?? cur.targets);
      targets = { version, body: signDocument(signed, this.signers(root, 'targets')) };
      documents.push({ role: 'targets', ...targets });
    }
    let snapshot = { version: v.snapshot, body: cur.snapshotBody ?? '' };
    if (newTargets || resign.has('snapshot') || cur.snapshotBody === null) {
      const version = v.snapshot + 1;
      const signed = buildSnapshot(version, expiresAt(now, this.d.expiry.snapshot), targets);
      snapshot = { version, body: signDocument(signed, this.signers(root, 'snapshot')) };
      documents.push({ role: 'snapshot', ...snapshot });
    }
    // every change ends in a new timestamp: it is what clients poll
    const timestampVersion = v.timestamp + 1;
    const timestamp = buildTimestamp(timestampVersion, expiresAt(now, this.d.expiry.timestamp), snapshot);
    documents.push({ role: 'timestamp', version: timestampVersion, body: signDocument(timestamp, this.signers(root, 'timestamp')) });
    const next: TufState = {
      channel,
      serial: (cur.state?.serial ?? 0) + 1,
      versions: { root: rootVersion, targets: targets.version, snapshot: snapshot.version, timestamp: timestampVersion },
    };
    return { next, documents };
  }

  /** Signers for `role` that the server holds, at least the role's threshold of them. */
  private signers(root: Metadata<Root>, role: string): TufSigner[] {
    const r = root.signed.roles[role];
    if (!r) throw unprocessable('tuf_root_invalid', `the root defines no ${role} role`);
    const find = () => r.keyIDs.map((id) => this.d.keys.signer(id)).filter((s): s is TufSigner => s !== undefined);
    let held = find();
    if (held.length < r.threshold) {
      this.d.keys.reload();
      held = find();
    }
    if (held.length < r.threshold) {
      throw unprocessable(
        'tuf_key_missing',
        `the server holds ${held.length} of the ${r.threshold} ${role} key(s) the channel's root names (key ids ${r.keyIDs.join(', ')}); put the private key file in the server's tuf_key_dir`,
      );
    }
    return held.slice(0, r.threshold);
  }

  private async load(channel: string): Promise<Current> {
    const state = await this.d.store.tuf.state(channel);
    if (state === null) return this.bootstrap(channel);
    const get = async (role: TufRole) => {
      const body = await this.d.store.tuf.document(channel, role, state.versions[role]);
      if (body === null) throw new ProvenaError('tuf_state_corrupt', 'internal', `${channel}: ${role} version ${state.versions[role]} is missing`);
      return body;
    };
    const [rootBody, targetsBody, snapshotBody, timestampBody] = await Promise.all([get('root'), get('targets'), get('snapshot'), get('timestamp')]);
    const targets = parseTargets(targetsBody);
    return {
      state,
      root: parseRoot(rootBody),
      rootBody,
      targets: targetEntries(targets.signed),
      targetsBody,
      snapshotBody,
      expires: {
        targets: new Date(targets.signed.expires),
        snapshot: new Date(parseSnapshot(snapshotBody).signed.expires),
        timestamp: new Date(parseTimestamp(timestampBody).signed.expires),
      },
    };
  }

  /** A channel's first root (server-held keys) and its files as they are published now. */
  private async bootstrap(channel: string): Promise<Current> {
    const now = this.d.clock.now();
    const k = this.d.keys.bootstrap();
    const signed = buildRoot(1, expiresAt(now, this.d.expiry.root), {
      root: [k.root.key],
      rootThreshold: 1,
      targets: [k.targets.key],
      snapshot: [k.snapshot.key],
      timestamp: [k.timestamp.key],
    });
    const rootBody = signDocument(signed, [k.root]);
    const targets = new Map<string, TargetEntry>();
    for (const subdir of await this.d.store.packages.subdirs(channel)) {
      for (const file of TUF_TARGET_FILES) {
        const from = channelFileKey(channel, subdir, file);
        const stat = await this.d.blobs.stat(from);
        if (!stat) continue;
        const sha256 = await this.hashOf(from);
        if (sha256 && (await pinTarget(this.d.blobs, this.d.spool, from, tufTargetKey(channel, subdir, sha256, file), sha256))) {
          targets.set(`${subdir}/${file}`, { sha256, length: stat.size });
        }
      }
    }
    const epoch = new Date(0);
    return { state: null, root: parseRoot(rootBody), rootBody, targets, targetsBody: null, snapshotBody: null, expires: { targets: epoch, snapshot: epoch, timestamp: epoch } };
  }

  private async hashOf(key: string): Promise<string | null> {
    const { createHash } = await import('node:crypto');
    const handle = await this.d.blobs.open(key);
    if (!handle) return null;
    const h = createHash('sha256');
    for await (const chunk of handle.stream()) h.update(chunk as Buffer);
    return h.digest('hex');
  }

  /**
   * Deletes hashed copies that none of the latest targets versions names any more: those named by the
   * versions just before that window (no listing: a subdir's prefix holds its packages too), and any
   * left at the old `tuf/NAME/targets/` place. Plain files never have a hashed name.
   */
  private async collectCopies(channel: string, subdir: string): Promise<void> {
    const state = await this.d.store.tuf.state(channel);
    if (!state) return;
    const named = async (v: number): Promise<[string, string][] | null> => {
      const body = await this.d.store.tuf.document(channel, 'targets', v);
      if (body === null) return null;
      return [...targetEntries(parseTargets(body).signed)]
        .filter(([path]) => path.startsWith(`${subdir}/`))
        .map(([path, e]) => [e.sha256, path.slice(subdir.length + 1)]);
    };
    const latest = state.versions.targets;
    const keep = new Set<string>();
    for (let v = latest; v > 0 && v > latest - KEEP_TARGET_VERSIONS; v--) {
      const entries = await named(v);
      if (entries === null) break;
      for (const [sha256, file] of entries) {
        keep.add(tufTargetKey(channel, subdir, sha256, file));
        keep.add(legacyTufTargetKey(channel, subdir, sha256, file));
      }
    }
    for (let v = latest - KEEP_TARGET_VERSIONS; v > 0 && v > latest - 2 * KEEP_TARGET_VERSIONS; v--) {
      const entries = await named(v);
      if (entries === null) break;
      for (const [sha256, file] of entries) {
        const key = tufTargetKey(channel, subdir, sha256, file);
        if (!keep.has(key)) await this.d.blobs.delete(key);
      }
    }
    for await (const key of this.d.blobs.list(legacyTufTargetPrefix(channel, subdir))) {
      if (!keep.has(key)) await this.d.blobs.delete(key);
    }
  }
}
