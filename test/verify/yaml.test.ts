import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseYaml } from '../../src/core/lockfiles/yaml.ts';
import { isProvenaError } from '../../src/core/errors.ts';

function refused(text: string, pattern: RegExp) {
  let caught: unknown;
  try {
    parseYaml(text, { source: 'x.yml' });
  } catch (e) {
    caught = e;
  }
  assert.ok(isProvenaError(caught), `expected a refusal for ${JSON.stringify(text)}`);
  assert.equal(caught.code, 'yaml_invalid');
  assert.match(caught.detail, pattern);
}

describe('the strict YAML reader for lock and policy files', () => {
  it('reads block mappings and sequences, indented (serde_yaml) or not (PyYAML)', () => {
    const serde = 'version: 6\nenvironments:\n  default:\n    channels:\n      - url: https://prefix.dev/conda-forge/\n    packages:\n      linux-64:\n        - conda: https://x/linux-64/a-1-0.conda\n';
    const pyyaml = 'version: 1\npackage:\n- name: a\n  hash:\n    md5: abc\n  dependencies: {}\n- name: b\n  dependencies:\n    c: \'>=1.0\'\nmetadata:\n  platforms:\n  - linux-64\n';
    assert.deepEqual(parseYaml(serde), {
      version: 6,
      environments: { default: { channels: [{ url: 'https://prefix.dev/conda-forge/' }], packages: { 'linux-64': [{ conda: 'https://x/linux-64/a-1-0.conda' }] } } },
    });
    assert.deepEqual(parseYaml(pyyaml), {
      version: 1,
      package: [{ name: 'a', hash: { md5: 'abc' }, dependencies: {} }, { name: 'b', dependencies: { c: '>=1.0' } }],
      metadata: { platforms: ['linux-64'] },
    });
  });

  it('reads quoted, multi-line, flow and block scalars, and comments', () => {
    const text = [
      '# a comment',
      'a: "x: y # not a comment"   # a comment',
      "b: 'it''s'",
      'c: [1, "two", {d: e}]',
      'f: |',
      '  line 1',
      '    line 2',
      'g: >-',
      '  folded',
      '  text',
      'h: plain text',
      '  continued',
      'i: "\\u00e9\\t\\x41"',
      'j: ~',
      "k: '0.1'",
      '...',
    ].join('\n');
    assert.deepEqual(parseYaml(text), {
      a: 'x: y # not a comment',
      b: "it's",
      c: [1, 'two', { d: 'e' }],
      f: 'line 1\n  line 2\n',
      g: 'folded text',
      h: 'plain text continued',
      i: 'é\tA',
      j: null,
      k: '0.1',
    });
  });

  it('core schema resolves plain scalars; the strings schema keeps hashes and versions as written', () => {
    const text = 'a: 1\nb: 1.0\nc: true\nd: 0x1F\ne: 12345678901234567890\nf: null\ng: 2024b\n';
    assert.deepEqual(parseYaml(text), { a: 1, b: 1, c: true, d: 31, e: '12345678901234567890', f: null, g: '2024b' });
    assert.deepEqual(parseYaml(text, { schema: 'strings' }), { a: '1', b: '1.0', c: 'true', d: '0x1F', e: '12345678901234567890', f: null, g: '2024b' });
  });

  it('keeps a "__proto__" key as data', () => {
    const v = parseYaml('__proto__:\n  polluted: yes\n') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('refuses anchors, aliases and tags', () => {
    refused('a: &x 1\nb: *x\n', /anchors and aliases/);
    refused('a: !!str 1\n', /tags are not supported/);
  });

  it('refuses duplicate keys, in block and flow mappings', () => {
    refused('a: 1\na: 2\n', /duplicate key "a"/);
    refused('a: {b: 1, b: 2}\n', /duplicate key "b"/);
  });

  it('refuses tabs in indentation, several documents, complex keys and bad indentation, naming the line', () => {
    refused('a:\n\tb: 1\n', /line 2: tab characters/);
    refused('a: 1\n---\nb: 2\n', /more than one document/);
    refused('? a\n: b\n', /complex mapping keys/);
    refused('a:\n    b: 1\n  c: 2\n', /line 3: /);
    refused('a: "open\n', /unterminated quoted value/);
    refused('a: [1, 2\n', /unterminated flow collection/);
    refused('a: b: c\n', /cannot contain ": "/);
  });
});
