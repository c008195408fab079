import { createHash } from 'node:crypto';
import { verifyPackageAttestation, type VerifiedAttestation } from '../attest/verify-attestation.ts';
import type { SigstoreTrustRoot } from '../attest/trust-root.ts';
import { unprocessable } from '../errors.ts';
import type { TrustedPublisher } from '../publish/publisher.ts';
import type { Channel } from './model.ts';
import type { AttestationRecord, MetadataStore } from './ports.ts';
import { noTelemetry, secondsSince, type Telemetry } from '../telemetry.ts';

/** An attestation that passed every check, with the exact bytes that will be served. */
export interface AcceptedAttestation {
  verified: VerifiedAttestation;
  /** `[` + the bundle as uploaded + `]`: served as `.sigs` / `.v0.sigs`, hashed into `attestations_sha256` */
  sigsBytes: Buffer;
  sigsSha256: string;
}

/**
 * Step 4 of the ingest flow: a package that comes with a CEP-27 attestation is accepted only if the
 * bundle verifies against the server's trusted roots, its statement names this file, these bytes and
 * this channel, and its signer is one of the channel's Trusted Publishers (the very one that minted
 * the upload token, when a token did). Channels may require an attestation.
 */
export class AttestationGate {
  constructor(
    private readonly store: MetadataStore,
    private readonly trust: readonly SigstoreTrustRoot[],
    private readonly channelUrl: (channel: string) => string,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {}

  async check(
    channel: Channel,
    file: { filename: string; sha256: string },
    bundle: Buffer | undefined,
    requiredPublisher?: TrustedPublisher,
  ): Promise<AcceptedAttestation | null> {
    if (bundle === undefined) {
      if (channel.requireAttestations) {
        throw unprocessable(
          'attestation_required',
          `channel ${channel.name} requires a Sigstore attestation (CEP-27) with every package; upload with one`,
        );
      }
      return null;
    }
    if (/^\s*\[/.test(bundle.subarray(0, 64).toString('latin1'))) {
      throw unprocessable('attestation_not_single', 'send one Sigstore bundle per package, not a JSON array of bundles');
    }
    const publishers = await this.store.publishers.list(channel.name);
    const started = process.hrtime.bigint();
    let verified: VerifiedAttestation;
    try {
      verified = verifyPackageAttestation({
        bundleBytes: bundle,
        filename: file.filename,
        sha256: file.sha256,
        channelUrl: this.channelUrl(channel.name),
        publishers,
        requiredPublisher,
        trust: this.trust,
      });
    } catch (e) {
      this.telemetry.attestationChecked((e as { code?: unknown }).code?.toString() ?? 'internal_error', secondsSince(started));
      throw e;
    }
    this.telemetry.attestationChecked('verified', secondsSince(started));
    // the uploaded bytes are kept verbatim inside the array: never re-serialised
    const sigsBytes = Buffer.concat([Buffer.from('['), bundle, Buffer.from(']')]);
    return { verified, sigsBytes, sigsSha256: createHash('sha256').update(sigsBytes).digest('hex') };
  }
}

/** The facts kept and shown for an accepted attestation. */
export function attestationRecord(
  where: { channel: string; subdir: string; filename: string },
  accepted: AcceptedAttestation,
  verifiedAt: string,
): AttestationRecord {
  const v = accepted.verified;
  return {
    ...where,
    sigsSha256: accepted.sigsSha256,
    bundleSha256: v.bundleSha256,
    verifiedAt,
    verified: {
      issuer: v.signer.issuer,
      identity: v.signer.subjectAlternativeName?.value ?? null,
      repository: v.signer.sourceRepositoryUri,
      workflow: v.signer.buildConfigUri,
      build_signer: v.signer.buildSignerUri,
      ref: v.signer.sourceRepositoryRef,
      commit: v.signer.sourceRepositoryDigest,
      trigger: v.signer.buildTrigger,
      run: v.signer.runInvocationUri,
      publisher_id: v.publisher.id,
      rekor_log_index: v.tlog?.logIndex ?? null,
      rekor_log_id: v.tlog?.logId ?? null,
      integrated_time: v.tlog?.integratedTime ?? null,
      timestamps: v.timestamps,
      target_channel: v.statement.targetChannel,
      trust_root: v.trustRoot,
    },
  };
}
