/**
 * Tables for Trusted Publishers and verified attestations (migration 0002_publishers_attestations).
 * Specs and verified facts are JSON text so one query set serves SQLite and PostgreSQL.
 */
export interface ProvenanceTables {
  trusted_publishers: {
    id: string;
    channel: string;
    kind: string;
    /** the publisher's TrustedPublisherSpec as JSON */
    spec: string;
    created_at: string;
  };
  /** What was verified for a package file; the `.sigs` bytes live in the blob store by their sha256. */
  attestations: {
    channel: string;
    subdir: string;
    filename: string;
    sigs_sha256: string;
    bundle_sha256: string;
    /** VerifiedAttestation facts as JSON (signer, tlog, timestamps, statement) */
    verified: string;
    verified_at: string;
  };
}
