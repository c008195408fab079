import { invalid, type ProvenaError } from '../errors.ts';

/**
 * A strict reader for the YAML that lock files and policy files are written in: what serde_yaml
 * (pixi.lock), PyYAML (conda-lock.yml) and people writing a policy produce. One document of block
 * mappings and sequences (indented or not under their key), plain, single- and double-quoted
 * scalars (also spanning lines), flow collections (`[]`, `{a: b}`), block scalars (`|`, `>`) and
 * comments. Everything else is refused with the line number rather than guessed: anchors, aliases,
 * tags, complex keys, several documents, tabs in indentation, duplicate keys.
 *
 * Schemas: `core` resolves plain scalars as YAML 1.2's core schema (null, booleans, integers,
 * floats); `strings` keeps every plain scalar a string except the null words, so a lock file's hash
 * or version is never turned into a number.
 */
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export interface YamlOptions {
  schema?: 'core' | 'strings';
  /** for messages: the file name */
  source?: string;
  maxDepth?: number;
}

interface Line {
  /** 1-based, for messages */
  no: number;
  indent: number;
  /** the line after its indentation (comments not yet removed) */
  text: string;
}

const MAX_DEPTH = 64;

export function parseYaml(input: string, opts: YamlOptions = {}): YamlValue {
  return new Reader(input, opts).document();
}

class Reader {
  private readonly lines: Line[];
  private pos = 0;
  private readonly schema: 'core' | 'strings';
  private readonly source: string;
  private readonly maxDepth: number;

  constructor(input: string, opts: YamlOptions) {
    this.schema = opts.schema ?? 'core';
    this.source = opts.source ?? 'YAML';
    this.maxDepth = opts.maxDepth ?? MAX_DEPTH;
    const text = input.startsWith('\uFEFF') ? input.slice(1) : input;
    this.lines = text.split(/\r?\n/).map((raw, i) => {
      const indent = /^ */.exec(raw)![0].length;
      return { no: i + 1, indent, text: raw.slice(indent) };
    });
  }

  document(): YamlValue {
    let started = false;
    // directives and the document start
    for (;;) {
      const line = this.peekContent();
      if (line === null) return null;
      if (line.indent === 0 && line.text.startsWith('%')) throw this.error(line, 'YAML directives are not supported');
      if (line.indent === 0 && /^---(\s|$)/.test(line.text)) {
        if (started) throw this.error(line, 'more than one document');
        started = true;
        const rest = stripComment(line.text.slice(3)).trim();
        if (rest !== '') throw this.error(line, 'content on the "---" line is not supported');
        this.pos++;
        continue;
      }
      break;
    }
    const value = this.blockNode(-1, 0);
    const after = this.peekContent();
    if (after !== null) {
      if (after.indent === 0 && /^(---|\.\.\.)(\s|$)/.test(after.text)) {
        if (after.text.startsWith('---')) throw this.error(after, 'more than one document');
        this.pos++;
        const more = this.peekContent();
        if (more !== null) throw this.error(more, 'content after the end of the document');
      } else {
        throw this.error(after, `unexpected content (indentation ${after.indent}); check the indentation`);
      }
    }
    return value;
  }

  /** The next line that is neither blank nor a comment, without consuming it. */
  private peekContent(): Line | null {
    while (this.pos < this.lines.length) {
      const line = this.lines[this.pos]!;
      const t = line.text.trim();
      if (line.text.startsWith('\t') && t !== '') throw this.error(line, 'tab characters are not allowed in indentation');
      if (t === '' || t.startsWith('#')) {
        this.pos++;
        continue;
      }
      return line;
    }
    return null;
  }

