/** Shared human-output helpers for commands: tables and number formatting. No logic. */

const INT = new Intl.NumberFormat('en-US')

/** 1234567 -> "1,234,567". */
export function formatInt(n: number): string {
  return INT.format(Math.round(n))
}

/** Bytes in decimal units as the guide writes them: 11000 -> "11 KB", 1.7e9 -> "1.7 GB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = bytes
  let i = 0
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  const text = i === 0 || v >= 100 ? Math.round(v).toString() : v.toFixed(1).replace(/\.0$/, '')
  return `${text} ${units[i]}`
}

/** Visible width of a string (ignores ANSI colour codes). */
export function visibleWidth(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001B\[[0-9;]*m/g, '').length
}

export interface TableOptions {
  /** Column alignment, 'l' or 'r' per column; default left. */
  align?: ('l' | 'r')[]
  indent?: number
  /** Gap between columns. */
  gap?: number
}

/** Aligns rows of cells into columns; cells may contain ANSI colour. */
export function table(rows: string[][], options: TableOptions = {}): string {
  const gap = ' '.repeat(options.gap ?? 2)
  const indent = ' '.repeat(options.indent ?? 0)
  const widths: number[] = []
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleWidth(c))))
  return rows
    .map((row) =>
      indent +
      row
        .map((c, i) => {
          const pad = ' '.repeat(widths[i] - visibleWidth(c))
          if (i === row.length - 1 && options.align?.[i] !== 'r') return c
          return options.align?.[i] === 'r' ? pad + c : c + pad
        })
        .join(gap),
    )
    .join('\n')
}
