/**
 * Result rows and their rendering. Hand-written rather than cli-table3: the same rows are printed to the
 * terminal and pasted into BENCHMARKS.md, so the one format is a Markdown pipe table, aligned for reading.
 */

/** How a figure stands against its target. `info` rows have no target of their own. */
export const Verdict = { pass: 'PASS', miss: 'MISS', info: '', skipped: 'SKIP', error: 'ERROR' } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** One line of the report: a figure, what it is compared against, the target and the verdict. */
export interface Row {
  bench: string;
  figure: string;
  value: string;
  /** The comparison measured in the same run (or the bound it is held to). */
  beside: string;
  target: string;
  verdict: Verdict;
}

export const HEADERS = ['bench', 'figure', 'value', 'beside it', 'target', 'verdict'] as const;

/** Verdict for "higher is better" (`atLeast`) or "lower is better" (`atMost`) targets; NaN misses. */
export function verdict(value: number, target: { atLeast: number } | { atMost: number }): Verdict {
  if (!Number.isFinite(value)) return Verdict.miss;
  return ('atLeast' in target ? value >= target.atLeast : value <= target.atMost) ? Verdict.pass : Verdict.miss;
}

const escapeCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A Markdown pipe table with columns padded to their widest cell (display width = string length). */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers.map(escapeCell), ...rows.map((r) => headers.map((_, i) => escapeCell(r[i] ?? '')))];
  const widths = headers.map((_, i) => Math.max(3, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** The report table of result rows. */
export function formatRows(rows: readonly Row[]): string {
  return formatTable(
    HEADERS,
    rows.map((r) => [r.bench, r.figure, r.value, r.beside, r.target, r.verdict]),
  );
}

/** Numbers as people read them: thousands separators, a fixed number of decimals. */
export function fmt(n: number, decimals = 0): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Bytes in MB (10^6), as the targets are stated. */
export const mb = (bytes: number, decimals = 0) => `${fmt(bytes / 1e6, decimals)} MB`;
