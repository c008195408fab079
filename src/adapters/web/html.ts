/**
 * HTML built by one rule: every interpolated value is escaped unless it is already `Html` made by
 * this module. Package metadata (names, summaries, licences, URLs, dependency strings) is untrusted
 * input and only ever reaches a page through `html\`...\`` or `escapeHtml`, so it can never become
 * markup. URLs additionally pass `safeHttpUrl` before they become an `href`.
 */

/** A fragment of markup that is safe to emit as is (built by `html`, `raw` of a constant, or `join`). */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};
const ESCAPE_RE = /[&<>"'`]/g;
const NEEDS_ESCAPE = /[&<>"'`]/;

/** Escapes text for element content and for quoted attribute values alike. */
export function escapeHtml(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPE_RE, (c) => ESCAPES[c]!) : value;
}

/** A value that may be interpolated: text (escaped), a number, markup, nothing, or a list of these. */
export type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[];

function render(v: Interpolation): string {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof Html) return v.value;
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return escapeHtml(v);
  let out = '';
  for (const item of v) out += render(item);
  return out;
}

/** Tagged template: literal parts are markup, every `${value}` is escaped (or kept when it is `Html`). */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Markup from a constant of this program. Never pass anything that came from a request or a package. */
export function raw(trusted: string): Html {
  return new Html(trusted);
}

export function join(items: readonly Interpolation[], separator: Interpolation = ''): Html {
  const sep = render(separator);
  return new Html(items.map(render).join(sep));
}

/**
 * The URL if it is an absolute http(s) URL without credentials, normalised by the URL parser;
 * otherwise null. `javascript:`, `data:`, `vbscript:`, relative and protocol-relative URLs,
 * and anything that does not parse are not links.
 */
export function safeHttpUrl(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) return null;
  // control characters and whitespace inside a URL are how parsers get confused; refuse them
  if (/[\u0000-\u0020\u007f-\u009f]/.test(value.trim())) return null;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password || !url.hostname) return null;
  return url.href;
}

/** An external link when the URL is http(s); otherwise the value as plain text. */
export function externalLink(value: unknown, label?: Interpolation): Html {
  const href = safeHttpUrl(value);
  const text = label ?? (typeof value === 'string' ? value : '');
  if (href === null) return html`<span class="text-url">${text}</span>`;
  return html`<a href="${href}" rel="nofollow noopener noreferrer ugc" class="external">${text}</a>`;
}

/** A path segment for a URL this server serves (channel, subdir, filename, package name). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/** A query string from defined, non-empty values (escaped where it is interpolated). */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
