import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SETTING_KEYS, SETTING_NAMES } from '../../src/adapters/config/settings.ts';
import { SERVE_OPTIONS } from '../../src/adapters/cli/run-cli.ts';
import { ROOT } from '../support/server.ts';

/** Settings read from the environment by loadSettings besides SETTING_NAMES (lists). */
const LIST_SETTINGS_FROM_ENV = new Set(['trusted_root', 'issuers']);

interface Row {
  setting: string;
  flag: string;
  env: string;
  defaultValue: string;
}

/** The rows of docs/configuration.md's setting tables: `| \`name\` ... | flag | env | default | meaning |`. */
function documentedSettings(): { rows: Map<string, Row>; duplicates: string[] } {
  const text = fs.readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
  const rows = new Map<string, Row>();
  const duplicates: string[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    if (cells.length < 5) continue;
    // the first cell names the setting, or several that share a row: `a`, `b`
    if (!/^`[a-z0-9_]+`/.test(cells[0]!)) continue;
    for (const m of cells[0]!.matchAll(/`([a-z0-9_]+)`/g)) {
      if (rows.has(m[1]!)) duplicates.push(`${m[1]}: documented twice`);
      rows.set(m[1]!, { setting: m[1]!, flag: cells[1]!, env: cells[2]!, defaultValue: cells[3]! });
    }
  }
  return { rows, duplicates };
}

test('docs/configuration.md lists every setting of the schema with its flag, variable and default', () => {
  const { rows, duplicates } = documentedSettings();
  assert.ok(SETTING_KEYS.length >= 15, `the schema has ${SETTING_KEYS.length} settings`);
  const problems: string[] = [...duplicates];
  for (const key of SETTING_KEYS) {
    const row = rows.get(key);
    if (!row) {
      problems.push(`${key}: no row in docs/configuration.md`);
      continue;
    }
    const flag = `--${key.replace(/_/g, '-')}`;
    if (flag.slice(2) in SERVE_OPTIONS) {
      if (!row.flag.includes(flag)) problems.push(`${key}: the flag column should name ${flag}`);
    } else if (row.flag !== '—') {
      problems.push(`${key}: serve has no flag ${flag}, but the doc says "${row.flag}" (write —)`);
    }
    const env = `PROVENA_${key.toUpperCase()}`;
    if ((SETTING_NAMES as readonly string[]).includes(key) || LIST_SETTINGS_FROM_ENV.has(key)) {
      if (!row.env.includes(env)) problems.push(`${key}: the environment column should name ${env}`);
    } else if (row.env !== '—') {
      problems.push(`${key}: no environment variable is read for it, but the doc says "${row.env}" (write —)`);
    }
    if (row.defaultValue === '') problems.push(`${key}: no default (write "none" or what happens when unset)`);
  }
  for (const documented of rows.keys()) {
    if (!SETTING_KEYS.includes(documented)) problems.push(`${documented}: documented, but the schema has no such setting`);
  }
  assert.deepEqual(problems, []);
});

test('the example config file in docs/configuration.md uses settings that exist', () => {
  const text = fs.readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
  const blocks = [...text.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length > 0, 'an example provena.toml');
  for (const block of blocks) {
    let table = '';
    for (const line of block.split('\n')) {
      const header = /^\[\[?([a-z_]+)\]\]?/.exec(line);
      if (header) table = header[1]!;
      const m = /^([a-z0-9_]+)\s*=/.exec(line);
      if (m && table === '') assert.ok(SETTING_KEYS.includes(m[1]!), `example key ${m[1]} is a setting`);
      if (header) assert.ok(SETTING_KEYS.includes(header[1]!), `example table ${header[1]} is a setting`);
    }
  }
});
