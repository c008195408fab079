import type { TransparencyLogEntry } from '@sigstore/bundle';
import { ASN1Obj, crypto, dsse, type X509Certificate } from '@sigstore/core';
import { toSignedEntity, VerificationError, Verifier, type SignedEntity } from '@sigstore/verify';
import { isProvenaError, ProvenaError, unprocessable } from '../errors.ts';
import type { ParsedBundle } from './bundle.ts';
import { extractSignerIdentity, type SignerIdentity } from './signer-identity.ts';
import { checkTimestampCertificates } from './timestamp-token.ts';
import { checkTlogEntryBinding } from './tlog-binding.ts';
import type { SigstoreTrustRoot } from './trust-root.ts';
import { toProvenaError } from './verify-errors.ts';

export interface TlogRecord {
  logIndex: string;
  /** seconds since the epoch as the log's signed entry timestamp states it; null for Rekor v2 entries */
  integratedTime: string | null;
  /** base64 log id */
  logId: string;
}

export interface VerifiedTimestamp {
  source: 'timestamp-authority' | 'transparency-log';
  time: string;
}

export interface VerifiedBundle {
  signer: SignerIdentity;
  tlog: TlogRecord | null;
  timestamps: VerifiedTimestamp[];
  /** name of the trusted root it verified against */
  trustRoot: string;
  payloadType: string;
  payload: Buffer;
}

/**
 * Cryptographic verification of a parsed bundle: the certificate chains to a trusted Fulcio CA at every
 * verified signing time (with its SCT), each transparency-log entry is included (SET or inclusion proof with
 * a signed checkpoint) and logs exactly this signature, certificate and content, RFC 3161 timestamps are
 * signed by a trusted authority, and the DSSE signature verifies. Identity is NOT checked here.
 */
export function verifyBundle(parsed: ParsedBundle, roots: readonly SigstoreTrustRoot[]): VerifiedBundle {
  try {
    return verifyAgainstRoots(parsed, roots);
  } catch (e) {
    // Hostile input must end in a refusal, never in a crash of the upload.
    if (isProvenaError(e)) throw e;
    throw unprocessable('attestation_unverifiable', `bundle could not be verified: ${(e as Error)?.message ?? String(e)}`);
  }
}

function verifyAgainstRoots(parsed: ParsedBundle, roots: readonly SigstoreTrustRoot[]): VerifiedBundle {
  if (roots.length === 0) throw new ProvenaError('trusted_root_missing', 'internal', 'no Sigstore trusted root is configured');
  const { certificate: leaf } = parsed;
  // Roots with a CA whose name and key identifier fit this leaf. That the CA's signature is on the leaf is not
  // checked here: when @sigstore/verify accepts, the issuer it chained through is a CA of that root with the
  // leaf's issuer name, a matching key identifier and a signature that verifies the leaf (findIssuer and
  // checkPath), and it verified the DSSE signature with the leaf's key. Both are re-checked, for the error
  // to name, only when every root refused: on success they would repeat two signature verifications.
  const candidates = roots.filter((r) => mayHaveIssued(leaf, r));
  if (candidates.length === 0) throw notIssuedByTrustedCa(leaf, roots);
  const envelope = parsed.bundle.content.dsseEnvelope;
  const pae = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
  const entity = signedEntityOf(parsed);
  const failures: { root: SigstoreTrustRoot; error: unknown }[] = [];
  for (const root of candidates) {
    try {
      return verifyWithRoot(parsed, root, entity, pae);
    } catch (error) {
      failures.push({ root, error });
    }
  }
  // Every root refused it. Name the reason in the order a reader would check: who issued the certificate,
  // then the signature itself (a changed payload or signature is reported as such, not as a log mismatch),
  // then the first root's own error, among the roots that did issue the certificate.
  const issuers = candidates.filter((r) => issuedBy(leaf, r));
  if (issuers.length === 0) throw notIssuedByTrustedCa(leaf, roots);
  if (!crypto.verify(pae, crypto.createPublicKey(leaf.publicKey), envelope.signatures[0]!.sig)) {
    throw unprocessable('signature_invalid', 'dsseEnvelope.signatures[0].sig: does not verify over the payload with the certificate key', {
      field: 'dsseEnvelope.signatures[0].sig',
    });
  }
  throw failures.find((f) => issuers.includes(f.root))!.error;
}

function notIssuedByTrustedCa(leaf: X509Certificate, roots: readonly SigstoreTrustRoot[]) {
  return unprocessable(
    'untrusted_certificate',
    `signing certificate (issuer ${issuerName(leaf)}) was not issued by a Fulcio CA of the trusted root(s) ${roots.map((r) => r.name).join(', ')}`,
    { field: 'verificationMaterial.certificate' },
  );
}

