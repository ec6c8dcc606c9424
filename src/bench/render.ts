/** Human output of `mqttctl bench`: the live progress line and the end-of-run summary. */
import {formatBytes, formatInt, outputWidth, table, wrap} from '../cli/render.js'
import type {Percentiles} from './histogram.js'
import type {BenchResult} from './index.js'
import type {Progress} from './runner.js'

/** 1234 -> "1,234", 123456 -> "123.5k", 123456789 -> "123.5M": progress must fit one row. */
const short = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e5 ? `${(n / 1e3).toFixed(1)}k` : formatInt(n))

/** A progress printer: remembers the previous sample to show rates. */
export function progressLine(): (p: Progress) => string {
  let last: {t: number; sent: number; received: number} | undefined
  const t0 = performance.now()
  return (p) => {
    const t = performance.now()
    const dt = last ? (t - last.t) / 1000 : 0
    const rate = (now: number, before: number) => (dt > 0 ? short((now - before) / dt) : '0')
    const line =
      `${((t - t0) / 1000).toFixed(1).padStart(5)}s ${p.phase.padEnd(10)} conn ${short(p.connected)}` +
      (p.connectFailed ? ` (${short(p.connectFailed)} failed)` : '') +
      `  sent ${short(p.sent)} (${rate(p.sent, last?.sent ?? 0)}/s)` +
      `  recv ${short(p.received)} (${rate(p.received, last?.received ?? 0)}/s)  err ${formatInt(p.errors)}`
    if (!last || t - last.t >= 900) last = {t, sent: p.sent, received: p.received}
    return line
  }
}

const ms = (v: number) => (v >= 100 ? `${Math.round(v)} ms` : `${Number(v.toPrecision(3))} ms`)
const pct = (p: Percentiles | null) => (p ? `p50 ${ms(p.p50)}  p95 ${ms(p.p95)}  p99 ${ms(p.p99)}  max ${ms(p.max)}  (${formatInt(p.count)} samples)` : '–')

const plural = (n: number, word: string) => `${formatInt(n)} ${word}${n === 1 ? '' : 's'}`

/** The end-of-run summary, `width` columns wide (the terminal's, else 80). */
export function summary(r: BenchResult, width = outputWidth()): string {
  const who =
    r.mode === 'conn'
      ? plural(r.clients, 'connection')
      : r.mode === 'fanout'
        ? `1 publisher → ${plural(r.subscribers, 'subscriber')}`
        : r.mode === 'sub'
          ? plural(r.subscribers, 'subscriber')
          : `${plural(r.clients, 'publisher')}, ${plural(r.subscribers, 'subscriber')}`
  const head = `bench ${r.mode} → ${r.target}  (${who}, MQTT ${r.protocol === 5 ? '5' : r.protocol === 4 ? '3.1.1' : '3.1'}, QoS ${r.qos}, ${r.size} B, ${r.workers} process${r.workers > 1 ? 'es' : ''})`
  const rows: string[][] = [
    ['connections', `${formatInt(r.connect.connected)} of ${formatInt(r.connect.attempted)} in ${r.connect.seconds} s (${formatInt(r.connect.perSecond)}/s), ${formatInt(r.connect.failed)} failed`],
  ]
  if (r.mode !== 'conn') {
    if (r.mode !== 'sub') rows.push(['sent', `${formatInt(r.messages.sent)} msgs  (${formatInt(r.rates.sentPerSecond)} msg/s)`])
    const lost = r.messages.expected === null ? '' : `, ${formatInt(r.messages.lost)} lost of ${formatInt(r.messages.expected)} expected`
    rows.push(['received', `${formatInt(r.messages.received)} msgs  (${formatInt(r.rates.receivedPerSecond)} msg/s)${lost}`])
    if (r.qos > 0) rows.push(['acknowledged', formatInt(r.messages.acked)])
    rows.push(['rates over', `${r.rates.measuredSeconds} s`])
  }
  if (r.mode !== 'fanout' && r.mode !== 'conn') rows.push(['latency', pct(r.latencyMs)])
  if (r.broadcasts) {
    rows.push(['broadcasts', `${formatInt(r.broadcasts.sent)} sent, ${formatInt(r.broadcasts.complete)} reached every subscriber, ${formatInt(r.broadcasts.incomplete)} did not`])
    rows.push(['to last delivery', pct(r.broadcasts.completionMs)])
  }
  if (r.probeMs) rows.push(['probe (unrelated)', pct(r.probeMs)])
  const errs = Object.entries(r.errors.messages)
    .map(([m, n]) => `${m} ×${n}`)
    .join('; ')
  rows.push(['errors', r.errors.count === 0 ? '0' : `${formatInt(r.errors.count)}: ${errs}`])
  rows.push(['generator CPU', `${r.generator.cpuPercent} % of one core over ${r.generator.wallSeconds} s (${r.generator.processes} process${r.generator.processes > 1 ? 'es' : ''})`])
  if (r.broker)
    rows.push([
      'broker',
      `pid ${r.broker.pid}: CPU ${r.broker.cpuPercent ?? '?'} %, RSS ${r.broker.rssBytes === null ? '?' : formatBytes(r.broker.rssBytes)}`,
    ])
  return `${wrap(head, width, '', '  ')}\n${table(rows, {indent: 2, maxWidth: width})}`
}
