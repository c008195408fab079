/**
 * repodata.json as conda-index writes it (`ChannelIndex.index_subdir` + `json_dumps`):
 * `{"info": {"subdir"}, "packages", "packages.conda", "removed", "repodata_version": 1}`, keys
 * sorted at every level. With a CEP-15 `info.base_url` the document says `repodata_version: 2`.
 *
 * The document is written record by record (the top-level keys happen to be in sorted order
 * already), so neither writer holds it as one string: a 400k-record subdir is ~270 MB of JSON.
 * `serializeRepodata` returns one buffer; `repodataChunks` yields pieces from a (possibly async)
 * sorted record source. Their bytes are identical.
 */
import type { PackageRecord } from '../conda/types.ts';
import { invalid } from '../errors.ts';
import { pythonJson, pythonJsonString, type JsonStyle } from './python-json.ts';
import { sectionBody, type SegmentSource } from './segments.ts';
import { compareCodePoints, sortedRecordEntries, type RecordsByFilename } from './subdir-records.ts';

interface RepodataHeader {
  subdir: string;
  /** filenames taken out of the channel (yanked); listed so clients drop cached copies */
  removed?: Iterable<string>;
  /** CEP-15: where the package files are, written verbatim to `info.base_url` */
  baseUrl?: string;
  /** `compact` is conda-index's default; `indented` is its `--no-compact` layout */
  style?: JsonStyle;
}

export interface RepodataInput extends RepodataHeader {
  packages: RecordsByFilename;
  packagesConda: RecordsByFilename;
}

type RecordStream = Iterable<readonly [string, PackageRecord]> | AsyncIterable<readonly [string, PackageRecord]>;

export interface RepodataStreamInput extends RepodataHeader {
  /** `.tar.bz2` records, already sorted by filename (code point order) */
  packages: RecordStream;
  /** `.conda` records, already sorted by filename */
  packagesConda: RecordStream;
  /** flush threshold in UTF-16 units; chunks end up roughly this size */
  chunkSize?: number;
}

type Section = 'packages' | 'packages.conda';

/** The document's text in order: opening, each section's records, closing. */
class RepodataText {
  private readonly indented: boolean;
  private readonly level1: string;
  private readonly level2: string;
  private readonly keySep: string;
  private previous: string | undefined;

  constructor(
    private readonly header: RepodataHeader,
    private readonly style: JsonStyle = header.style ?? 'compact',
  ) {
    this.indented = style === 'indented';
    this.level1 = this.indented ? '\n  ' : '';
    this.level2 = this.indented ? '\n    ' : '';
    this.keySep = this.indented ? ': ' : ':';
  }

  opening(): string {
    const info = this.header.baseUrl === undefined
      ? { subdir: this.header.subdir }
      : { base_url: this.header.baseUrl, subdir: this.header.subdir };
    return `{${this.level1}"info"${this.keySep}${pythonJson(info, this.style, 1)},`;
  }

  sectionStart(section: Section): string {
    this.previous = undefined;
    return `${this.level1}${pythonJsonString(section)}${this.keySep}`;
  }

  /** Refuses out-of-order filenames: conda-index sorts, and another order would change the bytes. */
  record(section: Section, filename: string, record: PackageRecord): string {
    const previous = this.previous;
    if (previous !== undefined && compareCodePoints(previous, filename) >= 0) {
      throw invalid('unsorted_records', `"${filename}" follows "${previous}" in ${section}: records must be sorted by filename`);
    }
    this.previous = filename;
    const lead = previous === undefined ? '{' : ',';
    return `${lead}${this.level2}${pythonJsonString(filename)}${this.keySep}${pythonJson(record, this.style, 2)}`;
  }

  sectionEnd(): string {
    return this.previous === undefined ? '{},' : `${this.level1}},`;
  }

  closing(): string {
    const version = this.header.baseUrl === undefined ? 1 : 2;
    const removed = pythonJson([...(this.header.removed ?? [])], this.style, 1);
    const end = this.indented ? '\n}\n' : '}';
    return `${this.level1}"removed"${this.keySep}${removed},${this.level1}"repodata_version"${this.keySep}${version}${end}`;
  }
}

/** The whole document in one buffer; records may come in any order. */
export function serializeRepodata(input: RepodataInput): Buffer {
  const text = new RepodataText(input);
  const parts: Buffer[] = [Buffer.from(text.opening())];
  for (const [section, records] of [['packages', input.packages], ['packages.conda', input.packagesConda]] as const) {
    let pending = text.sectionStart(section);
    for (const [filename, record] of sortedRecordEntries(records)) {
      pending += text.record(section, filename, record);
      if (pending.length >= 1 << 20) {
        parts.push(Buffer.from(pending));
        pending = '';
      }
    }
    parts.push(Buffer.from(pending + text.sectionEnd()));
  }
  parts.push(Buffer.from(text.closing()));
  return Buffer.concat(parts);
}

/** The same bytes as `serializeRepodata`, as chunks; records must arrive sorted by filename. */
export async function* repodataChunks(input: RepodataStreamInput): AsyncGenerator<Buffer> {
  const limit = input.chunkSize ?? 64 * 1024;
  const text = new RepodataText(input);
  let pending = text.opening();
  for (const [section, records] of [['packages', input.packages], ['packages.conda', input.packagesConda]] as const) {
    pending += text.sectionStart(section);
    for await (const [filename, record] of records) {
      pending += text.record(section, filename, record);
      if (pending.length >= limit) {
        yield Buffer.from(pending);
        pending = '';
      }
    }
    pending += text.sectionEnd();
  }
  yield Buffer.from(pending + text.closing());
}

export interface RepodataSegmentInput extends Omit<RepodataHeader, 'style'> {
  /** each name's stored part of each section (segments.ts) */
  source: SegmentSource;
  /** pieces of about this many bytes */
  chunkSize?: number;
}

/**
 * The same bytes as `repodataChunks` in the compact style, from each name's stored segment of each
 * section (the records' stored text, record-fragment.ts): a
 * rebuild copies ~20k stored byte strings for a 400k-record subdir instead of reading 400k rows.
 */
export async function* repodataSegmentChunks(input: RepodataSegmentInput): AsyncGenerator<Buffer> {
  const limit = input.chunkSize ?? 64 * 1024;
  const text = new RepodataText({ ...input, style: 'compact' });
  let lead = text.opening();
  for (const [section, format] of [['packages', 'tar.bz2'], ['packages.conda', 'conda']] as const) {
    yield Buffer.from(lead + text.sectionStart(section));
    yield* sectionBody(input.source, format, limit);
    lead = ',';
  }
  yield Buffer.from(lead + text.closing());
}