/**
 * What `toSignedEntity(bundle)` returns, with the certificate and RFC 3161 tokens that parseAttestation
 * already parsed (and checked canonical) from the very same bytes, in the same order, instead of a second
 * parse of each: parsing them is most of what toSignedEntity costs. The signature content and the log
 * timestamps are @sigstore/verify's own, taken from a copy of the bundle that has nothing left to parse.
 */
export function signedEntityOf(parsed: ParsedBundle): SignedEntity {
  const { verificationMaterial } = parsed.bundle;
  const unparsed = toSignedEntity({
    ...parsed.bundle,
    verificationMaterial: { ...verificationMaterial, content: { $case: 'publicKey', publicKey: { hint: '' } }, timestampVerificationData: undefined },
  });
  return {
    ...unparsed,
    key: { $case: 'certificate', certificate: parsed.certificate },
    timestamps: [...unparsed.timestamps, ...parsed.timestamps.map((timestamp) => ({ $case: 'timestamp-authority' as const, timestamp }))],
  };
}

function verifyWithRoot(parsed: ParsedBundle, root: SigstoreTrustRoot, entity: SignedEntity, pae: Buffer): VerifiedBundle {
  const { bundle, certificate: leaf } = parsed;
  const ctx = { leaf, signingTimes: claimedTimes(parsed), timestampCount: entity.timestamps.length, root: root.name };
  // parseAttestation asserted the bundle, so every entry has its logId and kindVersion.
  const entries: TransparencyLogEntry[] = bundle.verificationMaterial.tlogEntries;
  const passes = entries.length > 0 ? entries.map((e) => forEntry(entity, e, pae)) : [forEntry(entity, undefined, pae)];
  try {
    for (const p of passes) new Verifier(root.material).verify(p);
  } catch (e) {
    throw toProvenaError(isCertificateError(e) ? (firstUnprovenTime(passes, root, leaf) ?? e) : e, ctx);
  }
  entries.forEach((entry, i) => checkTlogEntryBinding(entry, parsed.certificateDer, root.material, `tlogEntries[${i}]`));
  parsed.timestamps.forEach((ts, i) => checkTimestampCertificates(ts, root.material, `rfc3161Timestamps[${i}]`));
  checkChainCopies(parsed, root);
  const first = entries[0];
  return {
    signer: extractSignerIdentity(leaf),
    tlog: first
      ? {
          logIndex: first.logIndex,
          integratedTime: first.inclusionPromise ? first.integratedTime : null,
          logId: first.logId.keyId.toString('base64'),
        }
      : null,
    timestamps: timestampsOf(parsed),
    trustRoot: root.name,
    payloadType: bundle.content.dsseEnvelope.payloadType,
    payload: bundle.content.dsseEnvelope.payload,
  };
}

/**
 * @sigstore/verify checks the certificate chain at the log's integratedTime before it checks the log's
 * signature over that time, so a certificate failure may come from a forged time. Verifying again with the
 * leaf key taken as given checks timestamps, log entries and signature alone: the error it finds (if any)
 * is the real one; if none, every signing time is proven and the certificate failure stands.
 */
function firstUnprovenTime(passes: SignedEntity[], root: SigstoreTrustRoot, leaf: X509Certificate): unknown {
  const leafKey = crypto.createPublicKey(leaf.publicKey);
  const keyGiven = new Verifier({ ...root.material, publicKey: () => ({ publicKey: leafKey, validFor: () => true }) });
  try {
    for (const p of passes) keyGiven.verify({ ...p, key: { $case: 'public-key', hint: '' } });
    return undefined;
  } catch (e) {
    return e;
  }
}

function isCertificateError(e: unknown): boolean {
  return e instanceof VerificationError && e.code === 'CERTIFICATE_ERROR';
}

/**
 * A `dsse` entry logs sha256(payload); a `hashedrekord` entry over a DSSE envelope (what some Rekor v2
 * clients write) logs sha256 of the pre-authentication encoding, which is what the signature covers.
 * @sigstore/verify only knows the first, so the digest it is given follows the entry's kind.
 */
