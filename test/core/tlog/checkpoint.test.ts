import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Checkpoint, formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from '../../../src/core/tlog/checkpoint.ts';
import { generateSignerKey, verifierKeyOf } from '../../../src/core/tlog/note-keys.ts';
import { ed25519Signer, ed25519Verifier } from '../../../src/core/tlog/note.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;
// The body of the c2sp.org/tlog-checkpoint example.
const SPEC_BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const ROOT = new Uint8Array(Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64'));

test('the spec example parses, and formats back to the same text', () => {
  const c = parseCheckpoint(SPEC_BODY);
  assert.equal(c.origin, 'example.com/behind-the-sofa');
  assert.equal(c.size, 20852163);
  assert.deepEqual(c.root, ROOT);
  assert.deepEqual(c.extensions, []);
  assert.equal(formatCheckpoint(c), SPEC_BODY);
});

test('extension lines and the empty tree round-trip', () => {
  const c: Checkpoint = { origin: 'provena.example/log', size: 0, root: new Uint8Array(32), extensions: ['ext one', 'two'] };
  const text = formatCheckpoint(c);
  assert.equal(text, `provena.example/log\n0\n${'A'.repeat(43)}=\next one\ntwo\n`);
  assert.deepEqual(parseCheckpoint(text), c);
});

test('malformed checkpoint bodies are refused', () => {
  const root = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';
  for (const body of [
    SPEC_BODY.slice(0, -1), // no final newline
    `example.com/log\n5\n`, // two lines
    `\n5\n${root}\n`, // empty origin
    `o\n05\n${root}\n`, // leading zero
    `o\n-1\n${root}\n`,
    `o\n1e3\n${root}\n`,
    `o\n 5\n${root}\n`,
    `o\n+5\n${root}\n`,
    `o\n\n${root}\n`,
    `o\n99999999999999999999\n${root}\n`, // beyond exact integers
    `o\n5\n${root.slice(0, -1)}\n`, // padding missing
    `o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n`, // non-zero unused bits
    `o\n5\n${Buffer.alloc(31).toString('base64')}\n`, // 31 bytes
    `o\n5\n${Buffer.alloc(33).toString('base64')}\n`, // 33 bytes
    `o\n5\n${root}\n\n`, // empty extension line
  ]) {
    assert.throws(() => parseCheckpoint(body), code('checkpoint_malformed'), JSON.stringify(body));
  }
  assert.throws(() => formatCheckpoint({ origin: 'a\nb', size: 1, root: ROOT, extensions: [] }), code('checkpoint_malformed'));
  assert.throws(() => formatCheckpoint({ origin: 'a', size: 1.5, root: ROOT, extensions: [] }), code('checkpoint_malformed'));
  assert.throws(() => formatCheckpoint({ origin: 'a', size: 1, root: ROOT.subarray(1), extensions: [] }), code('checkpoint_malformed'));
});

test('signed checkpoints open with the log key and the expected origin only', () => {
  const key = generateSignerKey('provena.example/log');
  const c: Checkpoint = { origin: 'provena.example/log', size: 42, root: ROOT, extensions: [] };
  const note = signCheckpoint(c, [ed25519Signer(key)]);
  const opened = openCheckpoint(note, [ed25519Verifier(verifierKeyOf(key))], 'provena.example/log');
  assert.deepEqual(opened.checkpoint, c);
  assert.throws(() => openCheckpoint(note, [ed25519Verifier(verifierKeyOf(key))], 'other.example/log'), code('checkpoint_origin_mismatch'));
  const other = generateSignerKey('provena.example/log');
  assert.throws(() => openCheckpoint(note, [ed25519Verifier(verifierKeyOf(other))]), code('note_unverified'));
  const grown = note.replace('\n42\n', '\n43\n');
  assert.throws(() => openCheckpoint(grown, [ed25519Verifier(verifierKeyOf(key))]), code('note_signature_invalid'));
});
