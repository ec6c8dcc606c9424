/**
 * `plan --explain`: where each figure of a Plan comes from (the table row, the formula, the guide
 * section), and which reading of the guide's contradictions the model takes. Pure: Plan in, rows out.
 */
import {formatBytes, formatInt} from '../cli/render.js'
import {broadcastFit, fixedBytes, practiceFactors} from './capacity.js'
import {bytesRange} from './format.js'
import {ASSUMED, GUIDE} from './guide.js'
import type {Plan} from './index.js'
import {CPU_PLAN_SHARE, HEAP_HEADROOM, HEAP_STEP_MB, MIN_HEAP_MB, OS_RESERVE_BYTES} from './runtime.js'
import {TIERS, type Tier, tierByName} from './tiers.js'
import {explainTopology} from './cluster-report.js'

export interface Explanation {
  /** The figure, as --json names it (e.g. "memory.fixedBytes"). */
  figure: string
  /** Its value as printed. */
  value: string
  /** How it is computed, with the numbers filled in. */
  formula: string
  /** Guide section, SIZING.md section, or "assumption" for our own figures. */
  source: string
}

const OS_SOURCE = {
  small: 'ours: the guide says no tuning is needed (§4.1), but a default `ulimit -n` of 1,024 cannot hold 10,000 sockets',
  medium: 'guide §4.2 (ulimit -n 200000, somaxconn and syn backlog 32768); netdev backlog ours',
  large: 'guide §4.3 and §3.2 (ulimit -n 2000000, LimitNPROC 256000, somaxconn, syn and netdev backlog 65535)',
}

const b = formatBytes
const n = formatInt
const pct = (r: {min: number; max: number | null}) => (r.max === null ? `${r.min}+ %` : r.min === r.max ? `${r.min} %` : `${r.min} – ${r.max} %`)