  /** A node more indented than `parent`: a mapping, a sequence, or a scalar. */
  private blockNode(parent: number, depth: number): YamlValue {
    if (depth > this.maxDepth) throw this.error(this.lines[this.pos] ?? null, `nesting deeper than ${this.maxDepth}`);
    const line = this.peekContent();
    if (line === null || line.indent <= parent) return null;
    if (isSequenceItem(line.text)) return this.sequence(line.indent, depth);
    if (this.keyOf(line) !== null) return this.mapping(line.indent, depth);
    // a scalar or flow collection on its own line(s)
    this.pos++;
    return this.inlineValue(line, line.text, parent, depth);
  }

  private sequence(indent: number, depth: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (;;) {
      const line = this.peekContent();
      if (line === null || line.indent < indent || isDocumentMarker(line)) return out;
      if (line.indent > indent) throw this.error(line, 'unexpected indentation inside a sequence');
      if (!isSequenceItem(line.text)) {
        // a mapping key at the sequence's own indentation ends a compact sequence under that mapping
        if (this.keyOf(line) !== null) return out;
        throw this.error(line, 'expected "- " (a sequence item)');
      }
      const rest = line.text.slice(1);
      const spaces = /^ */.exec(rest)![0].length;
      const content = rest.slice(spaces);
      if (stripComment(content).trim() === '') {
        this.pos++;
        out.push(this.blockNode(indent, depth + 1));
        continue;
      }
      // the item's content starts on the dash line: read it as a line of its own, further indented
      const column = indent + 1 + spaces;
      this.lines[this.pos] = { no: line.no, indent: column, text: content };
      if (isSequenceItem(content)) out.push(this.sequence(column, depth + 1));
      else if (this.keyOf(this.lines[this.pos]!) !== null) out.push(this.mapping(column, depth + 1));
      else {
        this.pos++;
        out.push(this.inlineValue(this.lines[this.pos - 1]!, content, indent, depth + 1));
      }
    }
  }

  private mapping(indent: number, depth: number): { [key: string]: YamlValue } {
    const out: { [key: string]: YamlValue } = Object.create(null);
    for (;;) {
      const line = this.peekContent();
      if (line === null || line.indent < indent || isDocumentMarker(line)) break;
      if (line.indent > indent) throw this.error(line, 'unexpected indentation inside a mapping');
      const key = this.keyOf(line);
      if (key === null) {
        if (isSequenceItem(line.text)) break; // belongs to an enclosing compact sequence
        throw this.error(line, 'expected "key: value"');
      }
      if (Object.hasOwn(out, key.key)) throw this.error(line, `duplicate key ${JSON.stringify(key.key)}`);
      this.pos++;
      const rest = line.text.slice(key.end);
      const value = stripComment(rest).trim();
      if (value === '') {
        const next = this.peekContent();
        if (next !== null && next.indent === indent && isSequenceItem(next.text)) out[key.key] = this.sequence(indent, depth + 1);
        else out[key.key] = this.blockNode(indent, depth + 1);
      } else {
        out[key.key] = this.inlineValue(line, rest.trimStart(), indent, depth + 1);
      }
    }
    // defined, never assigned: a key "__proto__" stays data and cannot change the prototype
    return Object.fromEntries(Object.entries(out));
  }

