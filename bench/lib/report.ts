/**
 * Result shapes shared by all sections, and the plain-text table printer.
 *
 * Every figure sits next to its same-run baseline; a target is either a minimum ratio
 * (Provena ÷ baseline) or an absolute maximum (e.g. peak RSS). Targets are REPORTED, never
 * asserted: the bench exits 0 when targets are missed, non-zero only when it could not measure.
 */

export type Target = { kind: 'min-ratio'; value: number } | { kind: 'max'; value: number };

export interface Row {
  metric: string;
  unit: string;
  provena: number | null;
  baseline: number | null;
  /** provena ÷ baseline when both exist */
  ratio: number | null;
  target: Target | null;
  /** null when there is no target or no figure to judge */
  met: boolean | null;
}

export interface SectionResult {
  id: string;
  title: string;
  baselineName: string;
  /** how it was measured: one line each, printed above the table */
  setup: string[];
  rows: Row[];
  /** problems that make some figure doubtful or missing (printed, and kept in the JSON) */
  warnings: string[];
  /** set when the whole section (or its baseline) could not run, with the reason */
  skipped: string | null;
  /** raw per-round data for the JSON file */
  details: Record<string, unknown>;
}

export function newSection(id: string, title: string, baselineName: string): SectionResult {
  return { id, title, baselineName, setup: [], rows: [], warnings: [], skipped: null, details: {} };
}

/** `withRatio: false` for lower-is-better context figures (latency), where Provena ÷ baseline misleads. */
export function makeRow(
  metric: string,
  unit: string,
  provena: number | null,
  baseline: number | null,
  target: Target | null,
  withRatio = true,
): Row {
  const ratio = withRatio && provena !== null && baseline !== null && baseline > 0 ? provena / baseline : null;
  let met: boolean | null = null;
  if (target?.kind === 'min-ratio' && ratio !== null) met = ratio >= target.value;
  if (target?.kind === 'max' && provena !== null) met = provena <= target.value;
  return { metric, unit, provena, baseline, ratio, target, met };
}

function fmtNum(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '—';
  const abs = Math.abs(n);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : 2;
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function fmtTarget(r: Row): string {
  if (!r.target) return '';
  return r.target.kind === 'min-ratio' ? `≥ ${r.target.value.toFixed(2)}×` : `≤ ${fmtNum(r.target.value)} ${r.unit}`;
}

function fmtStatus(r: Row): string {
  if (!r.target) return '';
  if (r.met === null) return 'not measured';
  return r.met ? 'met' : 'NOT met';
}

export function renderSection(s: SectionResult, index: number): string {
  const out: string[] = [`\n== ${index}. ${s.title} ==`];
  for (const line of s.setup) out.push(`   ${line}`);
  if (s.skipped) out.push(`   SKIPPED: ${s.skipped}`);
  if (s.rows.length > 0) {
    const head = ['metric', 'Provena', s.baselineName, 'ratio', 'target', 'status'];
    const body = s.rows.map((r) => [
      `${r.metric} (${r.unit})`,
      fmtNum(r.provena),
      fmtNum(r.baseline),
      r.ratio === null ? '—' : `${r.ratio.toFixed(2)}×`,
      fmtTarget(r),
      fmtStatus(r),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]): string =>
      '   ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
    out.push(line(head), '   ' + widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line));
  }
  for (const w of s.warnings) out.push(`   warning: ${w}`);
  return out.join('\n');
}
