// Vectors: c2sp.org/signed-note "Example" (example.com/foo), and the PeterNeumann/EnochRoot keys and
// notes from golang.org/x/mod/sumdb/note (package doc and note_test.go). Ed25519 is deterministic,
// so signing Go's text with Go's signer key must give Go's published signature byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  KEY_TYPE_ED25519,
  formatSignerKey,
  formatVerifierKey,
  generateSignerKey,
  parseSignerKey,
  parseVerifierKey,
  signerKeyFromPrivateKey,
  verifierKeyOf,
} from '../../../src/core/tlog/note-keys.ts';
import { ed25519Signer, ed25519Verifier, openNote, parseNote, signNote } from '../../../src/core/tlog/note.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const C2SP_NOTE =
  'This is an example message.\n\n' +
  '\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG = '\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG = '\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';

const peter = ed25519Verifier(parseVerifierKey(PETER_VKEY));
const enoch = ed25519Verifier(parseVerifierKey(ENOCH_VKEY));
const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;

test('c2sp.org/signed-note example: key id, key text round trip, and the note verifies', () => {
  const key = parseVerifierKey(C2SP_VKEY);
  assert.equal(key.name, 'example.com/foo');
  assert.equal(key.keyId, 0x530d903a);
  assert.equal(key.type, KEY_TYPE_ED25519);
  assert.equal(formatVerifierKey(key), C2SP_VKEY);
  const opened = openNote(C2SP_NOTE, [ed25519Verifier(key)]);
  assert.equal(opened.text, 'This is an example message.\n');
  assert.deepEqual(opened.verified.map((s) => s.name), ['example.com/foo']);
  // Also as bytes, as read off the network.
  assert.equal(openNote(new TextEncoder().encode(C2SP_NOTE), [ed25519Verifier(key)]).text, 'This is an example message.\n');
});

test('Go signer key: parses, derives the published verifier key, reproduces the published note', () => {
  const skey = parseSignerKey(PETER_SKEY);
  assert.equal(skey.keyId, 0xc74f20a3);
  assert.equal(formatVerifierKey(verifierKeyOf(skey)), PETER_VKEY);
  assert.equal(formatSignerKey(skey), PETER_SKEY);
  assert.equal(signNote(GO_TEXT, [ed25519Signer(skey)]), `${GO_TEXT}\n${PETER_SIG}`);
});

test('unknown signatures are ignored when a known one verifies, and kept as unverified', () => {
  const opened = openNote(`${GO_TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter]);
  assert.equal(opened.text, GO_TEXT);
  assert.deepEqual(opened.verified.map((s) => s.name), ['PeterNeumann']);
  assert.deepEqual(opened.unverified.map((s) => [s.name, s.keyId]), [['EnochRoot', 0xaf0cfe78]]);
  const both = openNote(`${GO_TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter, enoch]);
  assert.deepEqual(both.verified.map((s) => s.name), ['PeterNeumann', 'EnochRoot']);
});

test('no known signature: rejected, even when every signature is well-formed', () => {
  assert.throws(() => openNote(`${GO_TEXT}\n${PETER_SIG}${ENOCH_SIG}`, []), code('note_unverified'));
  assert.throws(() => openNote(C2SP_NOTE, [peter]), code('note_unverified'));
});

test('wrong key id: a signature under the trusted name but another id is not trusted', () => {
  const otherId = PETER_SIG.replace('x08go/', 'x08go/'.replace('x', 'y'));
  assert.throws(() => openNote(`${GO_TEXT}\n${otherId}`, [peter]), (e) => code('note_unverified')(e) && /key id/.test((e as Error).message));
  // And a verifier key text whose id does not match its key is refused outright.
  assert.throws(() => parseVerifierKey(PETER_VKEY.replace('c74f20a3', 'c74f20a4')), code('note_key_invalid'));
  assert.throws(() => parseSignerKey(PETER_SKEY.replace('c74f20a3', 'c74f20a4')), code('note_key_invalid'));
});

