import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Key } from '@tufjs/models';
import type { TufKeyring } from '../../core/tuf/keyring.ts';
import { signerOf, type TufSigner } from '../../core/tuf/signer.ts';
import { writeFileDurably } from '../files/durable-file.ts';

const BOOTSTRAP_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;

/**
 * The server's TUF private keys: every `*.pem` (PKCS#8 ed25519) in one directory, `tuf_key_dir`
 * (default DATA/tuf-keys). `root.pem`, `targets.pem`, `snapshot.pem` and `timestamp.pem` make a
 * channel's first root, generated on first use; for an online-key rotation the operator adds a key
 * file here and names its public key in a new root. Replicas share the directory's contents.
 */
export class KeyDirKeyring implements TufKeyring {
  private signers = new Map<string, TufSigner>();

  constructor(private readonly dir: string) {
    this.reload();
  }

  reload(): void {
    const signers = new Map<string, TufSigner>();
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.pem'));
    } catch {
      // no directory yet: bootstrap() makes it
    }
    for (const name of names) {
      const file = path.join(this.dir, name);
      let key: KeyObject;
      try {
        key = createPrivateKey(fs.readFileSync(file));
      } catch (e) {
        throw new Error(`${file} is not a PEM private key: ${(e as Error).message}`);
      }
      const s = signerOf(key);
      signers.set(s.key.keyID, s);
    }
    this.signers = signers;
  }

  signer(keyID: string): TufSigner | undefined {
    return this.signers.get(keyID);
  }

  bootstrap(): { root: TufSigner; targets: TufSigner; snapshot: TufSigner; timestamp: TufSigner } {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const out = {} as Record<(typeof BOOTSTRAP_ROLES)[number], TufSigner>;
    for (const role of BOOTSTRAP_ROLES) {
      const file = path.join(this.dir, `${role}.pem`);
      if (!fs.existsSync(file)) writeNewKey(file);
      out[role] = signerOf(createPrivateKey(fs.readFileSync(file)));
      this.signers.set(out[role].key.keyID, out[role]);
    }
    return out;
  }

  publicKeys(): Key[] {
    return [...this.signers.values()].map((s) => s.key);
  }
}

/**
 * A new ed25519 key as PKCS#8 PEM, mode 0600, unless the file exists. Replicas sharing the directory
 * may start at once: the key is written whole to a private temporary name and then hard-linked to
 * its name, which fails if the name exists (create-exclusive, atomic on local disks and NFS), so
 * exactly one key wins and nobody reads a half-written file; the loser reads the winner's key.
 */
export function writeNewKey(file: string): void {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  writeFileDurably(file, pem, { how: 'create', mode: 0o600 });
}
