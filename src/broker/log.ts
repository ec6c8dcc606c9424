/**
 * The broker's leveled logger, in the guide's shape: `[2025-10-24T14:30:00Z] INFO: message`.
 * Injected (never global) so tests can capture it. Hot paths check `logger.enabled('debug')`
 * before building a message.
 */
import type {LogLevel} from '../config/index.js'

export type {LogLevel}

const RANK: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40}

export interface Logger {
  readonly level: LogLevel
  enabled(level: LogLevel): boolean
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

export function isoSeconds(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function formatLine(level: LogLevel, message: string, date = new Date()): string {
  return `[${isoSeconds(date)}] ${level.toUpperCase()}: ${message}\n`
}

/** A logger writing lines to `write` (default: stderr for warn/error, stdout otherwise). */
export function createLogger(level: LogLevel, write?: (line: string, level: LogLevel) => void): Logger {
  const min = RANK[level]
  const out =
    write ??
    ((line: string, l: LogLevel) => {
      if (RANK[l] >= RANK.warn) process.stderr.write(line)
      else process.stdout.write(line)
    })
  const emit = (l: LogLevel) => (message: string) => {
    if (RANK[l] >= min) out(formatLine(l, message), l)
  }
  return {
    level,
    enabled: (l) => RANK[l] >= min,
    debug: emit('debug'),
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
  }
}

/** A logger that keeps lines in memory (tests). */
export function memoryLogger(level: LogLevel = 'debug'): Logger & {lines: string[]} {
  const lines: string[] = []
  return Object.assign(createLogger(level, (line) => lines.push(line.trimEnd())), {lines})
}

export const silentLogger: Logger = createLogger('error', () => {})
