/** Output of the client commands: `--json` for scripts, readable tables (cli-table3) for people. */

/** Prints a value as indented JSON (what `--json` gives: the API's own shapes). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A column: its heading and how to read a cell from a row. */
export type Column<T> = [heading: string, cell: (row: T) => unknown];

/** A borderless table (cli-table3, loaded on first use), or `empty` when there are no rows. */
export async function printTable<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>, empty = '(none)'): Promise<void> {
  if (rows.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  const { default: Table } = await import('cli-table3');
  const table = new Table({
    head: columns.map(([h]) => h),
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
    // No colours: the output goes to files and CI logs as often as to a terminal.
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const row of rows) table.push(columns.map(([, cell]) => text(cell(row))));
  process.stdout.write(`${table.toString().replace(/[ \t]+$/gm, '')}\n`);
}

/** A cell's text: empty for null, JSON for objects, cut at 60 characters. */
export function text(value: unknown, max = 60): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** `2026-12-07T16:41:43.123Z` → `2026-12-07 16:41:43`. */
export function when(iso: unknown): string {
  return typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '';
}

/** Milliseconds between two ISO times, as `1.2 s` or `85 ms`; empty when either is missing. */
export function took(from: unknown, to: unknown): string {
  if (typeof from !== 'string' || typeof to !== 'string') return '';
  return span(Date.parse(to) - Date.parse(from));
}

/** Milliseconds as `1.2 s` or `85 ms`. */
export function span(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
