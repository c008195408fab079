/**
 * Test access to the real repodata in ../shared/data/repodata, and to Python's own `json` module
 * as an independent oracle for conda-index's JSON layout (conda-index is Python and writes with
 * `json.dumps(..., sort_keys=True)`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PackageRecord } from '../../../src/core/conda/types.ts';

export const REPODATA_DIR = fileURLToPath(new URL('../../../../shared/data/repodata/', import.meta.url));

export interface RawRepodata {
  info?: { subdir?: string; base_url?: string };
  packages: Record<string, PackageRecord>;
  'packages.conda'?: Record<string, PackageRecord>;
  removed?: string[];
  repodata_version?: number;
  [key: string]: unknown;
}

export function repodataFiles(): string[] {
  return readdirSync(REPODATA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function readRepodataBytes(file: string): Buffer {
  return readFileSync(`${REPODATA_DIR}${file}`);
}

export function readRepodata(file: string): RawRepodata {
  return JSON.parse(readRepodataBytes(file).toString('utf8')) as RawRepodata;
}

/** The subdir a shared file describes (several files lack `info`): `<source>_<subdir>_repodata.json`. */
export function subdirOfFile(file: string): string {
  const parts = file.replace(/_repodata\.json$/, '').split('_');
  return parts[parts.length - 1]!;
}

/**
 * conda-subchannel added `fn`, `url` and `channel` to each record (pointing at anaconda.org);
 * records Provena stores do not carry them.
 */
export function withoutLocationFields(records: Record<string, PackageRecord>): Record<string, PackageRecord> {
  const out: Record<string, PackageRecord> = {};
  for (const [filename, record] of Object.entries(records)) {
    const { fn: _fn, url: _url, channel: _channel, ...rest } = record;
    out[filename] = rest as PackageRecord;
  }
  return out;
}

// Debian's interpreter first: only the standard library is needed, and it is always there on Debian.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let pythonChecked: boolean | undefined;
export function hasPython(): boolean {
  if (pythonChecked === undefined) {
    try {
      execFileSync(PYTHON, ['-c', 'import json'], { stdio: 'ignore' });
      pythonChecked = true;
    } catch {
      pythonChecked = false;
    }
  }
  return pythonChecked;
}

/** `json.dumps(value, sort_keys=True, ...)` exactly as conda-index's `ChannelIndex.json_dumps` calls it. */
export function pythonDumps(value: unknown, style: 'compact' | 'indented'): Buffer {
  const script =
    style === 'compact'
      ? 'import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin), sort_keys=True, separators=(",", ":")))'
      : 'import json,sys; sys.stdout.write(json.dumps(json.load(sys.stdin), sort_keys=True, indent=2) + "\\n")';
  return execFileSync(PYTHON, ['-c', script], {
    input: JSON.stringify(value),
    maxBuffer: 1 << 30,
    env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
  });
}
