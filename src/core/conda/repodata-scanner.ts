/**
 * Reads a repodata.json as a stream of its parts, never the whole document at once: conda-forge's
 * linux-64 file is ~250 MB, which JSON.parse turns into gigabytes of objects. The scanner is fed
 * text in chunks and reports each top-level field (its raw JSON text) and, inside `packages` and
 * `packages.conda`, each record by filename (its raw JSON text, parsed by the caller one at a time).
 * It checks the document's structure; the caller's JSON.parse checks each raw value.
 */
export type RepodataGroup = 'packages' | 'packages.conda';

export type RepodataPart =
  | { kind: 'field'; key: string; raw: string }
  | { kind: 'record'; group: RepodataGroup; filename: string; raw: string };

/** A value being read: where it starts in the buffer, how far it is read, and the nesting there. */
interface ValueScan {
  start: number;
  pos: number;
  depth: number;
  inString: boolean;
  escaped: boolean;
}

type State = 'start' | 'topFirst' | 'topKey' | 'topColon' | 'topValue' | 'topNext' | 'groupFirst' | 'groupKey' | 'groupColon' | 'groupValue' | 'groupNext' | 'done';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

export class RepodataSyntaxError extends Error {}

export class RepodataScanner {
  #buf = '';
  #pos = 0;
  /** characters dropped from the buffer's front so far, for error positions */
  #dropped = 0;
  #state: State = 'start';
  #key = '';
  #group: RepodataGroup | null = null;
  #value: ValueScan | null = null;

  constructor(private readonly emit: (part: RepodataPart) => void) {}

  feed(chunk: string): void {
    this.#buf += chunk;
    this.#run(false);
    // keep only what is not consumed: the value being read, or the token not yet complete
    const keep = this.#value ? this.#value.start : this.#pos;
    if (keep > 0) {
      this.#buf = this.#buf.slice(keep);
      this.#dropped += keep;
      this.#pos -= keep;
      if (this.#value) {
        this.#value.pos -= keep;
        this.#value.start = 0;
      }
    }
  }

  /** The end of the text: the document must be complete, with nothing after it. */
  end(): void {
    this.#run(true);
    this.#skipSpace();
    if (this.#state !== 'done') this.#fail('the document ends before its closing }');
    if (this.#pos < this.#buf.length) this.#fail('text follows the document');
  }

  #run(atEnd: boolean): void {
    const buf = this.#buf;
    for (;;) {
      if (this.#value === null) {
        this.#skipSpace();
        if (this.#pos >= buf.length || this.#state === 'done') return;
      }
      const c = buf.charCodeAt(this.#pos);
      switch (this.#state) {
        case 'start':
          if (c !== OPEN_BRACE) this.#fail('a repodata.json is a JSON object');
          this.#pos++;
          this.#state = 'topFirst';
          break;
        case 'topFirst':
        case 'topKey': {
          if (c === CLOSE_BRACE && this.#state === 'topFirst') {
            this.#pos++;
            this.#state = 'done';
            break;
          }
          const key = this.#readKey(atEnd);
          if (key === null) return;
          this.#key = key;
          this.#state = 'topColon';
          break;
        }
        case 'topColon':
        case 'groupColon':
          if (c !== COLON) this.#fail('expected :');
          this.#pos++;
          this.#state = this.#state === 'topColon' ? 'topValue' : 'groupValue';
          break;
        case 'topValue':
          if (this.#value === null && (this.#key === 'packages' || this.#key === 'packages.conda')) {
            if (c !== OPEN_BRACE) this.#fail(`"${this.#key}" is not an object`);
            this.#pos++;
            this.#group = this.#key;
            this.#state = 'groupFirst';
            break;
          }
          if (!this.#scanValue(atEnd)) return;
          this.emit({ kind: 'field', key: this.#key, raw: this.#takeValue() });
          this.#state = 'topNext';
          break;
        case 'topNext':
        case 'groupNext':
          this.#pos++;
          if (c === COMMA) this.#state = this.#state === 'topNext' ? 'topKey' : 'groupKey';
          else if (c === CLOSE_BRACE) this.#state = this.#state === 'topNext' ? 'done' : 'topNext';
          else this.#fail('expected , or }');
          break;
        case 'groupFirst':
        case 'groupKey': {
          if (c === CLOSE_BRACE && this.#state === 'groupFirst') {
            this.#pos++;
            this.#state = 'topNext';
            break;
          }
          const key = this.#readKey(atEnd);
          if (key === null) return;
          this.#key = key;
          this.#state = 'groupColon';
          break;
        }
        case 'groupValue':
          if (!this.#scanValue(atEnd)) return;
          this.emit({ kind: 'record', group: this.#group!, filename: this.#key, raw: this.#takeValue() });
          this.#state = 'groupNext';
          break;
        case 'done':
          return;
      }
    }
  }

  #skipSpace(): void {
    const buf = this.#buf;
    let p = this.#pos;
    for (;;) {
      const c = buf.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.#pos = p;
  }

  /** A string key at the position, decoded; null when the buffer ends inside it. */
  #readKey(atEnd: boolean): string | null {
    const buf = this.#buf;
    if (buf.charCodeAt(this.#pos) !== QUOTE) this.#fail('expected a string key');
    let p = this.#pos + 1;
    while (p < buf.length) {
      const c = buf.charCodeAt(p);
      if (c === BACKSLASH) p += 2;
      else if (c === QUOTE) break;
      else p++;
    }
    if (p >= buf.length) {
      if (atEnd) this.#fail('the document ends inside a key');
      return null;
    }
    let key: string;
    try {
      key = JSON.parse(buf.slice(this.#pos, p + 1)) as string;
    } catch {
      this.#fail('a key is not a valid JSON string');
    }
    this.#pos = p + 1;
    return key;
  }

  /** Reads on through the value at the position; true once it is complete. Resumes where it stopped. */
  #scanValue(atEnd: boolean): boolean {
    const buf = this.#buf;
    const v = (this.#value ??= { start: this.#pos, pos: this.#pos, depth: 0, inString: false, escaped: false });
    let p = v.pos;
    const first = buf.charCodeAt(v.start);
    if (first === OPEN_BRACE || first === OPEN_BRACKET || first === QUOTE) {
      let { depth, inString, escaped } = v;
      if (p === v.start) {
        if (first === QUOTE) inString = true;
        else depth = 1;
        p++;
      }
      while (p < buf.length && (depth > 0 || inString)) {
        const c = buf.charCodeAt(p++);
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
        } else if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
      }
      Object.assign(v, { pos: p, depth, inString, escaped });
      if (depth > 0 || inString) {
        if (atEnd) this.#fail('the document ends inside a value');
        return false;
      }
      return true;
    }
    // a number, true, false or null: up to the next delimiter
    while (p < buf.length) {
      const c = buf.charCodeAt(p);
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) break;
      p++;
    }
    v.pos = p;
    if (p === v.start) this.#fail('expected a value');
    return p < buf.length || atEnd;
  }

  #takeValue(): string {
    const v = this.#value!;
    this.#value = null;
    this.#pos = v.pos;
    return this.#buf.slice(v.start, v.pos);
  }

  #fail(what: string): never {
    throw new RepodataSyntaxError(`${what} (at character ${this.#dropped + this.#pos})`);
  }
}
