import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type LogEntry, encodeEntry, parseEntry } from '../../../src/core/tlog/entry.ts';
import { isProvenaError } from '../../../src/core/errors.ts';

const SHA = 'a'.repeat(64);
const ATT = '0123456789abcdef'.repeat(4);
const code = (c: string) => (e: unknown) => isProvenaError(e) && e.code === c;
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function publishEntry(): LogEntry {
  return {
    channel: 'conda-forge',
    subdir: 'linux-64',
    filename: 'numpy-2.0.0-py312h1_0.conda',
    sha256: SHA,
    size: 8123456,
    action: 'publish',
    publisher: { kind: 'github', repository: 'numpy/numpy', workflow: 'release.yml', environment: null },
    attestation_sha256: ATT,
    time: '2026-07-22T16:23:02.123Z',
  };
}

test('key order of the input does not change the bytes', () => {
  const a = publishEntry();
  const reversedKeys = Object.fromEntries(Object.entries(a).reverse()) as unknown as LogEntry;
  reversedKeys.publisher = { environment: null, workflow: 'release.yml', repository: 'numpy/numpy', kind: 'github' };
  assert.deepEqual(encodeEntry(reversedKeys), encodeEntry(a));
});

test('canonical form: sorted keys at every depth, no whitespace, one line', () => {
  // Written out by hand from the rules, not captured from the encoder.
  const want =
    `{"action":"publish","attestation_sha256":"${ATT}","channel":"conda-forge","filename":"numpy-2.0.0-py312h1_0.conda",` +
    `"publisher":{"environment":null,"kind":"github","repository":"numpy/numpy","workflow":"release.yml"},` +
    `"sha256":"${SHA}","size":8123456,"subdir":"linux-64","time":"2026-07-22T16:23:02.123Z"}`;
  assert.equal(text(encodeEntry(publishEntry())), want);
});

test('parse accepts exactly what encode writes, and gives the same entry back', () => {
  for (const e of [
    publishEntry(),
    { ...publishEntry(), action: 'yank' as const, attestation_sha256: null, publisher: { kind: 'key', id: 'k_123' } },
    { ...publishEntry(), action: 'publisher_add' as const, subdir: null, filename: null, sha256: null, size: null, attestation_sha256: null },
    { ...publishEntry(), action: 'channel_update' as const, subdir: null, filename: null, sha256: null, size: null, publisher: null, attestation_sha256: null },
  ]) {
    assert.deepEqual(parseEntry(encodeEntry(e)), e);
  }
  // Non-ASCII text survives as UTF-8.
  const uni = { ...publishEntry(), publisher: { kind: 'key', id: 'clé-ü' } };
  assert.deepEqual(parseEntry(encodeEntry(uni)), uni);
});

test('other spellings of the same entry are refused as not canonical', () => {
  const canonical = text(encodeEntry(publishEntry()));
  const pretty = JSON.stringify(JSON.parse(canonical), null, 1);
  const reordered = JSON.stringify({ time: publishEntry().time, ...JSON.parse(canonical) });
  const escaped = canonical.replace('conda-forge', 'conda\\u002dforge');
  const duplicate = canonical.replace('{"action":"publish",', '{"action":"remove","action":"publish",');
  for (const s of [pretty, reordered, escaped, duplicate, `${canonical}\n`]) {
    assert.throws(() => parseEntry(utf8(s)), code('entry_not_canonical'), s);
  }
});

test('invalid entries are refused with the field named', () => {
  const cases: [Partial<Record<keyof LogEntry, unknown>> & Record<string, unknown>, RegExp][] = [
    [{ sha256: SHA.toUpperCase() }, /sha256/],
    [{ sha256: 'abc' }, /sha256/],
    [{ size: -1 }, /size/],
    [{ size: 1.5 }, /size/],
    [{ time: '2026-07-22T16:23:02Z' }, /time/],
    [{ time: '2026-02-30T00:00:00.000Z' }, /time/],
    [{ action: 'delete' }, /action/],
    [{ channel: 'Conda Forge' }, /channel/],
    [{ filename: 'numpy.zip' }, /filename/],
    [{ filename: '../x.conda' }, /filename/],
    [{ subdir: 'Linux 64' }, /subdir/],
    [{ publisher: { id: 'no-kind' } }, /publisher/],
    [{ publisher: { kind: 'key', weight: 0.5 } }, /publisher/],
    [{ filename: null }, /filename: is required for publish/],
    [{ action: 'publisher_remove', publisher: null }, /publisher: is required/],
    [{ extra: 1 }, /fields/],
  ];
  for (const [change, field] of cases) {
    const e = { ...publishEntry(), ...change } as LogEntry;
    assert.throws(() => encodeEntry(e), (err) => code('entry_invalid')(err) && field.test((err as Error).message), JSON.stringify(change));
  }
  const { time: _omitted, ...missing } = publishEntry();
  assert.throws(() => encodeEntry(missing as LogEntry), code('entry_invalid'));
  assert.throws(() => parseEntry(utf8('not json')), code('entry_invalid'));
  assert.throws(() => parseEntry(Uint8Array.of(0xc3, 0x28)), code('entry_invalid'));
  assert.throws(() => parseEntry(utf8('[]')), code('entry_invalid'));
});

test('entries over 65,535 bytes are refused (tile bundles prefix lengths with a uint16)', () => {
  const base = encodeEntry({ ...publishEntry(), publisher: { kind: 'key', id: '' } }).length;
  const fits = { ...publishEntry(), publisher: { kind: 'key', id: 'x'.repeat(65535 - base) } };
  assert.equal(encodeEntry(fits).length, 65535);
  const over = { ...publishEntry(), publisher: { kind: 'key', id: 'x'.repeat(65536 - base) } };
  assert.throws(() => encodeEntry(over), code('entry_too_large'));
  assert.throws(() => parseEntry(new Uint8Array(65536)), code('entry_too_large'));
});
