import type { Key } from '@tufjs/models';
import type { TufSigner } from './signer.ts';

/** The private keys the server holds (online roles; a channel's first root until the owner replaces it). */
export interface TufKeyring {
  signer(keyID: string): TufSigner | undefined;
  /** Reads the key store again (an operator added a key for a rotation). */
  reload(): void;
  /** The keys of a channel's first root: a server-held root key and one key per online role. */
  bootstrap(): { root: TufSigner; targets: TufSigner; snapshot: TufSigner; timestamp: TufSigner };
  publicKeys(): Key[];
}
