/** A Plan as text for a person: headed, aligned tables (chalk colour only when the terminal has it). */
import chalk from 'chalk'
import {formatBytes as b, formatInt as n, outputWidth, table, wrap} from '../cli/render.js'
import type {Explanation} from './explain.js'
import {bytesRange, formatMicros} from './format.js'
import type {Plan} from './index.js'

const head = (s: string) => chalk.bold.cyan(s)
const dim = chalk.dim
const range = (min: number, max: number | null, f: (x: number) => string, unit = '') =>
  max === null ? `${f(min)}+${unit}` : min === max ? `${f(min)}${unit}` : `${f(min)} – ${f(max)}${unit}`

/** Columns the report is laid out in (set by renderPlan / renderExplanations). */
let width = 80

function section(title: string, rows: string[][], align?: ('l' | 'r')[]): string[] {
  return ['', head(title), table(rows, {indent: 2, align, maxWidth: width})]
}

function tierSections(p: Plan, each = ''): string[] {
  const h = p.hardware
  return [
    ...section(`Broker configuration${each}`, [
      ['maxConnections', n(p.broker.maxConnections)],
      ['ioEntries', n(p.broker.ioEntries)],
      ['clientPool', n(p.broker.clientPool)],
      ['forwardBatchSize', n(p.broker.forwardBatchSize)],
      ['logLevel', p.broker.logLevel],
    ], ['l', 'r']),
    ...section(`Hardware${each}`, [
      ['CPU', `${range(h.cores.min, h.cores.max, String)} cores${p.tier === 'large' ? ' (two sockets recommended)' : ''}`],
      ['RAM', `${range(h.ramGiB.min, h.ramGiB.max, String)} GB${p.tier === 'large' ? ' (depends on message-queue size)' : ''}`],
      ['network', h.network],
    ]),
  ]
}

function osSection(p: Plan, each = ''): string[] {
  const o = p.os
  return [
    ...section(`OS limits${each}`, [
      ['open files (ulimit -n, LimitNOFILE)', n(o.openFiles)],
      ['processes (nproc, LimitNPROC)', n(o.maxProcesses)],
      ['net.core.somaxconn', n(o.somaxconn)],
      ['net.ipv4.tcp_max_syn_backlog', n(o.synBacklog)],
      ['net.core.netdev_max_backlog', n(o.netdevBacklog)],
    ], ['l', 'r']),
  ]
}

function memorySection(p: Plan): string[] {
  const m = p.memory!
  const w = p.workload
  const pool = m.pool.idle === 0 ? `${n(m.pool.objects)} pre-warmed, all in use by live connections` : `${n(m.pool.objects)} pre-warmed, ${n(m.pool.idle)} idle × ${b(m.bytesPerConnection)}`
  const queue = m.queue.source === 'workload'
    ? `${n(w.msgRate!)} msg/s × (${n(w.payloadBytes)} B payload + overhead) × wait at QoS ${w.qos}`
    : `guide's ${p.tier} tier figure, ${bytesRange(m.queue.range.min, m.queue.range.max)}${m.queue.workloadBytes === null ? '' : ` (--msg-rate needs only ${b(m.queue.workloadBytes)})`}`
  const rows = [
    ['live connections', b(m.connectionsBytes), dim(`${n(m.liveConnections)} × ${b(m.bytesPerConnection)}`)],
    ['client pool', b(m.pool.idleBytes), dim(pool)],
  ]
  if (m.subscriptionsBytes > 0) rows.push(['subscriptions', b(m.subscriptionsBytes), dim(`${n(w.live)} × ${w.subsPerDevice - 1} beyond the first`)])
  if (m.retainedBytes > 0) rows.push(['retained messages', b(m.retainedBytes), dim(`${n(w.retained)} × (${n(w.payloadBytes)} B + overhead)`)])
  rows.push(
    ['message queues', b(m.queue.bytes), dim(queue)],
    ['fixed overhead', b(m.fixedBytes), dim('grows with maxConnections; includes sockets')],
    [chalk.bold('total'), chalk.bold(b(m.totalBytes)), m.totalRange.min === m.totalRange.max ? dim('under load') : `under load, range ${bytesRange(m.totalRange.min, m.totalRange.max)}`],
    ['idle', b(m.idleBytes), dim('no messages queued')],
    [
      chalk.bold('in practice'),
      chalk.bold(bytesRange(m.practiceRange.min, m.practiceRange.max)),
      dim(`guide, ${p.tier} at full size: ~${bytesRange(m.guide.computed.min, m.guide.computed.max)} computed, ${bytesRange(m.guide.observed.min, m.guide.observed.max)} observed`),
    ],
  )
  return section('Memory', rows, ['l', 'r', 'l'])
}

