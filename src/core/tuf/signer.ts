import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { Key, Signature } from '@tufjs/models';

/**
 * A TUF key: ed25519, its public half as 64 hex digits (the form python-tuf and tuf-js read), its id
 * the sha256 of the key's canonical JSON as the specification defines it.
 */
export function tufKeyOf(publicOrPrivate: KeyObject): Key {
  const pub = publicOrPrivate.type === 'private' ? createPublicKey(publicOrPrivate) : publicOrPrivate;
  if (pub.asymmetricKeyType !== 'ed25519') throw new Error(`TUF keys here are ed25519; this key is ${pub.asymmetricKeyType}`);
  const raw = Buffer.from(pub.export({ format: 'jwk' }).x as string, 'base64url');
  const hex = raw.toString('hex');
  // the key's canonical JSON (sorted keys, no spaces): only ASCII fields, so written out directly
  const canonical = `{"keytype":"ed25519","keyval":{"public":"${hex}"},"scheme":"ed25519"}`;
  const keyID = createHash('sha256').update(canonical).digest('hex');
  return new Key({ keyID, keyType: 'ed25519', scheme: 'ed25519', keyVal: { public: hex } });
}

/** Something that signs as one TUF key (a private key held in memory). */
export interface TufSigner {
  readonly key: Key;
  sign(data: Buffer): Signature;
}

export function signerOf(privateKey: KeyObject): TufSigner {
  const key = tufKeyOf(privateKey);
  return { key, sign: (data) => new Signature({ keyID: key.keyID, sig: sign(null, data, privateKey).toString('hex') }) };
}
