/** A Plan as text for a person: headed, aligned tables (chalk colour only when the terminal has it). */
import chalk from 'chalk'
import {formatBytes as b, formatInt as n, outputWidth, table, wrap} from '../cli/render.js'
import type {Explanation} from './explain.js'
import {bytesRange, formatMicros} from './format.js'
import type {Plan} from './index.js'
import {HEAP_HEADROOM} from './runtime.js'
import {renderTopology} from './cluster-report.js'

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
    ...section(`Hardware${each} ${dim('(guide)')}`, [
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

function memorySection(p: Plan, each: string): string[] {
  const m = p.memory
  const r = p.runtime.memory
  const rows = [
    [dim(''), dim('guide'), dim('runtime')],
    ['live connections', b(m.connectionsBytes), b(Math.max(r.connections.idleBytes, r.connections.stormBytes))],
    ['client pool (idle objects)', b(m.pool.idleBytes), dim('none')],
    ['subscriptions', b(m.subscriptionsBytes), b(Math.max(r.subscriptions.idleBytes, r.subscriptions.stormBytes))],
    ['retained messages', b(m.retainedBytes), b(r.retained.bytes)],
    ['message queues', b(m.queue.bytes), r.queue.source === 'none' ? dim('give --msg-rate') : b(r.queue.bytes)],
    ['fixed / idle broker', b(m.fixedBytes), b(r.baselineBytes)],
    [chalk.bold('total'), chalk.bold(b(m.totalBytes)), chalk.bold(b(r.totalBytes))],
    ['idle (no messages queued)', b(m.idleBytes), b(r.idleBytes)],
    ['in practice', bytesRange(m.practiceRange.min, m.practiceRange.max), dim('as above')],
  ]
  return [
    ...section(`Memory${each}`, rows, ['l', 'r', 'r']),
    dim(wrap(`guide: ${n(m.liveConnections)} × ${b(m.bytesPerConnection)} per connection, the ${p.tier} tier's queues and fixed overhead; runtime: ${n(r.connections.count)} × ${b(Math.max(r.connections.bytesEachIdle, r.connections.bytesEachStorm))} per connection${r.subscriptions.count > 0 ? ` + ${n(r.subscriptions.count)} × ${b(Math.max(r.subscriptions.bytesEachIdle, r.subscriptions.bytesEachStorm))} per subscription` : ''} + the idle broker, from the runtime profile (--explain for each formula)`, width, '  ')),
  ]
}

function cpuSection(p: Plan, each: string): string[] {
  const c = p.cpu
  const rc = p.runtime.cpu
  const h = p.hardware
  const load = rc.percentOfCore === null ? dim('give --msg-rate') : `${rc.percentOfCore} % of one core`
  return section(`CPU${each}`, [
    [dim(''), dim('guide'), dim('runtime')],
    ['cores', `${range(h.cores.min, h.cores.max, String)}`, p.topology.processes > 1 ? `${p.topology.coresPerNode} (${p.topology.workersPerNode} workers)` : '1 (one process)'],
    ['at the workload', `${range(c.fullLoadPercent.min, c.fullLoadPercent.max, String, ' %')} at full load`, load],
    ['idle', `< ${c.idlePercentMax} %`, `< ${c.idlePercentMax} %`],
    ['one process carries', dim('not stated'), `${n(rc.maxDeliveriesPerSecond)} msg/s`],
    ['reconnect storm', dim('not stated'), `${rc.reconnectStormSeconds} s of CPU`],
  ], ['l', 'r', 'r'])
}

function runtimeSection(p: Plan, each: string): string[] {
  const r = p.runtime
  const pr = r.profile
  const tls = r.tlsBytesPerConnection === null ? 'not measured' : `+${b(r.tlsBytesPerConnection)} per connection`
  return [
    ...section(`Runtime settings${each}`, [
      ['V8 heap limit', `${n(r.heap.maxOldSpaceMb)} MB`, dim(`runtime.maxOldSpaceMb: ${HEAP_HEADROOM} × the total`)],
      ['semi-space', `${r.heap.maxSemiSpaceMb} MB`, dim('runtime.maxSemiSpaceMb')],
      ['RAM', `${r.heap.ramGiB} GiB`, dim('heap limit + idle broker + 1 GiB for the OS')],
      ['TLS', tls, dim('if devices connect over TLS')],
      ['WebSocket', r.webSocketBytesPerConnection === null ? 'not measured' : `+${b(r.webSocketBytesPerConnection)} per connection`, dim('over WebSocket')],
    ], ['l', 'r', 'l']),
    dim(wrap(`node ${r.heap.nodeFlags.join(' ')}: plan --write puts the settings in the configuration; start, the build launcher and the systemd unit pass them. Runtime profile: ${pr.kind === 'host' ? 'this host\'s' : 'shipped'}, measured ${pr.measuredAt.slice(0, 10)} on ${pr.host} (${pr.cores} cores), Node.js ${pr.node}.`, width, '  ')),
  ]
}

function broadcastSection(p: Plan, each: string): string[] {
  const br = p.broadcast
  return section(`Broadcast one message to every live device${each}`, [
    [dim(''), dim('guide'), dim('runtime')],
    [`${n(br.subscribers)} subscribers`, `~${formatMicros(br.micros.estimate)}`, `~${formatMicros(p.runtime.broadcast.micros)}`],
  ], ['l', 'r', 'r'])
}

function clusterSection(p: Plan): string[] {
  const c = p.cluster!
  return section(`Cluster (${c.nodes} nodes, ${c.nodesWithSpare} with a spare)`, [
    [dim(''), dim('guide'), dim('runtime')],
    ['devices per node', n(c.perNode.devices), n(c.perNode.devices)],
    ['memory, all nodes', b(c.guide.memoryBytes), b(c.runtime.memoryBytes)],
    ['RAM, all nodes', dim(`${n(c.nodes * p.hardware.ramGiB.min)}+ GB`), `${n(c.runtime.ramGiB)} GiB`],
    ['cores, all nodes', `${n(c.guide.cores)}+`, `${n(c.runtime.coresUsable)} usable`],
  ], ['l', 'r', 'r'])
}

export function renderPlan(p: Plan, columns = outputWidth()): string {
  width = columns
  const w = p.workload
  const out: string[] = []
  const live = w.live === w.devices ? 'all live' : `${n(w.live)} live`
  out.push(chalk.bold(`Plan for ${n(p.devices)} devices (${live})`))
  const each = p.cluster ? ` ${dim('(each node)')}` : ''
  if (p.scaleOut) {
    out.push('', `${head('Tier')}  ${chalk.bold.yellow(`${p.nodes} × large`)} ${dim(`(${p.nodes + 1} with a spare)`)}`, wrap(p.reason, width, '  '))
  } else {
    out.push('', `${head('Tier')}  ${chalk.bold.green(p.tier)}`, wrap(p.reason, width, '  '))
  }
  out.push(...tierSections(p, each), ...memorySection(p, each), ...cpuSection(p, each), ...runtimeSection(p, each), ...osSection(p, each), ...broadcastSection(p, each))
  if (p.cluster) out.push(...clusterSection(p))
  out.push(...renderTopology(p.topology, width))
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
