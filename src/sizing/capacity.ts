/**
 * The capacity model: memory, CPU and broadcast time for one node of a tier and a workload.
 * Pure functions over tiers.ts and guide.ts; --explain (explain.ts) describes each formula.
 *
 * Reading of the guide's contradictions (SIZING.md §3), in one place:
 * - Connection memory counts *live* connections (§5.1, §5.2, FAQ Q1), not MAX_CONNECTIONS (§4).
 * - The pre-warmed pool is resident (FAQ Q1 "the pool occupies ~1.1 GB", §5.2 "actually allocated
 *   ~1.1 GB"), and its objects are the ones the first live connections use (§5.2), so only the pool's
 *   idle part is added to live connections; §4 adds the whole pool on top and counts it twice.
 * - Fixed overhead is §5.1's 200 MB for a 1,000,000-connection configuration, scaled with
 *   MAX_CONNECTIONS, plus 10 MB of sockets. §5.4's idle examples (250 MB at 20,000 live on the medium
 *   tier, 1.3 GB at 100,000 on the large) fit this and not §5.2's ~20 MB.
 * - So "1M configured, 10K live" is 110 MB + 990 MB idle pool + 210 MB = 1.3 GB: neither §5.1's 330 MB
 *   nor §5.2's 130 MB, which both leave out the pool their own text says is allocated.
 * - Message-queue buffers fill only under load: the idle figure has none (§5.4 counts none).
 */
import {ASSUMED, GUIDE} from './guide.js'
import type {Range, Tier} from './tiers.js'

export type Qos = 0 | 1 | 2

/** The workload a plan is made for, every default filled in. */
export interface Workload {
  /** Devices in the fleet. */
  devices: number
  /** Live (connected) devices; default all. */
  live: number
  /** Messages per second delivered to devices, fleet total (a broadcast to 100 counts 100); null = not given. */
  msgRate: number | null
  /** Payload bytes per message. */
  payloadBytes: number
  qos: Qos
  /** Subscriptions per device. */
  subsPerDevice: number
  /** Retained messages stored. */
  retained: number
}

/** Integer byte range. */
export interface ByteRange {
  min: number
  max: number
}

export interface Memory {
  /** Guide's memory per live connection (11,000). */
  bytesPerConnection: number
  liveConnections: number
  /** liveConnections × bytesPerConnection. */
  connectionsBytes: number
  /** Pre-warmed client pool: objects, in use by live connections, idle, and the idle part's bytes. */
  pool: {objects: number; inUse: number; idle: number; idleBytes: number}
  /** live × (subsPerDevice − 1) × bytesPerExtraSubscription (the first is in the 11 KB). */
  subscriptionsBytes: number
  /** retained × (payload + overhead). */
  retainedBytes: number
  /**
   * Message-queue buffers under load: the tier's figure (guide §4) or, when --msg-rate asks for more,
   * msgRate × (payload + overhead) × wait(qos). `bytes` is the estimate (the range's middle).
   */
  queue: {bytes: number; range: ByteRange; workloadBytes: number | null; source: 'guide' | 'workload'}
  /** Fixed overhead: 200 MB × maxConnections / 1,000,000 + 10 MB sockets. */
  fixedBytes: number
  /** With no messages in flight: connections + idle pool + subscriptions + retained + fixed (§5.4). */
  idleBytes: number
  /** Under load: idleBytes + queue.bytes. */
  totalBytes: number
  /** totalBytes over the queue's range. */
  totalRange: ByteRange
  /** What to expect in practice: totalBytes × the tier's observed/computed ratio in the guide. */
  practiceRange: ByteRange
  /** The guide's own figures for this tier at its full size (§4): computed and observed. */
  guide: {computed: ByteRange; observed: ByteRange}
}

export interface Cpu {
  /** Idle ceiling, percent (guide §5.3). */
  idlePercentMax: number
  idleWakeupsPerMinute: number
  /** At full load, percent (guide §5.4, per tier). */
  fullLoadPercent: Range
  /** Throughput cost of the tier's log level, percent (guide §2.2). */
  logCostPercent: Range
}

export interface Broadcast {
  /** Live devices, all taken to subscribe to the broadcast topic. */
  subscribers: number
  batchSize: number
  batches: number
  /** Time to hand one message to every subscriber, microseconds (FAQ Q3, fitted; see broadcastMicros). */
  micros: {estimate: number; min: number; max: number}
}

const round = Math.round

function mid(r: {min: number; max: number}): number {
  return (r.min + r.max) / 2
}

export function fixedBytes(tier: Tier): number {
  return round((GUIDE.fixedBytesAtReference * tier.broker.maxConnections) / GUIDE.fixedReferenceConnections) + GUIDE.socketBytes
}

