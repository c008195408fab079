import { unprocessable } from '../errors.ts';
import type { TrustedPublisher } from '../publish/publisher.ts';
import { parseAttestation, type ParseOptions } from './bundle.ts';
import { matchPublisher, requirePublisher } from './identity.ts';
import type { SignerIdentity } from './signer-identity.ts';
import { verifyBundle, type TlogRecord, type VerifiedTimestamp } from './sigstore-verify.ts';
import { checkPublishStatement, type PublishStatement } from './statement.ts';
import type { SigstoreTrustRoot } from './trust-root.ts';

/** What an accepted attestation proves; kept with the package, keyed by `bundleSha256`. */
export interface VerifiedAttestation {
  statement: PublishStatement;
  signer: SignerIdentity;
  /** the Trusted Publisher the signer was matched to */
  publisher: TrustedPublisher;
  tlog: TlogRecord | null;
  timestamps: VerifiedTimestamp[];
  /** sha256 (hex) of the attestation bytes as uploaded */
  bundleSha256: string;
  trustRoot: string;
}

export interface PackageAttestationInput {
  /** one Sigstore bundle (or a `.v0.sigs` array holding exactly one) */
  bundleBytes: Uint8Array;
  filename: string;
  /** sha256 of the uploaded package, hex */
  sha256: string;
  /** URL of the channel being uploaded to */
  channelUrl: string;
  /** the channel's Trusted Publishers */
  publishers: readonly TrustedPublisher[];
  /**
   * The publisher whose Trusted Publishing token authorised this upload: the signer must be this very
   * publisher, and its environment pin counts as proven (the token carried it; see identity.ts).
   */
  requiredPublisher?: TrustedPublisher;
  trust: readonly SigstoreTrustRoot[];
  limits?: ParseOptions;
}

/**
 * The whole CEP-27 check done at upload, in this order: parse (size, media type, DSSE) → Sigstore crypto
 * (certificate chain, log, timestamps, signature) → statement (type, subject, digest, channel) → identity
 * (Trusted Publisher). Returns what was proven, or throws the first failing check's error.
 */
export function verifyPackageAttestation(input: PackageAttestationInput): VerifiedAttestation {
  const parsed = parseAttestation(input.bundleBytes, input.limits);
  const verified = verifyBundle(parsed, input.trust);
  const statement = checkPublishStatement(verified.payloadType, verified.payload, {
    filename: input.filename,
    sha256: input.sha256,
    channelUrl: input.channelUrl,
  });
  const publisher = identify(verified.signer, input.publishers, input.requiredPublisher);
  return {
    statement,
    signer: verified.signer,
    publisher,
    tlog: verified.tlog,
    timestamps: verified.timestamps,
    bundleSha256: parsed.sourceSha256,
    trustRoot: verified.trustRoot,
  };
}

function identify(signer: SignerIdentity, publishers: readonly TrustedPublisher[], required: TrustedPublisher | undefined): TrustedPublisher {
  if (required === undefined) return matchPublisher(signer, publishers);
  // A token minted for a publisher that is no longer the channel's (deleted since) proves nothing here.
  if (!publishers.some((p) => p.id === required.id)) {
    throw unprocessable('signer_not_trusted', `publisher ${required.id} that authorised this upload is not a Trusted Publisher of the channel`, {
      field: 'requiredPublisher',
    });
  }
  return requirePublisher(signer, required, { authorisedBy: required });
}
