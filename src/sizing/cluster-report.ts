/** plan's "Scale-out" section (text) and its --explain rows: the topology of cluster.ts. */
import chalk from 'chalk'
import {formatBytes as b, formatInt as n, table, wrap} from '../cli/render.js'
import {CPU_PLAN_SHARE} from './runtime.js'
import {CLUSTER_BYTES_PER_CLIENT, CROSS_HOP, JS_BYTES_PER_MESSAGE, JS_STORE_HEADROOM, NATS_MICROS_PER_MESSAGE, type Topology} from './cluster.js'

const dim = chalk.dim
const duration = (s: number) => (s < 120 ? `${n(s)} s` : s < 7_200 ? `${n(Math.round(s / 60))} min` : `${n(Math.round(s / 360) / 10)} h`)

/** An --explain row (explain.ts's Explanation, which imports this module). */
interface Row {figure: string; value: string; formula: string; source: string}

export function renderTopology(t: Topology, width: number): string[] {
  const c = t.cpu
  if (t.processes === 1) {
    return ['', chalk.bold.cyan('Scale-out'), table([['broker processes', '1 (one process, no NATS)']], {indent: 2, maxWidth: width}),
      dim(wrap('a message rate beyond one core takes workers (start --workers) or nodes, joined through NATS (docs/scale-out.md)', width, '  '))]
  }
  const rows: string[][] = [
    ['broker processes', `${n(t.nodes)} node${t.nodes > 1 ? 's' : ''} × ${n(t.workersPerNode)} worker${t.workersPerNode > 1 ? 's' : ''} = ${n(t.processes)}`],
    ['start on each node', t.workersPerNode > 1 ? `--workers ${t.workersPerNode}` : dim('one process (no --workers)')],
    ['cores each node', n(t.coresPerNode)],
    ['RAM each node', `${n(t.ramGiBPerNode)} GiB`],
    ['each worker', `${n(t.worker.liveConnections)} connections, ${b(t.worker.memoryBytes)}, heap limit ${n(t.worker.maxOldSpaceMb)} MB`],
  ]
  rows.push(['CPU per message', `${c.sameMicros} µs same process, ${c.crossMicros} µs across (${Math.round(c.crossShare * 100)} % cross)`])
  if (c.percentOfCorePerWorker !== null) rows.push(['each worker at the workload', `${c.percentOfCorePerWorker} % of one core`])
  const s = t.nats
  if (s) {
    rows.push(['NATS servers', s.placement === 'local' ? '1, on the node (start --workers starts it)' : `${s.servers}, a NATS cluster on their own hosts`])
    rows.push(['NATS cores each', n(s.coresPerServer)])
    if (s.messagesPerSecond !== null) rows.push(['messages through NATS', `${n(s.messagesPerSecond)}/s${s.jetStreamPublishesPerSecond ? `, ${n(s.jetStreamPublishesPerSecond)}/s of them JetStream` : ''}`])
    rows.push(['JetStream replicas', n(s.replicas)])
    rows.push(['JetStream store each', `${b(s.jetStream.storeBytesPerServer)} (retained ${b(s.jetStream.retainedBytes)} + session copies up to ${b(s.jetStream.durableBytes)})`])
    if (s.jetStream.durableSecondsForOneDown !== null) rows.push(['copies for a process down', `fill the ${b(s.jetStream.durableBytes)} bound in ${duration(s.jetStream.durableSecondsForOneDown)}`])
    rows.push(['max_payload', b(s.maxPayloadBytes)])
  }
  const out = ['', chalk.bold.cyan('Scale-out'), table(rows, {indent: 2, maxWidth: width})]
  if (s) {
    const how = s.placement === 'local'
      ? `mqttctl start --workers ${t.workersPerNode} runs the workers and the local nats-server`
      : `mqttctl build --nodes ${t.nodes}${t.workersPerNode > 1 ? ` --workers ${t.workersPerNode}` : ''} writes each node's configuration, its unit and the NATS servers' nats-server.conf`
    out.push(dim(wrap(`${how} (docs/scale-out.md)`, width, '  ')))
  }
  return out
}