export function queueWorkloadBytes(w: Workload): number | null {
  if (w.msgRate === null) return null
  return round(w.msgRate * (w.payloadBytes + ASSUMED.messageOverheadBytes) * ASSUMED.queueWaitSeconds[w.qos])
}

/** In-practice multipliers of a tier: observed / computed, widest reading. */
export function practiceFactors(tier: Tier): {min: number; max: number} {
  const {computed, observed} = tier.guideMemory
  return {min: observed.min / computed.max!, max: observed.max! / computed.min}
}

export function memory(tier: Tier, w: Workload, bytesPerConnection: number = GUIDE.bytesPerConnection): Memory {
  const live = w.live
  const objects = tier.broker.clientPool
  const inUse = Math.min(live, objects)
  const idle = objects - inUse
  const pool = {objects, inUse, idle, idleBytes: idle * bytesPerConnection}
  const connectionsBytes = live * bytesPerConnection
  const subscriptionsBytes = live * Math.max(0, w.subsPerDevice - 1) * ASSUMED.bytesPerExtraSubscription
  const retainedBytes = w.retained * (w.payloadBytes + ASSUMED.retainedOverheadBytes)
  const fixed = fixedBytes(tier)

  const tierQueue = {min: tier.queueBuffers.bytes.min, max: tier.queueBuffers.bytes.max!}
  const workloadBytes = queueWorkloadBytes(w)
  const tierEstimate = round(mid(tierQueue))
  const fromWorkload = workloadBytes !== null && workloadBytes > tierEstimate
  const queue = {
    bytes: fromWorkload ? workloadBytes : tierEstimate,
    range: {min: Math.max(tierQueue.min, workloadBytes ?? 0), max: Math.max(tierQueue.max, workloadBytes ?? 0)},
    workloadBytes,
    source: fromWorkload ? ('workload' as const) : ('guide' as const),
  }

  const idleBytes = connectionsBytes + pool.idleBytes + subscriptionsBytes + retainedBytes + fixed
  const totalBytes = idleBytes + queue.bytes
  const f = practiceFactors(tier)
  const g = tier.guideMemory
  return {
    bytesPerConnection,
    liveConnections: live,
    connectionsBytes,
    pool,
    subscriptionsBytes,
    retainedBytes,
    queue,
    fixedBytes: fixed,
    idleBytes,
    totalBytes,
    totalRange: {min: idleBytes + queue.range.min, max: idleBytes + queue.range.max},
    practiceRange: {min: round(totalBytes * f.min), max: round(totalBytes * f.max)},
    guide: {computed: {min: g.computed.min, max: g.computed.max!}, observed: {min: g.observed.min, max: g.observed.max!}},
  }
}

export function cpu(tier: Tier): Cpu {
  return {
    idlePercentMax: GUIDE.idleCpuPercentMax,
    idleWakeupsPerMinute: GUIDE.idleWakeupsPerMinute,
    fullLoadPercent: {...tier.fullLoadCpuPercent},
    logCostPercent: {...GUIDE.logCostPercent[tier.broker.logLevel]},
  }
}

/**
 * FAQ Q3 gives two points for 1,000,000 subscribers: 150 ms in batches of 100 and 30 – 50 ms in
 * batches of 5,000. Fitting time = deliveries × perDelivery + batches × perBatch through both gives
 * the cost of any batch size and fleet; the 30 and 50 ms ends give the range, 40 ms the estimate.
 */
export function broadcastFit(largeBatchMs: number): {perDeliveryMicros: number; perBatchMicros: number} {
  const {subscribers, smallBatch, largeBatch} = GUIDE.broadcast
  const smallUs = smallBatch.ms * 1000
  const largeUs = largeBatchMs * 1000
  const perBatchMicros = (smallUs - largeUs) / (subscribers / smallBatch.batchSize - subscribers / largeBatch.batchSize)
  const perDeliveryMicros = (smallUs - perBatchMicros * (subscribers / smallBatch.batchSize)) / subscribers
  return {perDeliveryMicros, perBatchMicros}
}

export function broadcastMicros(subscribers: number, batchSize: number, largeBatchMs: number): number {
  const fit = broadcastFit(largeBatchMs)
  return round(subscribers * fit.perDeliveryMicros + Math.ceil(subscribers / batchSize) * fit.perBatchMicros)
}

export function broadcast(tier: Tier, live: number): Broadcast {
  const batchSize = tier.broker.forwardBatchSize
  const {ms} = GUIDE.broadcast.largeBatch
  const a = broadcastMicros(live, batchSize, ms.min)
  const b = broadcastMicros(live, batchSize, ms.max)
  return {
    subscribers: live,
    batchSize,
    batches: Math.ceil(live / batchSize),
    micros: {estimate: broadcastMicros(live, batchSize, mid(ms)), min: Math.min(a, b), max: Math.max(a, b)},
  }
}
