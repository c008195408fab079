import { isProvenaError } from '../../core/errors.ts';
import type { SigstoreTrustRoot } from '../../core/attest/trust-root.ts';
import { SettingsError } from '../config/settings.ts';
import { loadTrustRoots, type TrustRootSource } from '../sigstore/trusted-roots.ts';

/** `trusted_root` entries: the words `public-good` and `staging`, or paths to trusted_root.json files. */
export function trustRootsFromSettings(entries: readonly string[]): SigstoreTrustRoot[] {
  const sources: TrustRootSource[] = entries.map((e) =>
    e === 'public-good' ? { kind: 'public-good' } : e === 'staging' ? { kind: 'staging' } : { kind: 'file', path: e },
  );
  try {
    return loadTrustRoots(sources);
  } catch (e) {
    if (isProvenaError(e)) throw new SettingsError(`setting trusted_root: ${e.detail} (flag --trusted-root, env PROVENA_TRUSTED_ROOT)`);
    throw e;
  }
}
