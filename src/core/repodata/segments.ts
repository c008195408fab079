/**
 * Repodata segments: one package name's part of one repodata.json section, as the bytes the document
 * holds (`"FILENAME":RECORD,"FILENAME":RECORD`, filenames in code point order). Each is written when the
 * name's shard is (the upload's own index build, one name), so a full rebuild of a 400k-record subdir
 * reads ~20k stored segments in order and concatenates them, instead of 400k rows: reading rows one by
 * one was most of a rebuild's time (measured: ~0.5 s of SQLite alone for 400k records, where `zstd -3`
 * of the whole document takes ~0.3 s).
 *
 * Filename order is almost name order: a name's filenames are `NAME-VERSION-BUILD.EXT`, and two names'
 * ranges can only overlap when one name is the other plus `-...` (`foo` and `foo-bar`) and a version of
 * the shorter sorts after the rest of the longer one's name. Such overlapping runs of segments are
 * merged record by record from the names' stored record texts; everything else is copied as it is.
 */
import { invalid } from '../errors.ts';
import { pythonJsonString } from './python-json.ts';
import { compareCodePoints } from './subdir-records.ts';

export type SegmentFormat = 'conda' | 'tar.bz2';
export const SEGMENT_FORMATS: readonly SegmentFormat[] = ['tar.bz2', 'conda'];

export const formatOf = (filename: string): SegmentFormat => (filename.endsWith('.conda') ? 'conda' : 'tar.bz2');

export interface RepodataSegment {
  format: SegmentFormat;
  /** the segment's first and last filename: where it goes in the section */
  first: string;
  last: string;
  records: number;
  bytes: Buffer;
}

/** A record's compact text as repodata.json holds it (record-fragment.ts). */
export interface FragmentOf {
  filename: string;
  fragment: string;
}

/** A name's segments (one per section it has files in) from its records' stored texts. */
export function segmentsOf(records: readonly FragmentOf[]): RepodataSegment[] {
  const sorted = [...records].sort((a, b) => compareCodePoints(a.filename, b.filename));
  const segments: RepodataSegment[] = [];
  for (const format of SEGMENT_FORMATS) {
    const mine = sorted.filter((r) => formatOf(r.filename) === format);
    if (mine.length === 0) continue;
    const text = mine.map((r) => `${pythonJsonString(r.filename)}:${r.fragment}`).join(',');
    segments.push({ format, first: mine[0]!.filename, last: mine[mine.length - 1]!.filename, records: mine.length, bytes: Buffer.from(text) });
  }
  return segments;
}

/** A stored segment as a full rebuild reads it. */
export interface StoredSegment {
  name: string;
  first: string;
  last: string;
  bytes: Buffer;
}

export interface SegmentSource {
  /** the section's segments ordered by their first filename (code point order) */
  segments(format: SegmentFormat): AsyncIterable<StoredSegment>;
  /** the named names' records of the section, ordered by filename: for overlapping runs */
  fragments(format: SegmentFormat, names: readonly string[]): AsyncIterable<FragmentOf>;
}

/**
 * One section's body, `{...}` without the braces' surroundings, from its segments in order: bytes, in
 * pieces of about `chunkBytes`. Refuses a section whose filenames would come out of order.
 */
export async function* sectionBody(source: SegmentSource, format: SegmentFormat, chunkBytes: number): AsyncGenerator<Buffer> {
  let pieces: Buffer[] = [];
  let size = 0;
  let previous: string | undefined;
  const put = (bytes: Buffer) => {
    pieces.push(previous === undefined ? OPEN : COMMA, bytes);
    size += bytes.length + 1;
  };
  const flush = function* () {
    if (size >= chunkBytes) {
      yield Buffer.concat(pieces, size);
      pieces = [];
      size = 0;
    }
  };
  // a run of segments whose filename ranges overlap: merged record by record
  let run: StoredSegment[] = [];
  let runLast = '';
  const emitRun = async function* () {
    if (run.length === 1) {
      const only = run[0]!;
      checkOrder(previous, only.first, format);
      put(only.bytes);
      previous = only.last;
      yield* flush();
    } else if (run.length > 1) {
      for await (const r of source.fragments(format, run.map((s) => s.name))) {
        checkOrder(previous, r.filename, format);
        put(Buffer.from(`${pythonJsonString(r.filename)}:${r.fragment}`));
        previous = r.filename;
        yield* flush();
      }
    }
    run = [];
  };
  for await (const segment of source.segments(format)) {
    if (run.length > 0 && compareCodePoints(segment.first, runLast) > 0) yield* emitRun();
    if (run.length === 0 || compareCodePoints(segment.last, runLast) > 0) runLast = segment.last;
    run.push(segment);
  }
  yield* emitRun();
  pieces.push(previous === undefined ? EMPTY : CLOSE);
  yield Buffer.concat(pieces);
}

const OPEN = Buffer.from('{');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from('}');
const EMPTY = Buffer.from('{}');

function checkOrder(previous: string | undefined, next: string, format: SegmentFormat): void {
  if (previous !== undefined && compareCodePoints(previous, next) >= 0) {
    throw invalid('unsorted_records', `"${next}" follows "${previous}" in the ${format} section: repodata segments out of order`);
  }
}
