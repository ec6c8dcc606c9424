/**
 * In-place drawing for a TTY: the alternate screen, cursor home, each line followed by
 * clear-to-end-of-line, then clear-below. No full-screen clear per frame, so no flicker. Raw stdin
 * turns `q` and Ctrl-C into a quit; stop() always restores the terminal.
 */
import {visibleWidth} from '../cli/render.js'

const ESC = '\u001B['
export const ANSI = {
  altScreenOn: `${ESC}?1049h`,
  altScreenOff: `${ESC}?1049l`,
  hideCursor: `${ESC}?25l`,
  showCursor: `${ESC}?25h`,
  home: `${ESC}H`,
  clearLine: `${ESC}K`,
  clearBelow: `${ESC}J`,
}

export interface TtyOut {
  write(s: string): unknown
  columns?: number
  rows?: number
  on?(event: 'resize', listener: () => void): unknown
  off?(event: 'resize', listener: () => void): unknown
}

export interface TtyIn {
  isTTY?: boolean
  setRawMode?(mode: boolean): unknown
  on(event: 'data', listener: (data: Buffer | string) => void): unknown
  off(event: 'data', listener: (data: Buffer | string) => void): unknown
  resume(): unknown
  pause(): unknown
}

/** The frame's bytes: home, each line cut to `columns` and cleared to its end, then clear below. */
export function frame(lines: readonly string[], columns: number, rows = Number.POSITIVE_INFINITY): string {
  const shown = lines.slice(0, Math.max(1, rows - 1))
  return ANSI.home + shown.map((l) => cut(l, columns) + ANSI.clearLine).join('\n') + '\n' + ANSI.clearBelow
}

/** Cuts a line with ANSI colour to `columns` visible characters (colour reset if cut). */
function cut(line: string, columns: number): string {
  if (visibleWidth(line) <= columns) return line
  let out = ''
  let seen = 0
  for (let i = 0; i < line.length && seen < columns; ) {
    const m = /^\u001B\[[0-9;]*m/.exec(line.slice(i))
    if (m) {
      out += m[0]
      i += m[0].length
      continue
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!)
    out += ch
    i += ch.length
    seen++
  }
  return out + `${ESC}0m`
}

export class Screen {
  #active = false
  #onKey: ((data: Buffer | string) => void) | undefined
  #onResize: (() => void) | undefined
  #last: readonly string[] = []

  constructor(
    private readonly out: TtyOut,
    private readonly input: TtyIn | undefined,
  ) {}

  /** Enters the alternate screen; `onQuit` runs on q, Q or Ctrl-C. */
  start(onQuit: () => void): void {
    this.#active = true
    this.out.write(ANSI.altScreenOn + ANSI.hideCursor)
    this.#onResize = () => this.draw(this.#last)
    this.out.on?.('resize', this.#onResize)
    if (this.input?.isTTY && this.input.setRawMode) {
      this.input.setRawMode(true)
      this.#onKey = (data) => {
        const s = data.toString()
        if (s === 'q' || s === 'Q' || s.includes('\u0003')) onQuit()
      }
      this.input.on('data', this.#onKey)
      this.input.resume()
    }
  }

  draw(lines: readonly string[]): void {
    this.#last = lines
    if (this.#active) this.out.write(frame(lines, this.out.columns ?? 80, this.out.rows))
  }

  stop(): void {
    if (!this.#active) return
    this.#active = false
    if (this.#onResize) this.out.off?.('resize', this.#onResize)
    if (this.#onKey && this.input) {
      this.input.off('data', this.#onKey)
      this.input.setRawMode?.(false)
      this.input.pause()
    }
    this.out.write(ANSI.showCursor + ANSI.altScreenOff)
  }
}
