import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PackageRecord } from '../../../src/core/conda/types.ts';
import { isProvenaError } from '../../../src/core/errors.ts';
import { pythonJson } from '../../../src/core/repodata/python-json.ts';
import { repodataChunks, serializeRepodata, type RepodataInput } from '../../../src/core/repodata/repodata-json.ts';
import { sortedRecordEntries } from '../../../src/core/repodata/subdir-records.ts';
import {
  hasPython,
  pythonDumps,
  readRepodata,
  readRepodataBytes,
  repodataFiles,
  subdirOfFile,
} from './shared-repodata.ts';

function inputOf(file: string, style: 'compact' | 'indented'): RepodataInput {
  const raw = readRepodata(file);
  return {
    subdir: raw.info?.subdir ?? subdirOfFile(file),
    packages: raw.packages ?? {},
    packagesConda: raw['packages.conda'] ?? {},
    removed: raw.removed ?? [],
    style,
  };
}

/** The document conda-index would dump for these inputs, built independently of the code under test. */
function documentOf(input: RepodataInput): unknown {
  return {
    info: input.baseUrl === undefined ? { subdir: input.subdir } : { subdir: input.subdir, base_url: input.baseUrl },
    packages: input.packages,
    'packages.conda': input.packagesConda,
    removed: input.removed ?? [],
    repodata_version: input.baseUrl === undefined ? 1 : 2,
  };
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

function streamOf(input: RepodataInput, chunkSize?: number) {
  return repodataChunks({
    ...input,
    packages: sortedRecordEntries(input.packages),
    packagesConda: sortedRecordEntries(input.packagesConda),
    ...(chunkSize === undefined ? {} : { chunkSize }),
  });
}

describe('serializeRepodata: golden files', () => {
  // Both were written by conda's indexer in its pretty-printed layout (indent 2, trailing newline).
  for (const file of ['conda_format_repo_linux-64_repodata.json', 'pytorch_linux-64_repodata.json']) {
    it(`rebuilds ${file} byte for byte from its own records`, async () => {
      const golden = readRepodataBytes(file);
      const input = inputOf(file, 'indented');
      assert.ok(serializeRepodata(input).equals(golden));
      assert.ok(Buffer.concat(await collect(streamOf(input))).equals(golden));
    });
  }
});

describe('serializeRepodata against Python json.dumps', { skip: !hasPython() && 'python3 not available' }, () => {
  for (const file of repodataFiles()) {
    for (const style of ['compact', 'indented'] as const) {
      it(`${file} (${style})`, () => {
        const input = inputOf(file, style);
        assert.ok(serializeRepodata(input).equals(pythonDumps(documentOf(input), style)));
      });
    }
  }

  it('escapes, orders keys and writes numbers as Python does', () => {
    const tricky = {
      'z-last': [1.5, 0.0001, 0.00001, 1e-7, 123456.789, 1e21, 2.5e-300, -0.1, 12345678901234567, -3],
      é: 'naïve — ünïcödé ✓ 😀 \u2028',
      control: '\u0000\u0001\b\f\n\r\t"\\/\u007f\u0080',
      '\u{1F600}': 'astral key sorts after BMP keys',
      '\uFFFD': 'BMP key near the top',
      nested: { b: [], a: {}, c: [{}, [[]]], d: [null, true, false] },
      empty: '',
    };
    for (const style of ['compact', 'indented'] as const) {
      const expected = pythonDumps(tricky, style).toString('utf8');
      assert.equal(pythonJson(tricky, style) + (style === 'indented' ? '\n' : ''), expected);
    }
  });
});

describe('serializeRepodata layout', () => {
  it('writes non-ASCII as \\u escapes with lower-case hex (ensure_ascii)', () => {
    assert.equal(pythonJson({ k: 'é😀' }, 'compact'), '{"k":"\\u00e9\\ud83d\\ude00"}');
  });

  it('marks CEP-15 base_url with repodata_version 2', () => {
    const bytes = serializeRepodata({
      subdir: 'noarch',
      packages: {},
      packagesConda: {},
      baseUrl: 'https://files.example.org/ch/noarch/',
    });
    assert.equal(
      bytes.toString(),
      '{"info":{"base_url":"https://files.example.org/ch/noarch/","subdir":"noarch"},"packages":{},"packages.conda":{},"removed":[],"repodata_version":2}',
    );
  });

  it('writes an empty subdir as valid, empty repodata in both layouts', () => {
    for (const style of ['compact', 'indented'] as const) {
      const parsed = JSON.parse(serializeRepodata({ subdir: 'linux-64', packages: {}, packagesConda: {}, style }).toString());
      assert.deepEqual(parsed, {
        info: { subdir: 'linux-64' },
        packages: {},
        'packages.conda': {},
        removed: [],
        repodata_version: 1,
      });
    }
  });

  it('accepts Maps as well as objects', () => {
    const raw = readRepodata('conda_format_repo_linux-64_repodata.json');
    const fromObjects = serializeRepodata({ subdir: 'linux-64', packages: raw.packages, packagesConda: raw['packages.conda']! });
    const fromMaps = serializeRepodata({
      subdir: 'linux-64',
      packages: new Map(Object.entries(raw.packages).reverse()),
      packagesConda: new Map(Object.entries(raw['packages.conda']!)),
    });
    assert.ok(fromMaps.equals(fromObjects));
  });
});

describe('repodataChunks', () => {
  for (const file of repodataFiles()) {
    it(`streams the same bytes as serializeRepodata for ${file}`, async () => {
      for (const style of ['compact', 'indented'] as const) {
        const input = inputOf(file, style);
        const chunks = await collect(streamOf(input, 4096));
        assert.ok(Buffer.concat(chunks).equals(serializeRepodata(input)), style);
        const recordCount = Object.keys(input.packages).length + Object.keys(input.packagesConda).length;
        if (recordCount > 100) assert.ok(chunks.length > 1, 'a large subdir comes in several chunks');
      }
    });
  }

  it('reads records from an async source', async () => {
    const raw = readRepodata('conda_format_repo_linux-64_repodata.json');
    async function* slowly(records: Record<string, PackageRecord>) {
      for (const entry of sortedRecordEntries(records)) yield await Promise.resolve(entry);
    }
    const input: RepodataInput = { subdir: 'linux-64', packages: raw.packages, packagesConda: raw['packages.conda']! };
    const streamed = await collect(
      repodataChunks({ subdir: 'linux-64', packages: slowly(raw.packages), packagesConda: slowly(raw['packages.conda']!) }),
    );
    assert.ok(Buffer.concat(streamed).equals(serializeRepodata(input)));
  });

  it('refuses records out of filename order instead of writing different bytes', async () => {
    const raw = readRepodata('conda_format_repo_linux-64_repodata.json');
    const reversed = sortedRecordEntries(raw.packages).reverse();
    await assert.rejects(
      collect(repodataChunks({ subdir: 'linux-64', packages: reversed, packagesConda: [] })),
      (e) => isProvenaError(e) && e.code === 'unsorted_records',
    );
  });
});
