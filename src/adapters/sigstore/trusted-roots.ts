import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { buildTrustRoot, type SigstoreTrustRoot } from '../../core/attest/trust-root.ts';
import { invalid } from '../../core/errors.ts';

/**
 * Where Provena's Sigstore trust anchors come from. Verification never goes to the network: the public-good
 * root is the copy @sigstore/tuf ships in its seeds (frozen at that package's release, so operators should
 * refresh it with `--trusted-root FILE` from a TUF-updated `trusted_root.json`), the staging root is a copy
 * kept in this folder, and any other instance is a file.
 */
const TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const require = createRequire(import.meta.url);

export type TrustRootSource = { kind: 'public-good' } | { kind: 'staging' } | { kind: 'file'; path: string };

/** The Sigstore public-good root embedded in @sigstore/tuf's seeds.json. */
export function publicGoodTrustRoot(): SigstoreTrustRoot {
  const seeds = require('@sigstore/tuf/seeds.json') as Record<string, { targets?: Record<string, string> } | undefined>;
  const encoded = seeds[TUF_MIRROR]?.targets?.['trusted_root.json'];
  if (typeof encoded !== 'string') {
    throw invalid('trusted_root_invalid', `@sigstore/tuf seeds.json has no trusted_root.json for ${TUF_MIRROR}`);
  }
  return buildTrustRoot(parseJson(Buffer.from(encoded, 'base64').toString('utf8'), 'public-good'), 'public-good');
}

/** Sigstore's staging instance (sigstage.dev), for testing signers against a non-production Sigstore. */
export function stagingTrustRoot(): SigstoreTrustRoot {
  const text = readFileSync(new URL('./roots/trusted_root_staging.json', import.meta.url), 'utf8');
  return buildTrustRoot(parseJson(text, 'staging'), 'staging');
}

/** A `trusted_root.json` given by the operator (`--trusted-root FILE`), e.g. a private Sigstore. */
export function fileTrustRoot(path: string): SigstoreTrustRoot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalid('trusted_root_invalid', `trusted root ${path}: cannot read (${(e as Error).message})`);
  }
  return buildTrustRoot(parseJson(text, path), basename(path));
}

/** Loads each source once; with none given, the public-good root alone. */
export function loadTrustRoots(sources: readonly TrustRootSource[] = [{ kind: 'public-good' }]): SigstoreTrustRoot[] {
  return sources.map((s) => (s.kind === 'public-good' ? publicGoodTrustRoot() : s.kind === 'staging' ? stagingTrustRoot() : fileTrustRoot(s.path)));
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid('trusted_root_invalid', `trusted root ${name}: not JSON (${(e as Error).message})`);
  }
}
