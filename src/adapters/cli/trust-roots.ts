import { isProvenaError } from '../../core/errors.ts';
import type { SigstoreTrustRoot } from '../../core/attest/trust-root.ts';
import { SettingsError } from '../config/settings.ts';
import { resolveTrustRoots, type TrustRootSource } from '../sigstore/trusted-roots.ts';

/**
 * `trusted_root` entries: the words `public-good` and `staging`, or paths to trusted_root.json files. With the
 * data directory, `public-good` and `staging` use the copy `provena trust-root update` refreshed there, if any.
 * `description` says which copy each is, for the start-up line.
 */
export function trustRootsFromSettings(entries: readonly string[], dataDir?: string): { roots: SigstoreTrustRoot[]; description: string } {
  const sources: TrustRootSource[] = entries.map((e) =>
    e === 'public-good' ? { kind: 'public-good' } : e === 'staging' ? { kind: 'staging' } : { kind: 'file', path: e },
  );
  try {
    const resolved = resolveTrustRoots(sources, dataDir);
    return {
      roots: resolved.map((r) => r.root),
      description: resolved.map((r) => (r.origin === r.root.name || r.origin.endsWith(r.root.name) ? r.origin : `${r.root.name} (${r.origin})`)).join(', '),
    };
  } catch (e) {
    if (isProvenaError(e)) throw new SettingsError(`setting trusted_root: ${e.detail} (flag --trusted-root, env PROVENA_TRUSTED_ROOT)`);
    throw e;
  }
}
