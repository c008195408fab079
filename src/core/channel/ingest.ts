import type { Readable } from 'node:stream';
import { parsePackageFilename } from '../conda/filename.ts';
import { readPackageMetadata } from '../conda/package-reader.ts';
import { checkPackageIdentity, toPackageRecord } from '../conda/record.ts';
import type { PackageFilename } from '../conda/types.ts';
import { conflict, forbidden, invalid, unprocessable } from '../errors.ts';
import type { AccessControl, Principal } from './access.ts';
import type { Channel, StoredPackage } from './model.ts';
import { attestationRecord, type AttestationGate } from './attestation-gate.ts';
import { packageBlobKey, sigsBlobKey, type BlobStore, type Clock, type MetadataStore, type Spool } from './ports.ts';
import { receiveToSpool, type SpooledFile } from './receive.ts';
import { placeStaticFiles } from './static-layout.ts';
import type { RepodataPublisher } from './repodata-publisher.ts';
import { type ChangeLog, fileEntry } from './log-entries.ts';
import { publisherLabel, requiredPublisherOf } from '../publish/upload-tokens.ts';

export interface UploadTarget {
  channel: Channel;
  principal: Principal;
  force: boolean;
}

export interface UploadFacts {
  /** from `X-File-Name` or the multipart part's filename */
  filename: string | undefined;
  /** from `X-File-SHA256`, if the client sent one */
  declaredSha256?: string | undefined;
  /**
   * from `?subdir=` on the upload URL: index.json's subdir must equal it, and it places packages whose
   * index.json names none (rattler-build's protocol has no subdir, so it is optional)
   */
  subdir?: string | undefined;
  /** the CEP-27 Sigstore bundle sent with the package (multipart part `attestation`) */
  attestation?: Buffer | undefined;
}

export interface IngestLimits {
  maxPackageBytes: number;
}

/** An accepted upload and the index of its `publish` entry in the transparency log. */
export interface PublishedPackage extends StoredPackage {
  logIndex: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The one path every upload takes (docs/architecture.md, "The ingest flow"): authorise, spool while
 * hashing, inspect the package, make the blob durable, then commit the record in one transaction.
 * Nothing is stored for a refused upload; the commit is the acknowledgement.
 */
export class Ingest {
  constructor(
    private readonly deps: {
      store: MetadataStore;
      blobs: BlobStore;
      access: AccessControl;
      spool: Spool;
      clock: Clock;
      repodata: RepodataPublisher;
      limits: IngestLimits;
      log: ChangeLog;
      attestations: AttestationGate;
    },
  ) {}

  /** Step 0, before any byte is read: the caller may upload to this channel. */
  async authorize(principal: Principal, channelName: string, force: boolean): Promise<UploadTarget> {
    const channel = await this.deps.access.require(principal, channelName, 'upload');
    // A published file is what users pinned and the log recorded: replacing it is a channel owner's
    // decision, not something any upload credential (or a CI job's minted token) may do.
    if (force && !this.deps.access.allows(principal, channel, 'admin')) {
      throw forbidden(
        'replace_needs_admin',
        `replacing a file (force=true) in channel ${channel.name} needs an admin-scope key or the admin token; upload keys and Trusted Publishing tokens can only add new files`,
      );
    }
    return { channel, principal, force };
  }

  /** Parses the filename before the body is read, so a bad name is refused without spooling. */
  checkFilename(filename: string | undefined): PackageFilename {
    if (filename === undefined || filename === '') {
      throw invalid('missing_filename', 'name the file: send X-File-Name (or a filename on the multipart "file" part)');
    }
    return parsePackageFilename(filename);
  }

  /**
   * Step 3: spools the body. The limit is the server's `max_package_size`, or the channel's own when it
   * is smaller; a declared length over it is refused before a byte is written.
   */
  receive(body: Readable, target?: UploadTarget, declaredBytes?: number): Promise<SpooledFile> {
    const serverMax = this.deps.limits.maxPackageBytes;
    const channelMax = target?.channel.maxPackageBytes ?? null;
    const limit =
      channelMax !== null && channelMax < serverMax
        ? { maxBytes: channelMax, what: `the ${channelMax}-byte limit for packages in channel ${target!.channel.name}` }
        : { maxBytes: serverMax, what: `the ${serverMax}-byte limit for packages on this server` };
    return receiveToSpool(body, this.deps.spool, limit, declaredBytes);
  }

