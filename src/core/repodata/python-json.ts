/**
 * JSON text exactly as Python's `json.dumps(value, sort_keys=True, ...)` writes it, which is how
 * conda-index writes repodata. Byte-identical output keeps ETags and `.zst` files stable across
 * indexers and lets a channel be checked against a conda-index run of the same packages.
 *
 * Differences from `JSON.stringify`: keys sorted by code point; every character outside
 * printable ASCII escaped as `\uXXXX` with lower-case hex (ensure_ascii); floats as Python's
 * `repr` (`1e-05`, `1e+16`); and two layouts:
 * - `compact`: separators `,` and `:` on one line, no trailing newline (conda-index's default);
 * - `indented`: indent 2, separators `,` and `: `, plus a trailing newline (`--no-compact`).
 */
import { invalid } from '../errors.ts';
import { compareCodePoints } from './subdir-records.ts';

export type JsonStyle = 'compact' | 'indented';

const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t',
};

export function pythonJsonString(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c) out += text[i];
    else out += SHORT_ESCAPES[code] ?? `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/**
 * Python's float repr uses fixed notation for 1e-4 <= |x| < 1e16 and exponent notation (at least
 * two exponent digits) elsewhere; the shortest round-trip digits are the same as JavaScript's.
 * Integral values are written as integers: after JSON.parse, `1.0` and `1` cannot be told apart,
 * and records carry integers (sizes, timestamps, build numbers).
 */
export function pythonJsonNumber(value: number): string {
  if (!Number.isFinite(value)) throw invalid('invalid_json_number', `${value} cannot be written as JSON`);
  if (Number.isInteger(value)) return Object.is(value, -0) ? '0' : String(value);
  const [mantissa, exponentText] = value.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) return String(value);
  const sign = exponent < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

function sortedKeys(obj: Record<string, unknown>): string[] {
  return Object.keys(obj)
    .filter((k) => obj[k] !== undefined) // JavaScript-only absences; Python has no undefined
    .sort(compareCodePoints);
}

/**
 * Encodes `value`; in the indented style `level` is the nesting depth it sits at, so a record can
 * be encoded on its own and spliced into a larger document (the streaming writer does this).
 */
export function pythonJson(value: unknown, style: JsonStyle, level = 0): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return pythonJsonString(value);
    case 'number':
      return pythonJsonNumber(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw invalid('invalid_json_value', `a ${typeof value} cannot be written as JSON`);
  }
  const inner = style === 'indented' ? `\n${'  '.repeat(level + 1)}` : '';
  const close = style === 'indented' ? `\n${'  '.repeat(level)}` : '';
  const keySep = style === 'indented' ? ': ' : ':';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((v) => inner + pythonJson(v, style, level + 1));
    return `[${items.join(',')}${close}]`;
  }
  if (value instanceof Uint8Array) throw invalid('invalid_json_value', 'bytes cannot be written as JSON');
  const obj = value as Record<string, unknown>;
  const keys = sortedKeys(obj);
  if (keys.length === 0) return '{}';
  const items = keys.map((k) => `${inner}${pythonJsonString(k)}${keySep}${pythonJson(obj[k], style, level + 1)}`);
  return `{${items.join(',')}${close}}`;
}
