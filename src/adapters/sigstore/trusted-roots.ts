import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { buildTrustRoot, type SigstoreTrustRoot } from '../../core/attest/trust-root.ts';
import { invalid } from '../../core/errors.ts';

/**
 * Where Provena's Sigstore trust anchors come from. Verification never goes to the network: the public-good
 * root is the copy @sigstore/tuf ships in its seeds (frozen at that package's release), the staging root is a
 * copy kept in this folder, and any other instance is a file. `provena trust-root update` (tuf-refresh.ts)
 * keeps a TUF-verified newer copy of either in DATA/trusted-roots/, which then wins over the embedded one.
 */
const TUF_MIRROR = 'https://tuf-repo-cdn.sigstore.dev';
const require = createRequire(import.meta.url);

export type SigstoreInstance = 'public-good' | 'staging';
export type TrustRootSource = { kind: SigstoreInstance } | { kind: 'file'; path: string };

/** Where `provena trust-root update` keeps the refreshed trusted_root.json of an instance. */
export function refreshedRootFile(dataDir: string, instance: SigstoreInstance): string {
  return join(dataDir, 'trusted-roots', `${instance}.json`);
}

/** A loaded root and where it came from, for the server's start-up line. */
export interface ResolvedTrustRoot {
  root: SigstoreTrustRoot;
  /** `embedded copy`, `refreshed copy FILE`, or the file path */
  origin: string;
}

/**
 * Loads each source; for `public-good` and `staging` the refreshed copy in DATA/trusted-roots/ when there is
 * one (a broken one is an error, not a silent fallback: it was written only after TUF verified it).
 */
export function resolveTrustRoots(sources: readonly TrustRootSource[], dataDir?: string): ResolvedTrustRoot[] {
  return sources.map((s) => {
    if (s.kind === 'file') return { root: fileTrustRoot(s.path), origin: s.path };
    const refreshed = dataDir === undefined ? null : refreshedRootFile(dataDir, s.kind);
    if (refreshed && existsSync(refreshed)) {
      try {
        return { root: { ...fileTrustRoot(refreshed), name: s.kind }, origin: `refreshed copy ${refreshed}` };
      } catch (e) {
        const why = (e as { detail?: string }).detail ?? (e as Error).message;
        throw invalid('trusted_root_invalid', `${why}; run provena trust-root update again, or delete ${refreshed} to use the embedded ${s.kind} root`);
      }
    }
    return { root: s.kind === 'public-good' ? publicGoodTrustRoot() : stagingTrustRoot(), origin: 'embedded copy' };
  });
}

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

/** Loads each source once (embedded copies only, no data directory); with none given, the public-good root alone. */
export function loadTrustRoots(sources: readonly TrustRootSource[] = [{ kind: 'public-good' }]): SigstoreTrustRoot[] {
  return resolveTrustRoots(sources).map((r) => r.root);
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid('trusted_root_invalid', `trusted root ${name}: not JSON (${(e as Error).message})`);
  }
}
