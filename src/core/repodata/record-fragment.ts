/**
 * A record's text in repodata.json as conda-index writes it (compact style): stored with each package
 * row when it is written (migration 0009_record_fragments), so that a full rebuild of a 400k-record
 * subdir streams stored text into the file and its compressor instead of parsing and re-serialising
 * every record each time. The bytes are those `repodataChunks` writes for the record, by construction.
 */
import type { PackageRecord } from '../conda/types.ts';
import { pythonJson } from './python-json.ts';

export function recordFragment(record: PackageRecord): string {
  return pythonJson(record, 'compact', 2);
}
