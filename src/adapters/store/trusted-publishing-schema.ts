/** Tables of migration 0004_trusted_publishing. Grants and identity are JSON text (one query set for every database). */
export interface TrustedPublishingTables {
  /** id tokens already exchanged, kept until they expire */
  oidc_jti_claims: {
    issuer: string;
    jti: string;
    expires_at: string;
  };
  /** minted upload tokens; the secret only as its SHA-256 */
  upload_tokens: {
    id: string;
    secret_hash: string;
    issuer: string;
    /** `[{channel, publisherId}]` as JSON */
    grants: string;
    /** the log identity (tlog Publisher) as JSON */
    identity: string;
    created_at: string;
    expires_at: string;
  };
}
