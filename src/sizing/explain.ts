/**
 * `plan --explain`: where each figure of a Plan comes from (the table row, the formula, the guide
 * section), and which reading of the guide's contradictions the model takes. Pure: Plan in, rows out.
 */
import {formatBytes, formatInt} from '../cli/render.js'
import {broadcastFit, fixedBytes, practiceFactors} from './capacity.js'
import {bytesRange} from './format.js'
import {ASSUMED, GUIDE} from './guide.js'
import type {Plan} from './index.js'
import {TIERS, type Tier, tierByName} from './tiers.js'

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
    const w = p.workload
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
  if (p.measured) {
    add('measured', p.measured.path, 'bytesPerConnection, bytesPerSubscription, broadcastMsPerThousand, cpuMicrosPerMessage replace the guide\'s', `profile measured ${p.measured.profile.measuredAt} on ${p.measured.profile.host}`)
  }
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
