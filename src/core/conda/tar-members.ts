import tar, { type Extract } from 'tar-stream';
import { isProvenaError, unprocessable, type ProvenaError } from '../errors.ts';

/** One member as the extractor hands it out (tar-stream does not export the type). */
type Entry = Extract extends AsyncIterable<infer T> ? T : never;

/**
 * Picks a few small members (`info/index.json`, `info/about.json`) out of a decoded tar stream
 * without holding anything else: other members flow through and are dropped.
 */

export interface TarMemberQuery {
  /** member paths wanted, e.g. `info/index.json` */
  wanted: readonly string[];
  /** each wanted member may be at most this big (`index_json_too_large` otherwise) */
  maxMemberBytes: number;
  /** stop decoding once every wanted member is in hand (`.tar.bz2`), or read to the end (`.conda` info) */
  stopWhenComplete: boolean;
  /** what the tar is, for error details: "the info member", "the .tar.bz2 package" */
  what: string;
}

/**
 * Returns the wanted members found (absent ones are simply missing from the map). Every member
 * name seen is checked: absolute paths and `..` segments are refused (`unsafe_path`) because a
 * package that carries them is built to escape its install prefix.
 */
export async function readTarMembers(
  chunks: AsyncIterable<Buffer>,
  query: TarMemberQuery,
): Promise<Map<string, Buffer>> {
  const wanted = new Set(query.wanted);
  const found = new Map<string, Buffer>();
  const extract = tar.extract();
  const feeding = feed(chunks, extract);
  try {
    for await (const entry of extract) {
      const path = memberPath(entry.header.name, query.what);
      const isFile = entry.header.type === 'file' || entry.header.type === 'contiguous-file';
      if (!wanted.has(path) || !isFile) {
        entry.resume(); // drain: the extractor waits until each entry is consumed
        continue;
      }
      if (found.has(path)) {
        // tools disagree on which copy wins (conda-index: first, extraction: last): refuse both
        throw unprocessable('corrupt_package', `${query.what} holds ${path} twice`);
      }
      found.set(path, await readCapped(entry, path, query.maxMemberBytes));
      if (query.stopWhenComplete && found.size === wanted.size) break;
    }
  } catch (err) {
    throw asPackageError(err, query.what);
  } finally {
    extract.destroy();
    await feeding;
  }
  return found;
}

/** Writes decoded chunks into the extractor with back-pressure; stops when it is destroyed. */
async function feed(chunks: AsyncIterable<Buffer>, extract: Extract): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (extract.destroyed) return; // leaving the loop closes the decoder and the file
      if (!extract.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            extract.off('drain', done);
            extract.off('close', done);
            resolve();
          };
          extract.on('drain', done);
          extract.on('close', done);
        });
      }
    }
    if (!extract.destroyed) extract.end(undefined);
  } catch (err) {
    extract.destroy(err as Error);
  }
}

async function readCapped(entry: Entry, path: string, max: number): Promise<Buffer> {
  const tooLarge = () =>
    unprocessable(
      'index_json_too_large',
      `${path} is larger than ${max} bytes; real ones are a few KiB, so this package is refused`,
    );
  if (entry.header.size > max) throw tooLarge();
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    const part = chunk as Buffer; // the extractor emits Buffers; streamx types them as unknown
    size += part.length;
    if (size > max) throw tooLarge();
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** Normalises `./info/x` to `info/x` and refuses names that could leave the install prefix. */
export function memberPath(name: string, what: string): string {
  let path = name;
  while (path.startsWith('./')) path = path.slice(2);
  const segments = path.split(/[\\/]/);
  if (/^([\\/]|[A-Za-z]:)/.test(path) || segments.includes('..')) {
    throw unprocessable(
      'unsafe_path',
      `${what} has a member named ${JSON.stringify(name)}, an absolute path or one with '..'; packages may only hold relative paths inside their prefix`,
    );
  }
  return path;
}

function asPackageError(err: unknown, what: string): ProvenaError {
  if (isProvenaError(err)) return err;
  const why = err instanceof Error ? err.message : String(err);
  return unprocessable('corrupt_package', `${what} is not a readable tar archive: ${why}`);
}