export function explainPlan(p: Plan): Explanation[] {
  const tier = tierByName(p.tier)
  const rows: Explanation[] = []
  const add = (figure: string, value: string, formula: string, source: string) => rows.push({figure, value, formula, source})
  const row = `tier table, ${p.tier} row`

  add('tier', p.tier, p.reason, 'guide §2.1; boundary rule (SIZING.md §1): a tier takes fleets below its MAX_CONNECTIONS, so exactly 10,000 is medium, 100,000 large and 1,000,000 two large nodes')
  if (p.scaleOut) {
    const s = p.scaleOut
    add('nodes', n(p.nodes), `max(2, ceil(${n(p.devices)} / (maxConnections ${n(p.broker.maxConnections)} × ${Math.round(ASSUMED.headroomWarnShare * 100)} % headroom = ${n(s.nodeCapacity)}))); ${n(s.devicesPerNode)} devices each`,
      'SIZING.md §1: the guide has no tier above 1M. Ours: each node keeps the headroom plan and monitor warn about; nodesWithSpare = nodes + 1 for one node\'s failure')
  }
  const broker = Object.entries(p.broker).map(([k, v]) => `${k} ${typeof v === 'number' ? n(v) : v}`).join(', ')
  add('broker', broker, row, 'guide §2.1 table, §4 (log level §2.2, §4.3)')
  const h = p.hardware
  add('hardware', `${h.cores.min}${h.cores.max ? ` – ${h.cores.max}` : '+'} cores, ${h.ramGiB.min} – ${h.ramGiB.max} GB, ${h.network}`, row, 'guide §4')
  const os = Object.entries(p.os).map(([k, v]) => `${k} ${n(v)}`).join(', ')
  add('os', os, row, OS_SOURCE[p.tier])

  const m = p.memory
  if (m) {
    const w = p.cluster?.perNode ?? p.workload
    add('memory.connectionsBytes', b(m.connectionsBytes), `live ${n(w.live)} × ${b(m.bytesPerConnection)}`,
      'guide §4, §5.1 (11 KB per connection). Reading: only live connections cost memory (§5.1, §5.2, FAQ Q1); §4 multiplies MAX_CONNECTIONS instead')
    add('memory.pool.idleBytes', b(m.pool.idleBytes), `(clientPool ${n(m.pool.objects)} − ${n(m.pool.inUse)} in use) × ${b(m.bytesPerConnection)}`,
      'guide §5.2, FAQ Q1. Reading: the pre-warmed pool is resident, and its objects serve the first live connections (§5.2), so only its idle part is added; §4 adds the whole pool and counts it twice')
    add('memory.subscriptionsBytes', b(m.subscriptionsBytes), `live ${n(w.live)} × (subs per device ${w.subsPerDevice} − 1) × ${ASSUMED.bytesPerExtraSubscription} B`,
      'assumption: the first subscription is in the 11 KB; each further one 250 B')
    add('memory.retainedBytes', b(m.retainedBytes), `retained ${n(w.retained)} × (payload ${n(w.payloadBytes)} B + ${ASSUMED.retainedOverheadBytes} B)`, 'assumption: 200 B per retained topic besides its payload')
    const q = tier.queueBuffers.bytes
    const wait = ASSUMED.queueWaitSeconds[w.qos]
    const workload = m.queue.workloadBytes === null
      ? 'no --msg-rate: the tier figure'
      : `max(tier figure, msg-rate ${n(w.msgRate!)}/s × (payload ${n(w.payloadBytes)} B + ${ASSUMED.messageOverheadBytes} B) × ${wait} s wait at QoS ${w.qos} = ${b(m.queue.workloadBytes)})`
    add('memory.queue.bytes', `${b(m.queue.bytes)} (${bytesRange(m.queue.range.min, m.queue.range.max)})`, `${workload}; tier figure ${bytesRange(q.min, q.max!)}, estimate its middle`,
      `${tier.queueBuffers.source}; wait times (QoS 0/1/2: 0.5/2/4 s) and 100 B per message are assumptions`)
    add('memory.fixedBytes', b(m.fixedBytes), `${b(GUIDE.fixedBytesAtReference)} × maxConnections ${n(p.broker.maxConnections)} / ${n(GUIDE.fixedReferenceConnections)} + ${b(GUIDE.socketBytes)} sockets`,
      'guide §5.1 (fixed ~200 MB for a 1M configuration, sockets ~10 MB), scaled with MAX_CONNECTIONS. Reading: §5.1 over §5.2, whose ~130 MB implies ~20 MB fixed; §5.4 (1.3 GB at 100K live) fits §5.1')
    add('memory.idleBytes', b(m.idleBytes), 'connections + idle pool + subscriptions + retained + fixed (no messages queued)', 'guide §5.4 (idle examples count no queue)')
    add('memory.totalBytes', `${b(m.totalBytes)} (${bytesRange(m.totalRange.min, m.totalRange.max)})`, 'idleBytes + queue', 'guide §4 "总计"')
    const f = practiceFactors(tier)
    add('memory.practiceRange', bytesRange(m.practiceRange.min, m.practiceRange.max),
      `total × ${f.min.toFixed(2)} – ${f.max.toFixed(2)} (observed ${bytesRange(m.guide.observed.min, m.guide.observed.max)} ÷ computed ${bytesRange(m.guide.computed.min, m.guide.computed.max)})`,
      `guide §4, ${p.tier} "实际运行可能" (observed in practice)`)
    add('(guide contradiction)', b(idleExampleBytes()), idleExampleFormula(),
      `SIZING.md §3: §5.1 says ~${b(GUIDE.idleExample.section51Bytes)}, §5.2 ~${b(GUIDE.idleExample.section52Bytes)}; both leave out the pool §5.2 and FAQ Q1 say is allocated. This model counts it`)
  }
  if (p.cpu) {
    add('cpu.idlePercentMax', `< ${p.cpu.idlePercentMax} %`, `${p.cpu.idleWakeupsPerMinute} wake-ups a minute (5 s statistics timer), no polling`, 'guide §5.3, §5.4')
    add('cpu.fullLoadPercent', pct(p.cpu.fullLoadPercent), row, 'guide §5.4')
    add('cpu.logCostPercent', pct(p.cpu.logCostPercent), `log level ${p.broker.logLevel}`, 'guide §2.2')
  }
  if (p.broadcast) {
    const fit = broadcastFit((GUIDE.broadcast.largeBatch.ms.min + GUIDE.broadcast.largeBatch.ms.max) / 2)
    add('broadcast.micros', `${n(p.broadcast.micros.estimate)} µs`,
      `${n(p.broadcast.subscribers)} × ${fit.perDeliveryMicros.toFixed(4)} µs + ${n(p.broadcast.batches)} batches of ${n(p.broadcast.batchSize)} × ${fit.perBatchMicros.toFixed(2)} µs`,
      'guide FAQ Q3 (1M subscribers: 150 ms in batches of 100, 30 – 50 ms in batches of 5,000), fitted as time = deliveries × a + batches × b')
  }
  explainRuntime(p, add)
  rows.push(...explainTopology(p.topology))
  return rows
}