/** --explain rows for the topology (figures named as --json names them). */
export function explainTopology(t: Topology): Row[] {
  const rows: Row[] = []
  const add = (figure: string, value: string, formula: string, source: string) => rows.push({figure, value, formula, source})
  const c = t.cpu
  const perf = 'docs/scale-out.md "Performance" (bench/probe/cluster.ts)'
  add('topology.cpu.crossMicros', `${c.crossMicros} µs`, `${c.sameMicros} µs (in + out on one process) / perCoreRatio ${CROSS_HOP.perCoreRatio}: the publishing and the receiving process together`,
    `${perf}: perCoreRatio = same-node CPU per message / (publishing + receiving side across nodes), measured 0.52 and 0.58; the lower is used`)
  add('topology.cpu.crossShare', String(c.crossShare), `(processes ${n(t.processes)} − 1) / ${n(t.processes)}`, 'assumption: publishers and subscribers placed at random over the processes')
  add('topology.workersPerNode', n(t.workersPerNode), c.percentOfCorePerWorker === null
    ? 'no --msg-rate: one process per node'
    : `fewest workers with msg-rate × (${c.averageMicros} µs average) / processes ≤ ${Math.round(CPU_PLAN_SHARE * 100)} % of a core: ${c.percentOfCorePerWorker} % each`,
    'ours: each worker is one Node.js process on one core (start --workers); more processes means more messages cross NATS')
  add('topology.worker.memoryBytes', b(t.worker.memoryBytes), `the runtime memory for ${n(t.worker.liveConnections)} connections${t.processes > 1 ? ` + ${n(t.worker.liveConnections)} × ${n(CLUSTER_BYTES_PER_CLIENT)} B take-over subscription per client` : ''}`,
    'runtime profile (as runtime.memory); the per-client cost: docs/scale-out.md "Limits"')
  add('topology.ramGiBPerNode', `${t.ramGiBPerNode} GiB`, `${t.workersPerNode} × (heap limit ${n(t.worker.maxOldSpaceMb)} MB + idle broker) + 1 GiB for the OS, whole GiB`, 'as runtime.heap.ramGiB, per worker')
  const s = t.nats
  if (s) {
    add('topology.nats.servers', n(s.servers), s.placement === 'local' ? 'one node: the nats-server start --workers runs on 127.0.0.1' : 'several nodes: a NATS cluster of three (one may die; JetStream replicas 3 keep a quorum)', 'docs/scale-out.md "Production NATS: three servers"')
    add('topology.nats.coresPerServer', n(s.coresPerServer), `messages through NATS × (at most 2 servers each) / ${s.servers} × ${NATS_MICROS_PER_MESSAGE} µs at ${Math.round(CPU_PLAN_SHARE * 100)} % of a core, at least 1`, `${perf}: nats-server CPU per message`)
    add('topology.nats.jetStream.storeBytesPerServer', b(s.jetStream.storeBytesPerServer),
      `(retained ${b(s.jetStream.retainedBytes)} + session copies ${b(s.jetStream.durableBytes)}) × replicas ${s.replicas} / ${s.servers} servers × ${JS_STORE_HEADROOM}, whole GiB; each message its payload + ${JS_BYTES_PER_MESSAGE} B`,
      'the retained stream keeps one message per topic; the persistent sessions\' copies stream is bounded to 1 GiB (src/broker/cluster/durable.ts); 146 B per message measured with a 41-byte subject')
    if (s.jetStream.durableSecondsForOneDown !== null) add('topology.nats.jetStream.durableSecondsForOneDown', duration(s.jetStream.durableSecondsForOneDown), '1 GiB / (msg-rate / processes × (payload + 200 B))', 'assumption: at QoS 1/2 every session is persistent (the most JetStream holds); beyond it new copies are dropped and counted')
  }
  return rows
}