function forEntry(entity: SignedEntity, entry: TransparencyLogEntry | undefined, pae: Buffer): SignedEntity {
  if (entry === undefined) return { ...entity, tlogEntries: [] };
  if (entry.kindVersion.kind !== 'hashedrekord') return { ...entity, tlogEntries: [entry] };
  const paeDigest = crypto.digest('sha256', pae);
  const signature = entity.signature;
  return {
    ...entity,
    tlogEntries: [entry],
    signature: {
      signature: signature.signature,
      compareSignature: (s) => signature.compareSignature(s),
      compareDigest: (d) => crypto.bufferEqual(d, paeDigest),
      verifySignature: (k) => signature.verifySignature(k),
    },
  };
}

/** Further certificates of a v0.1/v0.2 chain are not used by verification; they must be the root's own. */
/**
 * What the checks need from a root's CA certificates, computed once per root: @sigstore/core re-parses
 * ASN.1 on every getter call, which made these pre-checks cost more than the verification itself.
 */
interface RootIndex {
  chainDer: Buffer[];
  cas: { cert: X509Certificate; subject: Buffer; subjectKeyId: Buffer | undefined }[];
}
const rootIndexes = new WeakMap<SigstoreTrustRoot, RootIndex>();

function rootIndex(root: SigstoreTrustRoot): RootIndex {
  let index = rootIndexes.get(root);
  if (!index) {
    const certs = root.material.certificateAuthorities.flatMap((ca) => ca.certChain);
    index = {
      chainDer: certs.map((c) => c.root.toDER()),
      cas: certs.map((cert) => ({ cert, subject: cert.subject, subjectKeyId: cert.extSubjectKeyID?.keyIdentifier })),
    };
    rootIndexes.set(root, index);
  }
  return index;
}

function checkChainCopies(parsed: ParsedBundle, root: SigstoreTrustRoot): void {
  if (parsed.chainDer.length === 0) return;
  const trusted = rootIndex(root).chainDer;
  parsed.chainDer.forEach((der, i) => {
    if (!trusted.some((t) => t.equals(der))) {
      throw unprocessable('untrusted_certificate', `x509CertificateChain.certificates[${i + 1}]: expected a certificate of trusted root ${root.name}, got another certificate`);
    }
  });
}

/** A CA of the root has the leaf's issuer name and (where both state one) its authority key identifier. */
function mayHaveIssued(leaf: X509Certificate, root: SigstoreTrustRoot): boolean {
  return issuingCas(leaf, root).length > 0;
}

/** ... and its signature is on the leaf: the root's Fulcio issued this certificate. */
function issuedBy(leaf: X509Certificate, root: SigstoreTrustRoot): boolean {
  try {
    return issuingCas(leaf, root).some(({ cert }) => leaf.verify(cert));
  } catch {
    return false;
  }
}

function issuingCas(leaf: X509Certificate, root: SigstoreTrustRoot): RootIndex['cas'] {
  try {
    const authorityKey = leaf.extAuthorityKeyID?.keyIdentifier;
    const issuer = leaf.issuer;
    return rootIndex(root).cas.filter(({ subject, subjectKeyId }) => {
      // Key identifiers first: instances share issuer names (staging and public-good both say sigstore-intermediate).
      if (authorityKey && subjectKeyId && !authorityKey.equals(subjectKeyId)) return false;
      return subject.equals(issuer);
    });
  } catch {
    // A certificate whose fields cannot even be read was not issued by anyone trusted.
    return [];
  }
}

/** The signing times the bundle states: RFC 3161 times, and integratedTime where a SET signs it. */
function claimedTimes(parsed: ParsedBundle): Date[] {
  const times = parsed.timestamps.map((t) => t.signingTime);
  for (const e of parsed.bundle.verificationMaterial.tlogEntries) {
    if (e.inclusionPromise && e.integratedTime !== '0') times.push(new Date(Number(e.integratedTime) * 1000));
  }
  // An absurd integratedTime is not a date; its SET check reports it.
  return times.filter((t) => Number.isFinite(t.getTime()));
}

/** Called once verification succeeded, so every time listed is proven. */
function timestampsOf(parsed: ParsedBundle): VerifiedTimestamp[] {
  const tsa = parsed.timestamps.length;
  return claimedTimes(parsed).map((t, i) => ({ source: i < tsa ? 'timestamp-authority' : 'transparency-log', time: t.toISOString() }));
}

/** The issuer DN's attribute values (`sigstore.dev, sigstore-intermediate`): enough to name a Sigstore instance. */
function issuerName(cert: X509Certificate): string {
  try {
    const rdns = ASN1Obj.parseBuffer(Buffer.from(cert.issuer)).subs;
    return rdns.map((rdn) => rdn.subs[0]?.subs[1]?.value.toString('utf8') ?? '?').join(', ');
  } catch {
    return cert.issuer.toString('hex');
  }
}