  /**
   * The key of a `key: value` line, and where its value starts; null when the line is not one.
   * Plain keys end at the first `: ` (or a final `:`); quoted keys are read as quoted scalars.
   */
  private keyOf(line: Line): { key: string; end: number } | null {
    const t = line.text;
    if (t.startsWith('? ') || t === '?') throw this.error(line, 'complex mapping keys ("? ") are not supported');
    if (t.startsWith('"') || t.startsWith("'")) {
      const q = readQuoted(t, 0);
      if (q === null) return null;
      const after = t.slice(q.end);
      if (!/^\s*:(\s|$)/.test(after)) return null;
      const colon = q.end + after.indexOf(':');
      return { key: q.value, end: colon + 1 };
    }
    if (/^[-?:,[\]{}#&*!|>'"%@`]/.test(t) && !/^[-?:][^\s]/.test(t)) return null;
    for (let i = 0; i < t.length; i++) {
      const c = t[i]!;
      if (c === '#' && i > 0 && /\s/.test(t[i - 1]!)) return null;
      if (c === ':' && (i + 1 === t.length || t[i + 1] === ' ')) {
        const key = t.slice(0, i).trimEnd();
        if (key === '') return null;
        return { key, end: i + 1 };
      }
    }
    return null;
  }

  /**
   * A value that starts on a line (after `key:` or `- `, or alone): quoted, flow, block scalar or plain,
   * continuing on following lines indented more than `parent`.
   */
  private inlineValue(line: Line, text: string, parent: number, depth: number): YamlValue {
    const first = text[0];
    if (first === '&' || first === '*') throw this.error(line, 'anchors and aliases are not supported');
    if (first === '!') throw this.error(line, 'tags are not supported');
    if (first === '|' || first === '>') return this.blockScalar(line, text, parent);
    if (first === '"' || first === "'") return this.quoted(line, text, parent);
    if (first === '[' || first === '{') return this.flow(line, text, parent, depth);
    if (first === '@' || first === '`' || first === '%') throw this.error(line, `a plain value cannot start with "${first}"; quote it`);
    // plain scalar, possibly folded over more-indented lines
    let value = stripComment(text).trim();
    if (/:(\s|$)/.test(value)) throw this.error(line, 'a plain value cannot contain ": "; quote it');
    let blank = 0;
    while (this.pos < this.lines.length) {
      const next = this.lines[this.pos]!;
      const t = next.text.trim();
      if (t === '') {
        blank++;
        this.pos++;
        continue;
      }
      if (next.indent <= parent || t.startsWith('#')) break;
      if (this.keyOf(next) !== null || isSequenceItem(next.text)) throw this.error(next, 'unexpected mapping or sequence inside a value; check the indentation');
      value += blank > 0 ? '\n'.repeat(blank) : ' ';
      value += stripComment(t).trim();
      blank = 0;
      this.pos++;
    }
    return this.resolvePlain(value);
  }

  private resolvePlain(value: string): YamlValue {
    if (/^(~|null|Null|NULL|)$/.test(value)) return null;
    if (this.schema === 'strings') return value;
    if (/^(true|True|TRUE)$/.test(value)) return true;
    if (/^(false|False|FALSE)$/.test(value)) return false;
    if (/^[-+]?[0-9]+$/.test(value)) {
      const n = Number(value);
      return Number.isSafeInteger(n) ? n : value;
    }
    if (/^0o[0-7]+$/.test(value)) return Number.parseInt(value.slice(2), 8);
    if (/^0x[0-9a-fA-F]+$/.test(value)) return Number.parseInt(value.slice(2), 16);
    if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(value)) return Number(value);
    if (/^[-+]?\.(inf|Inf|INF)$/.test(value)) return value.startsWith('-') ? -Infinity : Infinity;
    if (/^\.(nan|NaN|NAN)$/.test(value)) return Number.NaN;
    return value;
  }

  /** A quoted scalar, possibly over several lines (line breaks fold to spaces, blank lines to "\n"). */
  private quoted(line: Line, text: string, parent: number): string {
    let buffer = text;
    let lastLine = line;
    for (;;) {
      const q = readQuoted(buffer, 0);
      if (q !== null) {
        const after = stripComment(buffer.slice(q.end)).trim();
        if (after !== '') throw this.error(lastLine, `unexpected ${JSON.stringify(after.slice(0, 20))} after a quoted value`);
        return q.value;
      }
      if (q === null && this.pos >= this.lines.length) throw this.error(line, 'unterminated quoted value');
      const next = this.lines[this.pos]!;
      if (next.text.trim() !== '' && next.indent <= parent) throw this.error(line, 'unterminated quoted value');
      buffer += `\n${next.text.trim()}`;
      lastLine = next;
      this.pos++;
    }
  }

  private flow(line: Line, text: string, parent: number, depth: number): YamlValue {
    let buffer = stripComment(text);
    while (!balanced(buffer)) {
      if (this.pos >= this.lines.length) throw this.error(line, 'unterminated flow collection');
      const next = this.lines[this.pos]!;
      if (next.text.trim() !== '' && next.indent <= parent) throw this.error(line, 'unterminated flow collection');
      buffer += ` ${stripComment(next.text).trim()}`;
      this.pos++;
    }
    const parser = new FlowParser(buffer, (why) => this.error(line, why), (v) => this.resolvePlain(v), this.maxDepth - depth);
    const value = parser.value();
    parser.end();
    return value;
  }

  private blockScalar(line: Line, header: string, parent: number): string {
    const m = /^([|>])([-+]?)([1-9]?)([-+]?)\s*(#.*)?$/.exec(header);
    if (m === null || (m[2] !== '' && m[4] !== '')) throw this.error(line, `invalid block scalar header ${JSON.stringify(header)}`);
    const literal = m[1] === '|';
    const chomp = m[2] || m[4];
    const explicit = m[3] ? Number(m[3]) : null;
    const body: string[] = [];
    let contentIndent = explicit === null ? null : Math.max(parent, 0) + explicit;
    while (this.pos < this.lines.length) {
      const next = this.lines[this.pos]!;
      if (next.text.trim() === '') {
        body.push('');
        this.pos++;
        continue;
      }
      if (next.indent <= parent) break;
      contentIndent ??= next.indent;
      if (next.indent < contentIndent) break;
      body.push(' '.repeat(next.indent - contentIndent) + next.text);
      this.pos++;
    }
    // trailing blank lines belong to the scalar only for chomping
    let trailing = 0;
    while (body.length > 0 && body[body.length - 1] === '') {
      body.pop();
      trailing++;
    }
    let text: string;
    if (literal) text = body.join('\n');
    else {
      text = '';
      for (const [i, l] of body.entries()) {
        if (i === 0) text = l;
        else if (l === '' || l.startsWith(' ') || body[i - 1] === '' || body[i - 1]!.startsWith(' ')) text += `\n${l}`;
        else text += ` ${l}`;
      }
    }
    if (body.length === 0) return chomp === '+' ? '\n'.repeat(trailing) : '';
    if (chomp === '-') return text;
    if (chomp === '+') return `${text}\n${'\n'.repeat(trailing)}`;
    return `${text}\n`;
  }

  private error(line: Line | null, why: string): ProvenaError {
    return invalid('yaml_invalid', `${this.source}${line ? `, line ${line.no}` : ''}: ${why}`);
  }
}

function isDocumentMarker(line: Line): boolean {
  return line.indent === 0 && /^(---|\.\.\.)(\s|$)/.test(line.text);
}

function isSequenceItem(text: string): boolean {
  return text === '-' || text.startsWith('- ') || text.startsWith('-\t');
}

/** Removes a ` # comment` outside quotes. */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i++;
        else quote = null;
      }
      continue;
    }
    if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]!))) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) return text.slice(0, i);
  }
  return text;
}

