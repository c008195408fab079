// Vectors: a native 0x04 verifier key and a cosignature whose timestamp is 1727964367, both from
// transparency-dev/formats note/note_cosigv1_test.go; the signed message is rebuilt here by hand from
// c2sp.org/tlog-cosignature to check the signature independently of the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { cosignatureSigner, cosignatureTimestamp, cosignatureVerifier } from '../../../src/core/tlog/cosignature.ts';
import { KEY_TYPE_COSIGNATURE, KEY_TYPE_ED25519, ed25519PublicKeyObject, formatVerifierKey, generateSignerKey, parseVerifierKey, signerKeyFromSeed, verifierKeyOf } from '../../../src/core/tlog/note-keys.ts';
import { ed25519Signer, ed25519Verifier, openNote, parseNote, signNote } from '../../../src/core/tlog/note.ts';
import { openCheckpoint } from '../../../src/core/tlog/checkpoint.ts';
import { noteSigner, noteVerifier } from '../../../src/core/tlog/key-ring.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;
const BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const T = 1679315147;
const log = generateSignerKey('example.com/behind-the-sofa');
const witness = generateSignerKey('witness.example.com/w1', KEY_TYPE_COSIGNATURE);
const logSigned = signNote(BODY, [ed25519Signer(log)]);
const cosigned = signNote(BODY, [cosignatureSigner(witness, () => T)], parseNote(logSigned).signatures);

test('published 0x04 verifier key parses with a matching key id', () => {
  const vkey = 'remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2';
  const key = parseVerifierKey(vkey);
  assert.equal(key.type, KEY_TYPE_COSIGNATURE);
  assert.equal(key.keyId, 0xda77ade7);
  assert.equal(formatVerifierKey(key), vkey);
});

test('published cosignature timestamp is read from the signature', () => {
  const raw = Buffer.from('ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==', 'base64');
  assert.equal(cosignatureTimestamp({ name: 'w', keyId: raw.readUInt32BE(0), signature: new Uint8Array(raw.subarray(4)) }), 1727964367);
  const plain = Buffer.from('eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=', 'base64');
  assert.throws(() => cosignatureTimestamp({ name: 'w', keyId: 0, signature: new Uint8Array(plain.subarray(4)) }), code('cosignature_invalid'));
});

test('the cosignature is timestamp ‖ Ed25519 over "cosignature/v1\\ntime <ts>\\n" + body', () => {
  const sig = parseNote(cosigned).signatures.find((s) => s.name === witness.name)!;
  assert.equal(sig.keyId, witness.keyId);
  assert.equal(sig.signature.length, 8 + 64);
  assert.equal(Buffer.from(sig.signature.subarray(0, 8)).readBigUInt64BE(0), BigInt(T));
  const message = Buffer.from(`cosignature/v1\ntime ${T}\n${BODY}`, 'utf8');
  assert.ok(verify(null, message, ed25519PublicKeyObject(witness.publicKey), sig.signature.subarray(8)));
});

test('round trip: the log key and the witness verify the same checkpoint in one pass', () => {
  const verifiers = [noteVerifier(formatVerifierKey(verifierKeyOf(log))), noteVerifier(formatVerifierKey(verifierKeyOf(witness)))];
  const { checkpoint, note } = openCheckpoint(cosigned, verifiers, 'example.com/behind-the-sofa');
  assert.equal(checkpoint.size, 20852163);
  assert.deepEqual(note.verified.map((s) => s.name), [log.name, witness.name]);
  assert.equal(cosignatureTimestamp(note.verified[1]), T);
});

test('tampering with the body, the timestamp or the key type fails', () => {
  const witnessOnly = [cosignatureVerifier(verifierKeyOf(witness))];
  assert.throws(() => openNote(cosigned.replace('20852163', '20852164'), witnessOnly), code('note_signature_invalid'));

  const sig = parseNote(cosigned).signatures.find((s) => s.name === witness.name)!;
  const later = new Uint8Array(sig.signature);
  later[7] ^= 1; // the timestamp is signed: moving it breaks the signature
  assert.throws(() => openNote(signNote(BODY, [], [{ ...sig, signature: later }]), witnessOnly), code('note_signature_invalid'));

  // The same seed as a plain 0x01 key has another key id, so it cannot vouch for the cosignature.
  const plain = signerKeyFromSeed(witness.name, KEY_TYPE_ED25519, witness.seed);
  assert.notEqual(plain.keyId, witness.keyId);
  assert.throws(() => openNote(signNote(BODY, [], [sig]), [ed25519Verifier(verifierKeyOf(plain))]), code('note_unverified'));
});

test('a witness key signs only checkpoints, and only with type 0x04 keys', () => {
  assert.throws(() => signNote('not a checkpoint\n', [cosignatureSigner(witness, () => T)]), code('checkpoint_malformed'));
  assert.throws(() => cosignatureSigner(log), code('note_key_invalid'));
  assert.throws(() => cosignatureVerifier(verifierKeyOf(log)), code('note_key_invalid'));
  // key-ring picks the signature kind from the key type.
  const viaRing = signNote(BODY, [noteSigner(witness, () => T + 1)]);
  assert.equal(cosignatureTimestamp(openNote(viaRing, [noteVerifier(verifierKeyOf(witness))]).verified[0]), T + 1);
});
