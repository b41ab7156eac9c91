/** One printed row: a label and its figures, in column order. */
export interface BenchRow {
  label: string;
  cells: string[];
}

/** What a benchmark hands back to `bench/run.ts` for printing. */
export interface BenchReport {
  /** Benchmark name, e.g. `upload`. */
  name: string;
  /** One line saying what was measured (sizes, part size, concurrency). */
  setup: string;
  /** Column headings after the label column. */
  columns: string[];
  rows: BenchRow[];
  /** Extra lines printed under the table (ratios, bounds, checks). */
  notes: string[];
}

/** Formats a report as a Markdown table, so the output can be pasted into docs/benchmarks.md as is. */
export function formatReport(r: BenchReport): string {
  const header = ['', ...r.columns];
  const body = r.rows.map((row) => [row.label, ...row.cells]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [`### ${r.name}`, '', r.setup, '', line(header), rule, ...body.map(line), '', ...r.notes.map((n) => `- ${n}`)].join('\n');
}

/** `n` with `digits` decimals. */
export const fixed = (n: number, digits = 1): string => n.toFixed(digits);

/** Bytes as MiB with one decimal. */
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