test('bad signature by a known key rejects the whole note', () => {
  const tamperedText = GO_TEXT.replace('answer', 'Answer');
  assert.throws(() => openNote(`${tamperedText}\n${PETER_SIG}`, [peter]), code('note_signature_invalid'));
  const longer = PETER_SIG.slice(0, 60) + 'ABCD' + PETER_SIG.slice(60);
  assert.throws(() => openNote(`${GO_TEXT}\n${longer}`, [peter]), code('note_signature_invalid'));
  // A bad known signature is not excused by a good one next to it.
  assert.throws(() => openNote(`${GO_TEXT}\n${PETER_SIG}${longer}`, [peter]), code('note_signature_invalid'));
});

test('malformed notes are refused before any verification', () => {
  const bad = [
    GO_TEXT, // no signatures
    `${GO_TEXT}\n`, // blank line, nothing after
    `${GO_TEXT}${PETER_SIG}`, // missing blank line
    `${GO_TEXT}\n${PETER_SIG.slice(0, -1)}`, // no final newline
    `\u0001${GO_TEXT}\n${PETER_SIG}`, // control character
    `${GO_TEXT}\n${PETER_SIG.replace('PeterNeumann', 'Bad Name')}`, // space in name
    `${GO_TEXT}\n${PETER_SIG}Unexpected line.\n`, // not a signature line
    `${GO_TEXT}\n${PETER_SIG.replace('\u2014', '-')}`, // hyphen, not em dash
    `${GO_TEXT}\n${PETER_SIG.replace('=\n', '\n')}`, // padding removed: not canonical base64
    `${GO_TEXT}\n\u2014 PeterNeumann AAAA\n`, // too short to hold a key id and a signature
    `${GO_TEXT}\n${PETER_SIG.repeat(101)}`, // too many signatures
  ];
  for (const note of bad) assert.throws(() => openNote(note, [peter]), code('note_malformed'), JSON.stringify(note));
  assert.throws(() => openNote(Uint8Array.of(0xff, 0x0a, 0x0a), [peter]), code('note_malformed'));
});

test('two trusted keys with the same name and id are a configuration error', () => {
  assert.throws(() => openNote(`${GO_TEXT}\n${PETER_SIG}`, [peter, peter]), code('note_verifier_ambiguous'));
});

test('verifier key texts: bad forms are refused', () => {
  for (const text of [
    'PeterNeumann+c74f20a3', // two parts
    'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // uppercase id
    '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // empty name
    'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==', // wrong key length
    'rekor.sigstore.dev+12345678+AwEB', // unsupported type
    'rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!',
  ]) {
    assert.throws(() => parseVerifierKey(text), code('note_key_invalid'), text);
  }
});

test('generated keys and KeyObject keys sign notes their verifier keys open', () => {
  const generated = generateSignerKey('provena.example.com/log');
  const reparsed = parseSignerKey(formatSignerKey(generated));
  const vkey = parseVerifierKey(formatVerifierKey(verifierKeyOf(reparsed)));
  const note = signNote('hello\n', [ed25519Signer(reparsed)]);
  assert.equal(openNote(note, [ed25519Verifier(vkey)]).text, 'hello\n');

  const { privateKey } = generateKeyPairSync('ed25519');
  const fromObject = signerKeyFromPrivateKey('provena.example.com/log', KEY_TYPE_ED25519, privateKey);
  const cosigned = signNote('hello\n', [ed25519Signer(fromObject)], parseNote(note).signatures);
  const opened = openNote(cosigned, [ed25519Verifier(vkey)]);
  assert.equal(opened.unverified.length, 1);
  assert.equal(openNote(cosigned, [ed25519Verifier(verifierKeyOf(fromObject))]).verified.length, 1);
  assert.throws(() => signNote('no newline', [ed25519Signer(generated)]), code('note_malformed'));
});
