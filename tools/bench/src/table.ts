/** One table of benchmark results, printed by main.ts. */
export interface BenchTable {
  title: string;
  columns: string[];
  rows: (string | number)[][];
}

/**
 * Renders a table as Markdown, padded so it also reads as plain text in a
 * terminal: text cells left-aligned, numbers right-aligned with thousands
 * separators for integers and four significant digits otherwise.
 */
export function formatTable(table: BenchTable): string {
  const cells = table.rows.map((row) => table.columns.map((_, column) => formatCell(row[column])));
  const numeric = table.columns.map((_, column) => table.rows.some((row) => typeof row[column] === 'number'));
  const widths = table.columns.map((heading, column) =>
    Math.max(heading.length, 3, ...cells.map((row) => (row[column] ?? '').length)),
  );
  const line = (values: string[]) =>
    `| ${values.map((value, column) => (numeric[column] ? value.padStart(widths[column] ?? 0) : value.padEnd(widths[column] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((width, column) => (numeric[column] ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [`### ${table.title}`, '', line(table.columns), rule, ...cells.map(line)].join('\n');
}

function formatCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Number.isInteger(value)) return groupThousands(value);
  return String(Number(value.toPrecision(4)));
}

// Written out rather than toLocaleString, whose output depends on the machine's locale.
function groupThousands(value: number): string {
  const digits = String(Math.abs(value));
  const grouped = digits.replace(/\B(?=(\d{3})+$)/g, ',');
  return value < 0 ? `-${grouped}` : grouped;
}
