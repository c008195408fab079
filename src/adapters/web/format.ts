import { html, type Html } from './html.ts';

/** 1536 → "1.5 KiB": binary units, as package sizes are usually shown. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** `<time>` with the machine-readable instant and a short UTC rendering. */
export function timeTag(iso: string | null | undefined): Html {
  if (!iso) return html`<span class="muted">—</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`${iso}`;
  return html`<time datetime="${d.toISOString()}">${shortUtc(d)}</time>`;
}

export function shortUtc(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Seconds since the epoch (Rekor's integrated time, as a string or number) → ISO, or null. */
export function epochSecondsToIso(v: unknown): string | null {
  const n = typeof v === 'string' && /^\d{1,12}$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  if (!Number.isFinite(n) || n <= 0) return null;
  return new Date(n * 1000).toISOString();
}

/** Positive page numbers from a query value; anything else is page 1. */
export function pageNumber(v: unknown): number {
  const n = typeof v === 'string' && /^[1-9][0-9]{0,6}$/.test(v) ? Number(v) : 1;
  return n;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function shortHash(hex: string | null | undefined, n = 12): string {
  return hex ? hex.slice(0, n) : '';
}
