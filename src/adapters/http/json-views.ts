import type { ApiKey, Channel, StoredPackage } from '../../core/channel/model.ts';

/** The API's JSON shapes: snake_case, stable, independent of the internal model's names. */
export function channelJson(c: Channel, publicUrl: string) {
  return {
    name: c.name,
    private: c.private,
    require_attestations: c.requireAttestations,
    /** bytes; null: the server's `max_package_size` applies */
    max_package_size: c.maxPackageBytes ?? null,
    created_at: c.createdAt,
    url: `${publicUrl}/${c.name}`,
  };
}

export function keyJson(k: ApiKey) {
  return {
    id: k.id,
    channel: k.channel,
    scope: k.scope,
    description: k.description,
    created_at: k.createdAt,
    expires_at: k.expiresAt,
    revoked_at: k.revokedAt,
  };
}

export function packageJson(p: StoredPackage) {
  return {
    channel: p.channel,
    subdir: p.subdir,
    filename: p.filename,
    sha256: p.sha256,
    md5: p.md5,
    size: p.size,
    record: p.record,
    uploaded_at: p.uploadedAt,
    uploaded_by: p.uploadedBy,
    attestations_sha256: p.attestationsSha256,
  };
}
