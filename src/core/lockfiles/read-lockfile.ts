import { isProvenaError } from '../errors.ts';
import { isCondaLock, readCondaLock } from './conda-lock.ts';
import { isExplicitSpec, readExplicitSpec } from './explicit.ts';
import { lockInvalid, type Lockfile } from './locked-package.ts';
import { isPixiLock, readPixiLock } from './pixi-lock.ts';
import { parseYaml } from './yaml.ts';

export type { Lockfile, LockedPackage } from './locked-package.ts';

/** Lock files bigger than this are refused before they are parsed (real ones are a few MB). */
export const MAX_LOCKFILE_BYTES = 64 * 1024 * 1024;

export interface LockfileSelection {
  /** pixi environments */
  environments?: readonly string[];
  /** platforms (pixi, conda-lock) */
  platforms?: readonly string[];
}

/** Reads an explicit spec, a pixi.lock or a conda-lock.yml, told apart by content. */
export function readLockfile(text: string, source: string, selection: LockfileSelection = {}): Lockfile {
  if (text.length > MAX_LOCKFILE_BYTES) throw lockInvalid(`${source}: larger than ${MAX_LOCKFILE_BYTES} bytes`);
  if (isExplicitSpec(text)) {
    if (selection.environments?.length) throw lockInvalid(`${source}: an explicit spec has no environments; drop --environment`);
    return readExplicitSpec(text, source);
  }
  let doc;
  try {
    doc = parseYaml(text, { schema: 'strings', source });
  } catch (e) {
    if (isProvenaError(e)) throw lockInvalid(`${source} is neither an explicit spec (no @EXPLICIT line) nor readable YAML: ${e.detail}`);
    throw e;
  }
  if (isPixiLock(doc)) return readPixiLock(doc, selection, source);
  if (isCondaLock(doc)) {
    if (selection.environments?.length) throw lockInvalid(`${source}: a conda-lock.yml has no environments; drop --environment`);
    return readCondaLock(doc, { platforms: selection.platforms }, source);
  }
  throw lockInvalid(`${source}: not a lock file Provena reads (an explicit spec with @EXPLICIT, a pixi.lock, or a conda-lock.yml)`);
}