/** A quoted scalar starting at `start`; null when it does not end in `text`. */
function readQuoted(text: string, start: number): { value: string; end: number } | null {
  const quote = text[start]!;
  let raw = '';
  let i = start + 1;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'" && c === "'") {
      if (text[i + 1] === "'") {
        raw += "'";
        i++;
        continue;
      }
      return { value: fold(raw), end: i + 1 };
    }
    if (quote === '"' && c === '\\') {
      const e = text[i + 1];
      if (e === undefined) return null;
      if (e === '\n') {
        // an escaped line break joins the lines without a space
        i++;
        while (text[i + 1] === ' ') i++;
        raw += '\u0000JOIN';
        continue;
      }
      raw += `\\${e}`;
      i++;
      continue;
    }
    if (quote === '"' && c === '"') return { value: unescapeDouble(fold(raw)).replaceAll('\u0000JOIN', ''), end: i + 1 };
    raw += c;
  }
  return null;
}

/** Folding of a multi-line quoted scalar: a single line break is a space, n blank lines are n "\n". */
function fold(raw: string): string {
  if (!raw.includes('\n')) return raw;
  const parts = raw.split('\n').map((p, i, all) => (i === 0 ? p.trimEnd() : i === all.length - 1 ? p.trimStart() : p.trim()));
  let out = parts[0]!;
  let blanks = 0;
  for (const p of parts.slice(1)) {
    if (p === '') {
      blanks++;
      continue;
    }
    out += blanks > 0 ? '\n'.repeat(blanks) : ' ';
    out += p;
    blanks = 0;
  }
  return out;
}

