/** Shared human-output helpers for commands: tables and number formatting. No logic. */
import chalk from 'chalk'

/**
 * NO_COLOR (https://no-color.org): chalk 5 colours a terminal even when it is set, so every report
 * that imports these helpers (plan, doctor, tune) turns chalk off here. FORCE_COLOR still wins.
 */
export function applyNoColor(env: Record<string, string | undefined> = process.env): void {
  if (env.NO_COLOR && !env.FORCE_COLOR) chalk.level = 0
}
applyNoColor()

/**
 * formatInt (1234567 -> "1,234,567") and formatBytes (11000 -> "11 KB", 1.7e9 -> "1.7 GB"): one
 * implementation, the broker's statistics log's (a pure module; the broker imports nothing from here).
 */
export {formatBytes, formatInt} from '../broker/stats/format.js'

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
  /**
   * Visible columns a line may take: a longer left-aligned last cell wraps under itself (or, with
   * less than 20 columns left for it, on lines of its own below the row); a table whose last column
   * is right-aligned (figures) wraps its first column (labels) instead, down to 10 columns.
   */
  maxWidth?: number
}

/** Each column's width: its widest cell. */
function columnWidths(rows: string[][]): number[] {
  const widths: number[] = []
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleWidth(c))))
  return widths
}

/** The table's rows with the first cell wrapped to fit `maxWidth` (a continuation is a row of that cell alone). */
function fitFirstColumn(rows: string[][], options: TableOptions): string[][] {
  const max = options.maxWidth
  const widths = columnWidths(rows)
  const last = widths.length - 1
  if (max === undefined || last < 1 || options.align?.[last] !== 'r') return rows
  const total = (options.indent ?? 0) + widths.reduce((a, w) => a + w, 0) + (options.gap ?? 2) * last
  const first = widths[0] - (total - max)
  if (total <= max || first < 10) return rows
  return rows.flatMap((row) => {
    if (visibleWidth(row[0]) <= first) return [row]
    const [head, ...more] = wrap(row[0], first).split('\n')
    return [[head, ...row.slice(1)], ...more.map((piece) => [piece])]
  })
}

/** Aligns rows of cells into columns; cells may contain ANSI colour. */
export function table(rows: string[][], options: TableOptions = {}): string {
  const gap = ' '.repeat(options.gap ?? 2)
  const indent = ' '.repeat(options.indent ?? 0)
  const fitted = fitFirstColumn(rows, options)
  const widths = columnWidths(fitted)
  const max = options.maxWidth
  return fitted
    .map((row) => {
      const line =
        indent +
        row
          .map((c, i) => {
            const pad = ' '.repeat(widths[i] - visibleWidth(c))
            if (i === row.length - 1 && options.align?.[i] !== 'r') return c
            return options.align?.[i] === 'r' ? pad + c : c + pad
          })
          .join(gap)
      const last = row.length - 1
      if (max === undefined || visibleWidth(line) <= max || last < 1 || options.align?.[last] === 'r') return line
      const head = line.slice(0, line.length - row[last].length)
      const start = visibleWidth(head)
      if (max - start >= 20) return wrap(row[last], max, head, ' '.repeat(start))
      const under = ' '.repeat(indent.length + 4)
      return `${head.trimEnd()}\n${wrap(row[last], max, under, under)}`
    })
    .join('\n')
}

/**
 * oclif's flag-parsing error (multi-line, "See more help with --help") as the one line mqttctl
 * prints: the first line, and for an unknown flag or argument the flags that are allowed.
 */
export function parseErrorLine(error: unknown, flagNames: readonly string[]): string {
  const lines = String((error as Error)?.message ?? error)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^See more help/.test(l))
  // "Missing 1 required arg:" + "mode: ..." -> "Missing 1 required arg: mode: ...", not "arg:: mode".
  const text = lines
    .reduce((all, l) => (all === '' ? l : `${all}${all.endsWith(':') ? ' ' : ': '}${l}`), '')
    .replace(/\s+/g, ' ')
    .replace(/ :/g, ':')
  const allowed = `allowed flags: ${[...flagNames].map((f) => `--${f}`).join(', ')}`
  // oclif's check of a flag's `options`, in the words of every other refusal.
  const option = /^Expected --([\w-]+)=(.*) to be one of: (.*)$/.exec(text)
  if (option) return `--${option[1]} ${JSON.stringify(option[2])} is not allowed; allowed: ${option[3]}`
  if (/^(Nonexistent flag|Unexpected argument)/.test(text)) return `${text}; ${allowed}`
  return text
}

/** Columns to lay text out in: the terminal's width when stdout is one, else 80 (pipes, files, tests). */
export function outputWidth(stream: {isTTY?: boolean; columns?: number} = process.stdout): number {
  return stream.isTTY && stream.columns ? Math.max(40, stream.columns) : 80
}

/**
 * Word-wraps `text` (may hold ANSI colour) to `width` visible columns. The first line starts with
 * `first`, the others with `rest`. A word longer than a line stays whole.
 */
export function wrap(text: string, width: number, first = '', rest = first): string {
  const lines: string[] = []
  let line = first
  let empty = true
  for (const word of text.split(' ')) {
    if (word === '') continue
    if (!empty && visibleWidth(line) + 1 + visibleWidth(word) > width) {
      lines.push(line)
      line = rest + word
    } else line += (empty ? '' : ' ') + word
    empty = false
  }
  lines.push(line)
  return lines.join('\n')
}
