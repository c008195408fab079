// Receipts: a good one verifies with the log's key; each way of forging or damaging one is refused
// with its own code, and a receipt checked without a key says that its signature was not checked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type LogEntry, encodeEntry } from '../../../src/core/tlog/entry.ts';
import { encodeBase64 } from '../../../src/core/tlog/base64.ts';
import { signCheckpoint } from '../../../src/core/tlog/checkpoint.ts';
import { inclusionProof } from '../../../src/core/tlog/inclusion.ts';
import { MemoryHashStore } from '../../../src/core/tlog/memory-hash-store.ts';
import { generateSignerKey, verifierKeyOf } from '../../../src/core/tlog/note-keys.ts';
import { ed25519Signer, ed25519Verifier } from '../../../src/core/tlog/note.ts';
import { type Receipt, verifyReceipt } from '../../../src/core/tlog/receipt.ts';
import { TreeAppender } from '../../../src/core/tlog/tree-appender.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const ORIGIN = 'provena.example/log';
const key = generateSignerKey(ORIGIN);
const verifier = ed25519Verifier(verifierKeyOf(key));
const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;

function entry(i: number): LogEntry {
  return {
    channel: 'main',
    subdir: 'noarch',
    filename: `pkg${i}-1.0-0.conda`,
    sha256: i.toString(16).padStart(64, 'a'),
    size: 100 + i,
    action: 'publish',
    publisher: { kind: 'key', id: 'k1' },
    attestation_sha256: null,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  };
}

const entries = Array.from({ length: 13 }, (_, i) => encodeEntry(entry(i)));
const hashes = new MemoryHashStore();
const appender = TreeAppender.empty();
for (const e of entries) hashes.put(appender.appendEntry(e));
const note = signCheckpoint({ origin: ORIGIN, size: 13, root: appender.root(), extensions: [] }, [ed25519Signer(key)]);

async function receiptFor(index: number): Promise<Receipt> {
  return {
    log_index: index,
    entry: encodeBase64(entries[index]),
    checkpoint: note,
    inclusion_proof: (await inclusionProof(index, 13, hashes)).map(encodeBase64),
  };
}

test('a receipt verifies with the log key and names the entry it proves', async () => {
  for (const i of [0, 6, 12]) {
    const v = verifyReceipt(await receiptFor(i), [verifier], ORIGIN);
    assert.equal(v.index, i);
    assert.equal(v.entry.filename, `pkg${i}-1.0-0.conda`);
    assert.equal(v.checkpoint.size, 13);
    assert.equal(v.verifiedBy?.[0].name, ORIGIN);
  }
});

test('without a key the proof is checked and the signature is reported unchecked', async () => {
  const v = verifyReceipt(await receiptFor(4), null);
  assert.equal(v.verifiedBy, null);
  assert.equal(v.otherSignatures[0].keyId, key.keyId);
});

test('every forgery or damage is refused', async () => {
  const good = await receiptFor(5);
  const other = await receiptFor(6);
  const refuse = (r: unknown, c: string, verifiers = [verifier]) => assert.throws(() => verifyReceipt(r, verifiers, ORIGIN), code(c), c);

  refuse({ ...good, entry: other.entry }, 'inclusion_proof_invalid'); // another logged entry
  refuse({ ...good, log_index: 6 }, 'inclusion_proof_invalid'); // the right entry at the wrong index
  refuse({ ...good, inclusion_proof: other.inclusion_proof }, 'inclusion_proof_invalid');
  refuse({ ...good, inclusion_proof: good.inclusion_proof.slice(1) }, 'inclusion_proof_invalid'); // too short
  refuse({ ...good, inclusion_proof: [...good.inclusion_proof, good.inclusion_proof[0]] }, 'inclusion_proof_invalid'); // too long
  refuse({ ...good, inclusion_proof: [encodeBase64(new Uint8Array(31)), ...good.inclusion_proof.slice(1)] }, 'inclusion_proof_invalid');
  refuse({ ...good, log_index: 13 }, 'receipt_not_covered');
  refuse({ ...good, entry: encodeBase64(new TextEncoder().encode('{"not":"an entry"}')) }, 'inclusion_proof_invalid');

  // the checkpoint: altered text, another key, another log, no signature at all
  refuse({ ...good, checkpoint: good.checkpoint.replace('\n13\n', '\n14\n') }, 'note_signature_invalid');
  refuse(good, 'note_unverified', [ed25519Verifier(verifierKeyOf(generateSignerKey(ORIGIN)))]);
  const otherLog = signCheckpoint({ origin: 'other.example/log', size: 13, root: appender.root(), extensions: [] }, [ed25519Signer(key)]);
  refuse({ ...good, checkpoint: otherLog }, 'checkpoint_origin_mismatch');
  refuse({ ...good, checkpoint: good.checkpoint.slice(0, good.checkpoint.indexOf('\n\n') + 1) }, 'note_malformed');

  // shape
  for (const bad of [null, [], 'receipt', { ...good, log_index: -1 }, { ...good, log_index: 1.5 }, { ...good, entry: 7 }, { ...good, checkpoint: null }, { ...good, inclusion_proof: 'x' }, { ...good, inclusion_proof: [1] }]) {
    refuse(bad, 'receipt_malformed');
  }
  refuse({ ...good, entry: `${good.entry}!` }, 'receipt_malformed');
  refuse({ ...good, inclusion_proof: ['not base64'] }, 'receipt_malformed');
});

test('a logged entry that is not a Provena entry is refused after the proof verifies', async () => {
  const odd = new TextEncoder().encode('{"not":"an entry"}');
  const store = new MemoryHashStore();
  const tree = TreeAppender.empty();
  store.put(tree.appendEntry(odd));
  const cp = signCheckpoint({ origin: ORIGIN, size: 1, root: tree.root(), extensions: [] }, [ed25519Signer(key)]);
  const r: Receipt = { log_index: 0, entry: encodeBase64(odd), checkpoint: cp, inclusion_proof: [] };
  assert.throws(() => verifyReceipt(r, [verifier], ORIGIN), code('entry_invalid'));
});
