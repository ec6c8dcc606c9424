/**
 * The monitor's dashboard: history + warnings -> text lines (pure; the terminal code only places
 * them). Fits 80 columns; colour is optional so tests compare plain text against a golden file.
 */
import {Chalk, type ChalkInstance} from 'chalk'
import {formatBytes, formatInt, visibleWidth} from '../cli/render.js'
import {formatDuration} from '../broker/stats/format.js'
import type {Point, RateName} from './history.js'
import type {Figures} from './snapshot.js'
import {heapLimitOf, THRESHOLDS, type Warning} from './warnings.js'
import {clusterLines} from './cluster.js'
import {type NodeRow, nodeLines} from './cluster-nodes.js'

export interface DashboardInput {
  url: string
  points: readonly Point[]
  warnings: readonly Warning[]
  /** Memory the plan expects for the live connections, bytes. */
  plannedMemory?: number
  /** V8 heap limit when the broker publishes none (monitor --heap-limit), bytes. */
  heapLimitBytes?: number
  width?: number
  color?: boolean
  /** Shown in the footer. */
  footer?: string
  /** monitor --node: a row per node of the cluster (this one first). */
  nodes?: readonly NodeRow[]
}

const SPARKS = '▁▂▃▄▅▆▇█'
const LABEL = 13

/** The last `width` values as block characters, scaled from 0 (rates) or from the minimum (levels). */
export function sparkline(values: readonly (number | null)[], width: number, fromZero = true): string {
  const tail = values.slice(-width)
  const known = tail.filter((v): v is number => v !== null)
  const max = Math.max(0, ...known)
  const min = fromZero || known.length === 0 ? 0 : Math.min(...known)
  const chars = tail.map((v) => {
    if (v === null) return ' '
    if (max === min) return v === 0 ? SPARKS[0] : SPARKS[SPARKS.length - 1]
    return SPARKS[Math.min(SPARKS.length - 1, Math.round(((v - min) / (max - min)) * (SPARKS.length - 1)))]
  })
  return ' '.repeat(width - chars.length) + chars.join('')
}

export function bar(ratio: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(ratio * width)))
  return '█'.repeat(filled) + '░'.repeat(width - filled)
}

const na = 'n/a'
const int = (n: number | undefined) => (n === undefined ? na : formatInt(n))
const bytes = (n: number | undefined) => (n === undefined ? na : formatBytes(n))
const pct = (r: number | undefined) => (r === undefined ? na : `${(r * 100).toFixed(1)} %`)
export function perSecond(v: number | null | undefined, unit: 'msg' | 'bytes'): string {
  if (v === null || v === undefined) return `${na}/s`
  if (unit === 'bytes') return `${formatBytes(v)}/s`
  return `${v < 100 ? v.toFixed(1) : formatInt(v)}/s`
}

function fit(line: string, width: number): string {
  if (visibleWidth(line) <= width) return line
  // Only plain lines can be too long in practice (a long URL or version); cut them.
  return line.slice(0, Math.max(0, width - 1)) + '…'
}