function measuredSection(p: Plan): string[] {
  const x = p.measured!
  const m = p.memory!
  const br = p.broadcast!
  const rows = [
    [dim(''), dim('guide'), dim('measured')],
    ['per connection', b(m.bytesPerConnection), b(x.profile.bytesPerConnection)],
    ['connections + pool', b(m.connectionsBytes + m.pool.idleBytes), b(x.connectionsBytes)],
    ['subscriptions', b(m.subscriptionsBytes), b(x.subscriptionsBytes)],
    ['memory total', b(m.totalBytes), b(x.totalBytes)],
    ['broadcast', formatMicros(br.micros.estimate), formatMicros(x.broadcastMicros)],
    ['CPU at --msg-rate', 'not stated', x.cpuPercentOfCore === null ? 'give --msg-rate' : `${x.cpuPercentOfCore} % of a core`],
  ]
  const title = `Measured profile ${dim(`(${x.path}, ${x.profile.host}, ${x.profile.measuredAt}, broker ${x.profile.brokerVersion})`)}`
  return section(title, rows, ['l', 'r', 'r'])
}

export function renderPlan(p: Plan, columns = outputWidth()): string {
  width = columns
  const w = p.workload
  const out: string[] = []
  const live = w.live === w.devices ? 'all live' : `${n(w.live)} live`
  out.push(chalk.bold(`Plan for ${n(p.devices)} devices (${live})`))
  if (p.scaleOut) {
    out.push('', `${head('Tier')}  ${chalk.bold.yellow(`${p.nodes} × large`)} ${dim(`(${p.nodes + 1} with a spare)`)}`, wrap(p.reason, width, '  '))
    const each = ` ${dim('(each node)')}`
    out.push(...tierSections(p, each), ...osSection(p, each))
  } else {
    out.push('', `${head('Tier')}  ${chalk.bold.green(p.tier)}`, wrap(p.reason, width, '  '))
    out.push(...tierSections(p), ...memorySection(p))
    const c = p.cpu!
    out.push(...section('CPU', [
      ['idle', `< ${c.idlePercentMax} %`, dim(`${c.idleWakeupsPerMinute} wake-ups a minute, no polling`)],
      ['full load', range(c.fullLoadPercent.min, c.fullLoadPercent.max, String, ' %'), dim(`guide, ${p.tier} tier`)],
      [`log level ${p.broker.logLevel}`, `${c.logCostPercent.min === 0 ? `< ${c.logCostPercent.max}` : range(c.logCostPercent.min, c.logCostPercent.max, String)} %`, dim('throughput cost')],
    ]))
    out.push(...osSection(p))
    const br = p.broadcast!
    out.push(...section('Broadcast one message to every live device', [[
      `${n(br.subscribers)} subscribers, ${n(br.batches)} batches of ${n(br.batchSize)}`,
      `~${formatMicros(br.micros.estimate)}`,
      dim(br.micros.min === br.micros.max ? 'from guide FAQ Q3' : `${formatMicros(br.micros.min)} – ${formatMicros(br.micros.max)}, from guide FAQ Q3`),
    ]]))
    if (p.measured) out.push(...measuredSection(p))
  }
  if (p.notes.length > 0) out.push('', head('Notes'), ...p.notes.map((s) => wrap(s, width, `  ${chalk.yellow('!')} `, '    ')))
  out.push('', head('Next'), ...p.next.map((s) => `  ${s}`))
  return out.join('\n')
}

export function renderExplanations(rows: Explanation[], columns = outputWidth()): string {
  const out = ['', head('Where each figure comes from')]
  for (const r of rows) {
    out.push(wrap(`${chalk.bold(r.figure)} = ${r.value}`, columns, '  ', '      '), wrap(r.formula, columns, '      '), dim(wrap(r.source, columns, '      ')))
  }
  return out.join('\n')
}
