import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { invalid } from '../errors.ts';

/**
 * One Sigstore instance's trust anchors (Fulcio CAs, Rekor logs, CT logs, timestamp authorities), built
 * from a `trusted_root.json`. Verification may be given several (public-good, staging, a private
 * instance); a bundle must verify against one of them completely.
 */
export interface SigstoreTrustRoot {
  /** for messages: `public-good`, `staging`, a file name */
  name: string;
  material: TrustMaterial;
}

const TRUSTED_ROOT_MEDIA_TYPES = [
  'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  'application/vnd.dev.sigstore.trustedroot.v0.1+json',
  'application/vnd.dev.sigstore.trustedroot.v0.2+json',
];

/** Builds trust material from parsed `trusted_root.json`; throws `trusted_root_invalid` for anything else. */
export function buildTrustRoot(json: unknown, name: string): SigstoreTrustRoot {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw invalid('trusted_root_invalid', `trusted root ${name}: expected a JSON object`);
  }
  const mediaType = (json as Record<string, unknown>)['mediaType'];
  if (typeof mediaType !== 'string' || !TRUSTED_ROOT_MEDIA_TYPES.includes(mediaType)) {
    throw invalid('trusted_root_invalid', `trusted root ${name}: expected mediaType one of ${TRUSTED_ROOT_MEDIA_TYPES.join(', ')}, got ${JSON.stringify(mediaType ?? null)}`);
  }
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(json));
  } catch (e) {
    throw invalid('trusted_root_invalid', `trusted root ${name}: ${(e as Error).message}`);
  }
  // A root without a CA or a log could never verify anything: that is a configuration mistake, say so now.
  if (material.certificateAuthorities.length === 0) throw invalid('trusted_root_invalid', `trusted root ${name}: no certificate authority`);
  if (material.tlogs.length === 0) throw invalid('trusted_root_invalid', `trusted root ${name}: no transparency log`);
  return { name, material };
}