export function renderDashboard(input: DashboardInput): string[] {
  const width = input.width ?? 80
  const c: ChalkInstance = new Chalk({level: input.color ? 1 : 0})
  const point = input.points.at(-1)
  const f: Figures = point?.snapshot.figures ?? {}
  const rates = point?.rates
  const label = (s: string) => c.bold(s.padEnd(LABEL))
  const cont = ' '.repeat(LABEL)
  const flagged = new Set(input.warnings.map((w) => w.figure))
  const hot = (figure: Warning['figure'], s: string) => (flagged.has(figure) ? c.red.bold(s) : s)

  const lines: string[] = []
  const up = f.uptimeSeconds === undefined ? '' : ` · up ${formatDuration(f.uptimeSeconds)}`
  lines.push(fit(`${c.cyan.bold('mqttctl monitor')} · ${input.url} · ${point?.snapshot.version ?? 'unknown broker'}${up}`, width))
  lines.push(c.dim('─'.repeat(width)))

  // Connections against the limit
  const ratio = f.connectionsLive !== undefined && f.connectionsMax ? f.connectionsLive / f.connectionsMax : undefined
  const conns = `${int(f.connectionsLive)} / ${f.connectionsMax === undefined ? na : formatInt(f.connectionsMax)}`
  const head = `${label('Connections')}${hot('connections', conns)}  ${pct(ratio).padStart(7)}  `
  const barWidth = Math.max(10, width - visibleWidth(head) - 2)
  const barColour = ratio === undefined ? c.dim : ratio > THRESHOLDS.connectionsRatio ? c.red : ratio > 0.6 ? c.yellow : c.green
  lines.push(`${head}[${barColour(bar(ratio ?? 0, barWidth))}]`)
  lines.push(`${cont}peak ${int(f.connectionsPeak)}   total ${int(f.connectionsTotal)}   refused ${int(f.connectionsRefused)}   connects ${perSecond(rates?.connects, 'msg')}`)
  lines.push(`${label('Sessions')}orphan ${hot('orphans', int(f.sessionsOrphan))}   total ${int(f.sessionsTotal)}   subscriptions ${int(f.subscriptions)}`)

  // Messages and bytes
  lines.push(`${label('Messages')}${`in ${int(f.messagesReceived)}  ${perSecond(rates?.messagesIn, 'msg')}`.padEnd(30)}out ${int(f.messagesSent)}  ${perSecond(rates?.messagesOut, 'msg')}`)
  const qos = (a?: number, b?: number, c2?: number) => (a === undefined ? na : `${int(a)}/${int(b)}/${int(c2)}`)
  lines.push(`${cont}QoS 0/1/2 in ${qos(f.receivedQos0, f.receivedQos1, f.receivedQos2)}  out ${qos(f.sentQos0, f.sentQos1, f.sentQos2)}`)
  const dropped = f.messagesDropped === undefined ? na : formatInt(f.messagesDropped + (f.messagesExpired ?? 0))
  lines.push(`${cont}dropped ${hot('dropped', dropped)}   queued ${int(f.messagesQueued)}   retained ${int(f.retainedMessages)}   no subscriber ${int(f.messagesNoSubscriber)}`)
  lines.push(`${label('Bytes')}${`in ${bytes(f.bytesReceived)}  ${perSecond(rates?.bytesIn, 'bytes')}`.padEnd(30)}out ${bytes(f.bytesSent)}  ${perSecond(rates?.bytesOut, 'bytes')}`)

  const lookups = f.cacheHits !== undefined && f.cacheMisses !== undefined ? `   (${int(f.cacheHits)} hits, ${int(f.cacheMisses)} misses)` : ''
  // No lookups yet: a ratio of 0 / 0 is no figure (the broker reports it as 100 %).
  const none = f.cacheHits === 0 && f.cacheMisses === 0
  lines.push(`${label('Cache HIT')}${none ? `${na}   (no lookups yet)` : `${hot('cache', pct(f.cacheHitRatio))}${lookups}`}`)
  const rss = f.rssBytes ?? f.heapUsedBytes
  const plan = input.plannedMemory === undefined ? '' : `   plan ${formatBytes(input.plannedMemory)}`
  const cpu = f.cpuPercent === undefined ? na : `${f.cpuPercent.toFixed(1)} %`
  const heapLimit = heapLimitOf(f, input)
  const ofLimit = heapLimit === undefined ? '' : ` of ${formatBytes(heapLimit)}`
  lines.push(`${label('Process')}RSS ${hot('memory', bytes(f.rssBytes))}   heap ${hot('heap', bytes(f.heapUsedBytes))}${ofLimit}   CPU ${cpu}${rss === undefined ? '' : plan}`)

  const before = input.points.at(-2)
  const seconds = point && before ? (point.snapshot.time - before.snapshot.time) / 1000 : 0
  lines.push(...clusterLines(point?.snapshot.cluster, before?.snapshot.cluster, seconds, c, LABEL).map((l) => fit(l, width)))
  if (input.nodes) lines.push(...nodeLines(input.nodes, c, width))

  // History
  lines.push('')
  const statW = 22
  const sparkW = Math.max(10, width - LABEL - statW - 1)
  const n = input.points.length
  lines.push(`${c.bold('History'.padEnd(LABEL))}${c.dim(`last ${n} update${n === 1 ? '' : 's'}`.padEnd(sparkW + 1))}${c.dim('now'.padStart(10))}${c.dim('max'.padStart(12))}`)
  const series: Array<[string, (p: Point) => number | null, 'msg' | 'bytes' | 'count']> = [
    ['msgs in/s', (p) => p.rates.messagesIn, 'msg'],
    ['msgs out/s', (p) => p.rates.messagesOut, 'msg'],
    ['bytes in/s', (p) => p.rates.bytesIn, 'bytes'],
    ['bytes out/s', (p) => p.rates.bytesOut, 'bytes'],
    ['connections', (p) => p.snapshot.figures.connectionsLive ?? null, 'count'],
  ]
  for (const [name, get, unit] of series) {
    const values = input.points.map(get)
    const now = values.at(-1) ?? null
    const max = values.reduce<number | null>((m, v) => (v === null ? m : Math.max(m ?? 0, v)), null)
    const show = (v: number | null) => (unit === 'count' ? (v === null ? na : formatInt(v)) : perSecond(v, unit).replace(/\/s$/, ''))
    lines.push(`${name.padEnd(LABEL)}${c.cyan(sparkline(values, sparkW, unit !== 'count'))} ${show(now).padStart(10)}${show(max).padStart(12)}`)
  }

  // Warnings
  lines.push('')
  if (input.warnings.length === 0) lines.push(`${label('Warnings')}${c.green('none')}`)
  else {
    lines.push(c.bold('Warnings'))
    for (const w of input.warnings) lines.push(fit(c.yellow.bold(`  ! ${w.message}`), width))
  }
  lines.push('')
  const updated = point ? new Date(point.snapshot.time).toISOString().replace(/\.\d{3}Z$/, 'Z') : 'waiting for $SYS'
  lines.push(fit(c.dim(input.footer ?? `q or Ctrl-C to quit · updated ${updated}`), width))
  return lines
}

export type {RateName}
