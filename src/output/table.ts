/** Plain aligned tables for people; scripts use --json. */
export interface Column<R> {
  header: string
  get: (row: R) => string | number | null | undefined
  align?: 'left' | 'right'
}

export function formatTable<R>(rows: R[], columns: Column<R>[]): string {
  const cells = rows.map((row) => columns.map((c) => {
    const value = c.get(row)
    return value === null || value === undefined ? '-' : String(value)
  }))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i].length)))
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.header)), ...cells.map((r) => line(r))].join('\n')
}

export function percent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`
}
