import { readFileSync } from 'node:fs';

/**
 * /work/shared/data/packages_stats.tsv: facts about the shared real packages, gathered with
 * Python. Columns: filename, size, sha256, the index.json facts as a Python dict literal, and a
 * note about the members. Parsed here independently of the code under test.
 */

export const PACKAGES_DIR = '/work/shared/data/packages';
const STATS_FILE = '/work/shared/data/packages_stats.tsv';

export interface PackageStats {
  filename: string;
  size: number;
  sha256: string;
  name: string;
  version: string;
  build: string;
  subdir: string | null;
  noarch: string | null;
  depends: string[] | null;
}

export function readPackageStats(): PackageStats[] {
  return readFileSync(STATS_FILE, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [filename, size, sha256, facts] = line.split('\t');
      const parsed = parsePythonLiteral(facts) as Record<string, unknown>;
      return { filename, size: Number(size), sha256, ...parsed } as PackageStats;
    });
}

/** Enough of Python's literal syntax for the TSV: dicts, lists, quoted strings, None/True/False, ints. */
export function parsePythonLiteral(text: string): unknown {
  let i = 0;
  const skip = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const value = (): unknown => {
    skip();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      const items: unknown[] = [];
      const entries: [string, unknown][] = [];
      for (skip(); text[i] !== close; skip()) {
        const item = value();
        skip();
        if (c === '{') {
          if (text[i++] !== ':') throw new Error(`expected ':' at ${i}`);
          entries.push([item as string, value()]);
        } else items.push(item);
        skip();
        if (text[i] === ',') i++;
      }
      i++;
      return c === '{' ? Object.fromEntries(entries) : items;
    }
    if (c === "'" || c === '"') {
      let out = '';
      for (i++; text[i] !== c; i++) {
        if (i >= text.length) throw new Error('unterminated string');
        out += text[i] === '\\' ? text[++i] : text[i];
      }
      i++;
      return out;
    }
    const word = /^(None|True|False|-?\d+)/.exec(text.slice(i));
    if (word === null) throw new Error(`unexpected ${JSON.stringify(text.slice(i, i + 10))}`);
    i += word[0].length;
    return word[0] === 'None' ? null : word[0] === 'True' ? true : word[0] === 'False' ? false : Number(word[0]);
  };
  return value();
}
