// Blinded entries (private channels): the logged bytes hold only action, time and a commitment; the
// opening verifies against the commitment in a receipt, and each way of forging one is refused with
// its own code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { type LogEntry, encodeEntry, isBlinded, parseEntry } from '../../../src/core/tlog/entry.ts';
import { type Opening, blindEntry, commitmentOf, verifyOpening } from '../../../src/core/tlog/blinding.ts';
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
const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function secret(i: number): LogEntry {
  return {
    channel: 'secret-team',
    subdir: 'linux-64',
    filename: `hidden${i}-1.0-0.conda`,
    sha256: i.toString(16).padStart(64, 'c'),
    size: 1000 + i,
    action: 'publish',
    publisher: { kind: 'key', id: 'k-secret' },
    attestation_sha256: null,
    time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  };
}

// a log of 5 blinded entries with their salts
const salts = Array.from({ length: 5 }, (_, i) => new Uint8Array(32).fill(i + 1));
const blinded = salts.map((salt, i) => blindEntry(secret(i), salt).blinded);
const bytes = blinded.map((b) => encodeEntry(b));
const hashes = new MemoryHashStore();
const appender = TreeAppender.empty();
for (const b of bytes) hashes.put(appender.appendEntry(b));
const note = signCheckpoint({ origin: ORIGIN, size: 5, root: appender.root(), extensions: [] }, [ed25519Signer(key)]);

const openingOf = (i: number): Opening => ({ log_index: i, salt: hex(salts[i]!), entry: secret(i) });
async function receiptFor(i: number, opening?: Opening): Promise<Receipt> {
  const r: Receipt = { log_index: i, entry: encodeBase64(bytes[i]!), checkpoint: note, inclusion_proof: (await inclusionProof(i, 5, hashes)).map(encodeBase64) };
  if (opening) r.opening = opening;
  return r;
}

test('the commitment is SHA-256 over the domain prefix, the salt and the canonical full entry', () => {
  // recomputed here from the written rule, not taken from the code under test
  const salt = salts[2]!;
  const e = secret(2);
  const canonical = `{"action":"publish","attestation_sha256":null,"channel":"secret-team","filename":"hidden2-1.0-0.conda","publisher":{"id":"k-secret","kind":"key"},"sha256":"${e.sha256}","size":1002,"subdir":"linux-64","time":"${e.time}"}`;
  const want = createHash('sha256').update('provena-log-opening-v1\0').update(salt).update(canonical).digest('hex');
  assert.equal(commitmentOf(e, salt), want);
  assert.equal(blinded[2]!.commitment, want);
});

test('the blinded bytes carry action, time and commitment only: no channel, file, digest or publisher', () => {
  const text = new TextDecoder().decode(bytes[3]!);
  assert.equal(text, `{"action":"publish","commitment":"${blinded[3]!.commitment}","time":"${secret(3).time}"}`);
  for (const leak of ['secret-team', 'hidden3', secret(3).sha256!, 'k-secret', 'linux-64']) assert.ok(!text.includes(leak), leak);
  const parsed = parseEntry(bytes[3]!);
  assert.ok(isBlinded(parsed));
});

test('fresh salts: the same entry blinds to unrelated commitments', () => {
  const a = blindEntry(secret(1)).blinded.commitment;
  const b = blindEntry(secret(1)).blinded.commitment;
  assert.notEqual(a, b);
});

test('blinded entries are strict and canonical', () => {
  const c = blinded[0]!.commitment;
  const t = secret(0).time;
  const refuse = (s: string, want: string) => assert.throws(() => parseEntry(utf8(s)), code(want), s);
  refuse(`{"commitment":"${c}","action":"publish","time":"${t}"}`, 'entry_not_canonical');
  refuse(`{"action":"publish","commitment":"${c}", "time":"${t}"}`, 'entry_not_canonical');
  refuse(`{"action":"publish","commitment":"${c.toUpperCase()}","time":"${t}"}`, 'entry_invalid');
  refuse(`{"action":"publish","commitment":"${c.slice(2)}","time":"${t}"}`, 'entry_invalid');
  refuse(`{"action":"key_rotation","commitment":"${c}","time":"${t}"}`, 'entry_invalid');
  refuse(`{"action":"publish","commitment":"${c}","time":"2026-01-01T00:00:00Z"}`, 'entry_invalid');
  // a blinded entry with a field of the full shape is neither shape
  refuse(`{"action":"publish","channel":"x","commitment":"${c}","time":"${t}"}`, 'entry_invalid');
  assert.throws(() => blindEntry({ ...secret(0), action: 'key_rotation' }), code('entry_invalid'));
});

test('a receipt with the opening verifies and reveals the full entry', async () => {
  const v = verifyReceipt(await receiptFor(4, openingOf(4)), [verifier], ORIGIN);
  assert.equal(v.opened, true);
  assert.deepEqual(v.entry, secret(4));
  assert.ok(isBlinded(v.logged));
});

test('a receipt without the opening still proves inclusion of the blinded entry', async () => {
  const v = verifyReceipt(await receiptFor(1), [verifier], ORIGIN);
  assert.equal(v.opened, false);
  assert.ok(isBlinded(v.entry));
});

test('negative matrix: each forged opening is refused for its own reason', async () => {
  const refuse = async (opening: unknown, want: string, index = 2) => {
    const r = { ...(await receiptFor(index)), opening } as Receipt;
    assert.throws(() => verifyReceipt(r, [verifier], ORIGIN), code(want), want);
  };
  const good = openingOf(2);
  // wrong salt
  await refuse({ ...good, salt: hex(new Uint8Array(32).fill(9)) }, 'opening_mismatch');
  // each field of the full entry altered
  await refuse({ ...good, entry: { ...good.entry, filename: 'other-1.0-0.conda' } }, 'opening_mismatch');
  await refuse({ ...good, entry: { ...good.entry, sha256: 'd'.repeat(64) } }, 'opening_mismatch');
  await refuse({ ...good, entry: { ...good.entry, channel: 'public-one' } }, 'opening_mismatch');
  await refuse({ ...good, entry: { ...good.entry, publisher: { kind: 'admin' } } }, 'opening_mismatch');
  // another entry's opening, as it was given for that entry
  await refuse(openingOf(3), 'opening_wrong_entry');
  // another entry's contents relabelled with this index
  await refuse({ ...openingOf(3), log_index: 2 }, 'opening_mismatch');
  // not an opening at all
  await refuse({ ...good, salt: 'zz' }, 'opening_malformed');
  await refuse({ ...good, extra: 1 }, 'opening_malformed');
  await refuse({ ...good, entry: { ...good.entry, size: -1 } }, 'opening_malformed');
  await refuse({ ...good, entry: blinded[2] }, 'opening_malformed');
  await refuse(null, 'opening_malformed');
});

test('an opening for an entry that is not blinded is refused', () => {
  const clear = parseEntry(encodeEntry(secret(0)));
  assert.throws(() => verifyOpening(clear, 0, openingOf(0)), code('opening_unexpected'));
});