const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\u0085', _: '\u00a0', L: '\u2028', P: '\u2029',
};

function unescapeDouble(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/gs, (whole, e: string) => {
    if (e.length > 1) return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
    const v = ESCAPES[e];
    if (v === undefined) throw invalid('yaml_invalid', `invalid escape ${whole} in a double-quoted value`);
    return v;
  });
}

/** True when every bracket opened outside quotes is closed. */
function balanced(text: string): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote !== null) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') depth--;
  }
  return depth <= 0 && quote === null;
}

class FlowParser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly fail: (why: string) => ProvenaError,
    private readonly resolve: (plain: string) => YamlValue,
    private readonly depthLeft: number,
  ) {}

  value(depth = 0): YamlValue {
    if (depth > this.depthLeft) throw this.fail('flow collection nested too deeply');
    this.skipSpace();
    const c = this.text[this.i];
    if (c === '[') return this.seq(depth);
    if (c === '{') return this.map(depth);
    if (c === '"' || c === "'") {
      const q = readQuoted(this.text, this.i);
      if (q === null) throw this.fail('unterminated quoted value in a flow collection');
      this.i = q.end;
      return q.value;
    }
    if (c === '&' || c === '*' || c === '!') throw this.fail('anchors, aliases and tags are not supported');
    const start = this.i;
    while (this.i < this.text.length && !/[,\]}]/.test(this.text[this.i]!) && !(this.text[this.i] === ':' && /[\s,\]}]/.test(this.text[this.i + 1] ?? ' '))) this.i++;
    return this.resolve(this.text.slice(start, this.i).trim());
  }

  private seq(depth: number): YamlValue[] {
    this.i++;
    const out: YamlValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.i] === ']') {
        this.i++;
        return out;
      }
      out.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.i];
      if (c === ',') this.i++;
      else if (c !== ']') throw this.fail(`expected "," or "]" in a flow sequence, got ${JSON.stringify(c ?? 'end of value')}`);
    }
  }

  private map(depth: number): { [key: string]: YamlValue } {
    this.i++;
    const out: { [key: string]: YamlValue } = {};
    const seen = new Set<string>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.i] === '}') {
        this.i++;
        return out;
      }
      const key = this.value(depth + 1);
      if (typeof key === 'object' && key !== null) throw this.fail('flow mapping keys must be scalars');
      const k = String(key);
      this.skipSpace();
      let value: YamlValue = null;
      if (this.text[this.i] === ':') {
        this.i++;
        this.skipSpace();
        value = this.text[this.i] === ',' || this.text[this.i] === '}' ? null : this.value(depth + 1);
      }
      if (seen.has(k)) throw this.fail(`duplicate key ${JSON.stringify(k)}`);
      seen.add(k);
      Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const c = this.text[this.i];
      if (c === ',') this.i++;
      else if (c !== '}') throw this.fail(`expected "," or "}" in a flow mapping, got ${JSON.stringify(c ?? 'end of value')}`);
    }
  }

  end(): void {
    this.skipSpace();
    if (this.i < this.text.length) throw this.fail(`unexpected ${JSON.stringify(this.text.slice(this.i, this.i + 20))} after a flow collection`);
  }

  private skipSpace(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i]!)) this.i++;
  }
}