  /** Everything after the bytes are on local disk. Always consumes (or discards) the spool file. */
  async accept(target: UploadTarget, facts: UploadFacts, spooled: SpooledFile): Promise<PublishedPackage> {
    try {
      return await this.acceptSpooled(target, facts, spooled);
    } finally {
      await spooled.discard();
    }
  }

  private async acceptSpooled(target: UploadTarget, facts: UploadFacts, spooled: SpooledFile): Promise<PublishedPackage> {
    const parsed = this.checkFilename(facts.filename);
    if (facts.declaredSha256 !== undefined) {
      const declared = facts.declaredSha256.toLowerCase();
      if (!SHA256_HEX.test(declared)) {
        throw invalid('invalid_sha256_header', 'X-File-SHA256 must be 64 hexadecimal characters');
      }
      if (declared !== spooled.sha256) {
        throw unprocessable(
          'sha256_mismatch',
          `X-File-SHA256 says ${declared} but the received bytes hash to ${spooled.sha256}; the upload was altered or truncated`,
        );
      }
    }
    const meta = await readPackageMetadata(spooled.path, parsed.format);
    const subdir = checkPackageIdentity(parsed, meta.index, facts.subdir);
    const record = toPackageRecord({ ...meta.index, subdir }, spooled);
    // verified before anything is stored: a refused attestation leaves no record, blob or log entry
    // an upload authorised by a Trusted Publishing token must be signed by that very publisher
    const attestation = await this.deps.attestations.check(
      target.channel,
      { filename: parsed.filename, sha256: spooled.sha256 },
      facts.attestation,
      requiredPublisherOf(target.principal, target.channel.name),
    );
    if (attestation) record.attestations_sha256 = attestation.sigsSha256;
    const { store, blobs, clock } = this.deps;
    const { channel, principal, force } = target;

    // cheap early refusal; the insert below still decides races
    if (!force && (await store.packages.get(channel.name, subdir, parsed.filename))) {
      throw fileExists(channel.name, subdir, parsed.filename);
    }
    // durable before the commit, so no reader can ever see a record without its blob
    await blobs.putFile(packageBlobKey(spooled.sha256), spooled.path);
    if (attestation) await blobs.putBytes(sigsBlobKey(attestation.sigsSha256), attestation.sigsBytes);
    const pkg: StoredPackage = {
      channel: channel.name,
      subdir,
      filename: parsed.filename,
      sha256: spooled.sha256,
      md5: spooled.md5,
      size: spooled.size,
      record,
      about: meta.about ?? null,
      uploadedAt: clock.now().toISOString(),
      uploadedBy: principalLabel(principal, channel.name),
      attestationsSha256: attestation?.sigsSha256 ?? null,
    };
    let logIndex = -1;
    let previous: StoredPackage | null = null;
    const outcome = await store.transaction(async (tx) => {
      if (force) previous = await tx.packages.get(pkg.channel, pkg.subdir, pkg.filename);
      const inserted = await tx.packages.insert(pkg, { replace: force });
      if (inserted !== 'exists') {
        if (attestation) await tx.attestations.put(attestationRecord(pkg, attestation, pkg.uploadedAt));
        else if (inserted === 'replaced') await tx.attestations.remove(pkg.channel, pkg.subdir, pkg.filename);
      }
      // the entry's index is taken in the transaction of the publish it records: both or neither
      if (inserted !== 'exists') logIndex = await this.deps.log.append(tx, fileEntry('publish', pkg, principal, clock.now()));
      return inserted;
    });
    if (outcome === 'exists') throw fileExists(channel.name, subdir, parsed.filename);
    this.deps.log.prepareReceipt(logIndex); // signing overlaps the repodata refresh
    // only the winner of the commit writes the static channel path, before the repodata names it
    await placeStaticFiles(blobs, pkg, previous);
    await this.deps.repodata.refresh(channel.name, subdir);
    return { ...pkg, logIndex };
  }
}

function fileExists(channel: string, subdir: string, filename: string) {
  return conflict(
    'file_exists',
    `${channel}/${subdir}/${filename} exists already; upload with force=true to replace it, or skip it`,
  );
}

export function principalLabel(principal: Principal, channel?: string): string {
  switch (principal.kind) {
    case 'admin':
      return 'admin';
    case 'key':
      return `key:${principal.key.id}`;
    case 'publisher':
      return publisherLabel(principal, channel);
    case 'anonymous':
      return 'anonymous';
  }
}
