// RFC 4180 CSV: comma-separated, CRLF line ends, fields quoted when they need it.
export interface CsvTable {
  header: string[];
  rows: (string | number)[][];
}

function field(value: string | number): string {
  const text = typeof value === 'number' ? String(value) : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(table: CsvTable): string {
  return [table.header, ...table.rows].map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}