/** §5.1/§5.2's example (1M configured, 10K live, idle) as this model computes it. */
/** The tier configured for `maxConnections` (the guide's examples name a configuration, not a fleet). */
function configuredTier(maxConnections: number): Tier {
  return TIERS.find((t) => t.broker.maxConnections === maxConnections)!
}

export function idleExampleBytes(): number {
  const {configured, live} = GUIDE.idleExample
  const tier = configuredTier(configured)
  const idlePool = Math.max(0, tier.broker.clientPool - live)
  return (live + idlePool) * GUIDE.bytesPerConnection + fixedBytes(tier)
}

function idleExampleFormula(): string {
  const {configured, live} = GUIDE.idleExample
  const tier = configuredTier(configured)
  const idlePool = Math.max(0, tier.broker.clientPool - live)
  return `${n(configured)} configured, ${n(live)} live: ${b(live * GUIDE.bytesPerConnection)} live + ${b(idlePool * GUIDE.bytesPerConnection)} idle pool + ${b(fixedBytes(tier))} fixed`
}

type Add = (figure: string, value: string, formula: string, source: string) => void

/** The runtime figures: each formula with the profile's figure in it, and where that figure was measured. */
function explainRuntime(p: Plan, add: Add): void {
  const r = p.runtime
  const pr = r.profile
  const w = p.cluster?.perNode ?? p.workload
  const where = `${pr.kind === 'host' ? "this host's" : 'shipped'} runtime profile ${pr.path} (measured ${pr.measuredAt} on ${pr.host}, ${pr.cores} cores, Node.js ${pr.node}, by \`${pr.command}\`)`
  const fig = (name: string) => `figures.${name} of the ${where}`
  const m = r.memory
  add('runtime.memory.baselineBytes', b(m.baselineBytes), 'RSS of a started broker with no client', fig('baselineRssBytes'))
  add('runtime.memory.connections', `${b(m.connections.idleBytes)} settled, ${b(m.connections.stormBytes)} after a storm`,
    `live ${n(w.live)} × ${n(m.connections.bytesEachIdle)} B settled / × ${n(m.connections.bytesEachStorm)} B right after all connect at once`, `${fig('bytesPerConnectionIdle')}; bytesPerConnectionStorm likewise`)
  add('runtime.memory.subscriptions', `${b(m.subscriptions.idleBytes)} settled, ${b(m.subscriptions.stormBytes)} after a storm`,
    `live ${n(w.live)} × ${w.subsPerDevice} subscriptions × ${n(m.subscriptions.bytesEachIdle)} B / × ${n(m.subscriptions.bytesEachStorm)} B`, `${fig('bytesPerSubscriptionIdle')}; bytesPerSubscriptionStorm likewise`)
  add('runtime.memory.retained.bytes', b(m.retained.bytes), `retained ${n(m.retained.count)} × (payload ${n(w.payloadBytes)} B + ${n(m.retained.bytesEach - w.payloadBytes)} B)`, fig('bytesPerRetainedMessage'))
  add('runtime.memory.queue.bytes', b(m.queue.bytes), m.queue.source === 'none'
    ? 'no --msg-rate: no queued messages counted'
    : `msg-rate ${n(w.msgRate!)}/s × ${ASSUMED.queueWaitSeconds[w.qos]} s wait at QoS ${w.qos} = ${n(m.queue.messages)} messages × (payload ${n(w.payloadBytes)} B + ${n(m.queue.bytesEach - w.payloadBytes)} B)`,
    `${fig('bytesPerQueuedMessage')}; wait times are the guide model's assumption`)
  add('runtime.memory.totalBytes', b(m.totalBytes), `max(settled ${b(m.idleBytes)}, after a storm ${b(m.stormBytes)}) + queues ${b(m.queue.bytes)}`, 'sum of the lines above')
  add('runtime.heap.maxOldSpaceMb', `${n(r.heap.maxOldSpaceMb)} MB`, `total ${b(m.totalBytes)} × ${HEAP_HEADROOM}, at least ${MIN_HEAP_MB} MB, rounded up to ${HEAP_STEP_MB} MB`,
    'ours: V8\'s default limit (about a quarter of RAM, at most ~4 GB) kills a large broker with "heap out of memory"; written to runtime.maxOldSpaceMb by plan --write')
  add('runtime.heap.ramGiB', `${r.heap.ramGiB} GiB`, `heap limit ${n(r.heap.maxOldSpaceMb)} MB + idle broker ${b(m.baselineBytes)} + ${b(OS_RESERVE_BYTES)} for the OS and socket buffers, whole GiB`, 'assumption: the OS, page cache and kernel socket buffers need about 1 GiB besides the broker')
  const c = r.cpu
  const f = (x: number) => String(Math.round(x * 1000) / 1000)
  const micros = r.cpu.maxDeliveriesPerSecond > 0 ? (CPU_PLAN_SHARE * 1e6) / r.cpu.maxDeliveriesPerSecond : 0
  add('runtime.cpu.percentOfCore', c.percentOfCore === null ? 'no --msg-rate' : `${c.percentOfCore} %`,
    c.percentOfCore === null ? 'give --msg-rate' : `${n(c.deliveriesPerSecond!)} msg/s in and out (each delivery its own message) × ~${f(micros)} µs (in + out) / 1,000,000 × 100`,
    `${fig('cpuMicrosPerMessageIn')} + cpuMicrosPerDeliveryOut; one broker process uses one core (more cores: workers, topology below)`)
  add('runtime.cpu.maxDeliveriesPerSecond', n(c.maxDeliveriesPerSecond), `${Math.round(CPU_PLAN_SHARE * 100)} % of one core / ~${f(micros)} µs per message`, fig('cpuMicrosPerMessageIn + cpuMicrosPerDeliveryOut'))
  add('runtime.cpu.reconnectStormSeconds', `${c.reconnectStormSeconds} s`, `live ${n(w.live)} × CPU per connect`, fig('cpuMicrosPerConnect'))
  add('runtime.broadcast.micros', `${n(r.broadcast.micros)} µs`, `${n(r.broadcast.subscribers)} subscribers × the wall time per subscriber of one broadcast`, fig('broadcastMicrosPerSubscriber'))
  if (r.webSocketBytesPerConnection !== null) add('runtime.webSocketBytesPerConnection', b(r.webSocketBytesPerConnection), 'a WebSocket connection\'s RSS beyond a plain one (settled)', fig('bytesPerWebSocketConnectionExtra'))
  if (r.tlsBytesPerConnection !== null) add('runtime.tlsBytesPerConnection', b(r.tlsBytesPerConnection), 'a TLS connection\'s RSS beyond a plain one (settled)', fig('bytesPerTlsConnectionExtra'))
  if (p.cluster) {
    const cl = p.cluster
    add('cluster.runtime.memoryBytes', b(cl.runtime.memoryBytes), `${cl.nodes} nodes × runtime.memory.totalBytes`, 'each node carries devices / nodes live connections and msg-rate / nodes; retained messages on every node')
  }
}
