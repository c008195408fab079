// The streaming repodata.json reader `provena import` uses: whatever the chunking, it reports exactly
// the records and fields JSON.parse sees, and it refuses broken documents instead of guessing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RepodataScanner, RepodataSyntaxError, type RepodataPart } from '../../../src/core/conda/repodata-scanner.ts';
import { SHARED } from '../../support/server.ts';

function scan(text: string, chunk: number): RepodataPart[] {
  const parts: RepodataPart[] = [];
  const scanner = new RepodataScanner((p) => parts.push(p));
  for (let at = 0; at < text.length; at += chunk) scanner.feed(text.slice(at, at + chunk));
  scanner.end();
  return parts;
}

/** What JSON.parse makes of the document, in the scanner's terms. */
function expected(text: string): { fields: Record<string, unknown>; records: [string, string, unknown][] } {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  const records: [string, string, unknown][] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'packages' || key === 'packages.conda') for (const [f, r] of Object.entries(value as object)) records.push([key, f, r]);
    else fields[key] = value;
  }
  return { fields, records };
}

function check(text: string, chunk: number): void {
  const parts = scan(text, chunk);
  const want = expected(text);
  const fields = Object.fromEntries(parts.filter((p) => p.kind === 'field').map((p) => [p.key, JSON.parse(p.raw)]));
  assert.deepEqual(fields, want.fields, `fields, chunks of ${chunk}`);
  const records = parts.filter((p) => p.kind === 'record').map((p) => [p.group, p.filename, JSON.parse(p.raw)]);
  assert.deepEqual(records, want.records, `records, chunks of ${chunk}`);
}

const tricky = JSON.stringify(
  {
    repodata_version: 2,
    info: { subdir: 'linux-64', base_url: null },
    packages: {
      'a-1-0.tar.bz2': { name: 'a', depends: ['b >=1,<2', 'c {x}'], note: 'braces } ] { [ and "quotes" \\ and \\"', n: -1.5e3, t: true, f: false, z: null },
      'b-1-0.tar.bz2': { name: 'b', nested: { deep: [[{}], []] } },
    },
    'packages.conda': {},
    removed: ['x-1-0.conda'],
    'kéy\u2603': 'snow \u2603 and \ud83d\ude00',
    num: 7,
  },
  null,
  1,
);

test('every chunk size gives the records and fields JSON.parse sees', () => {
  for (const chunk of [1, 2, 3, 7, 64, 1 << 20]) check(tricky, chunk);
  check('{}', 1);
  check(' {"packages":{} , "packages.conda" : {"c-1-0.conda":{"name":"c"}}}\n', 5);
});

test('a real repodata.json reads the same streamed as parsed whole', () => {
  const dir = path.join(SHARED, 'data/repodata');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
  if (files.length === 0) return;
  const text = fs.readFileSync(path.join(dir, files.sort()[0]!), 'utf8');
  check(text, 65_536);
  check(text, 4093);
});

test('broken documents are refused, each for its reason', () => {
  const cases: [string, RegExp][] = [
    ['[]', /a repodata.json is a JSON object/],
    ['{"packages": []}', /"packages" is not an object/],
    ['{"packages.conda": 5}', /"packages.conda" is not an object/],
    ['{"packages": {"a-1-0.conda": {"name": "a"}', /ends before its closing/],
    ['{"packages": {"a-1-0.conda": {"name": "a"', /ends inside a value/],
    ['{"info" {}}', /expected :/],
    ['{"info": {} "x": 1}', /expected , or }/],
    ['{info: {}}', /expected a string key/],
    ['{"info": {}} {}', /text follows the document/],
    ['{"pack', /ends inside a key/],
    ['{"a": ,}', /expected a value/],
  ];
  for (const [text, reason] of cases) {
    for (const chunk of [1, 1000]) {
      assert.throws(() => scan(text, chunk), (e: unknown) => e instanceof RepodataSyntaxError && reason.test(e.message), `${text} in chunks of ${chunk}`);
    }
  }
});
