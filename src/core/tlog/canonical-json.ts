/**
 * Canonical JSON for log entries: keys sorted by UTF-16 code units (as RFC 8785 does), no whitespace,
 * integers only. A log entry is hashed as bytes, so the same facts must always give the same bytes,
 * whatever order a caller built the object in.
 */
import { invalid } from '../errors.ts';

export function canonicalJson(value: unknown, path = '$'): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // Fractions and exponents print differently across languages; logs only need integers.
      if (!Number.isSafeInteger(value)) throw invalid('entry_invalid', `${path} must be an integer, got ${value}`);
      return Object.is(value, -0) ? '0' : String(value);
    case 'string':
      if (/\p{Cs}/u.test(value)) throw invalid('entry_invalid', `${path} is not valid Unicode (lone surrogate)`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(',')}]`;
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw invalid('entry_invalid', `${path} must be a plain JSON object`);
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${canonicalJson(k, path)}:${canonicalJson(record[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw invalid('entry_invalid', `${path} has a ${typeof value}, which JSON cannot hold`);
  }
}
