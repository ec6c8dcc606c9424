/**
 * What the shipped runtime (one Node.js broker process, one core) needs for one node's workload,
 * from a runtime profile (runtime-profile.ts): memory, CPU, broadcast time, and the V8 heap flags
 * the plan writes into the configuration. Pure: profile and workload in, figures out; --explain
 * (explain.ts) shows each formula with the profile's figure in it.
 */
import {brokerNodeFlags} from '../broker/node-flags.js'
import type {Workload} from './capacity.js'
import {ASSUMED} from './guide.js'
import type {RuntimeProfile} from './runtime-profile.js'

const MiB = 2 ** 20
const GiB = 2 ** 30

/** Heap limit = the memory estimate × this (V8 needs room to collect; RSS also holds code and buffers outside the heap). */
export const HEAP_HEADROOM = 1.5
/** Smallest heap limit written (start-up, JIT and a burst of queued messages fit). */
export const MIN_HEAP_MB = 512
/** Heap limits are written in steps of this many MB. */
export const HEAP_STEP_MB = 64
/** The semi-space every launcher passes (src/broker/node-flags.ts: 10,000 idle connections 3.7 KB instead of 5.9 KB). */
export const SEMI_SPACE_MB = 2
/** A broker process is planned to use at most this share of its one core (headroom for storms and GC). */
export const CPU_PLAN_SHARE = 0.8
/** RAM a node keeps for the OS, page cache and kernel socket buffers besides the broker's heap limit. */
export const OS_RESERVE_BYTES = GiB

export interface RuntimeMemory {
  /** The profile's idle broker. */
  baselineBytes: number
  connections: {count: number; bytesEachIdle: number; bytesEachStorm: number; idleBytes: number; stormBytes: number}
  subscriptions: {count: number; bytesEachIdle: number; bytesEachStorm: number; idleBytes: number; stormBytes: number}
  retained: {count: number; bytesEach: number; bytes: number}
  /** Messages waiting in outbound queues under --msg-rate (rate × (payload + per-message cost) × wait at the QoS); 0 without it. */
  queue: {bytes: number; bytesEach: number; messages: number; source: 'msg-rate' | 'none'}
  /** Settled: every device connected and quiet. */
  idleBytes: number
  /** Right after every device connected at once (a reconnect storm). */
  stormBytes: number
  /** What to plan for: the larger of the two, plus the queues. */
  totalBytes: number
}

export interface RuntimeCpu {
  /** Cores one broker process can use: 1 (one Node.js event loop); more cores take more processes (start --workers, several nodes: plan.topology, cluster.ts). */
  coresUsable: 1
  /** Messages in from publishers per second: --msg-rate, each delivery taken as its own message (1:1 telemetry); null without it. */
  messagesInPerSecond: number | null
  deliveriesPerSecond: number | null
  /** (in × cpuMicrosPerMessageIn + out × cpuMicrosPerDeliveryOut) / 10,000: percent of one core; null without --msg-rate. */
  percentOfCore: number | null
  /** Deliveries per second one process carries at CPU_PLAN_SHARE of its core (1:1 messages). */
  maxDeliveriesPerSecond: number
  /** Broker processes (one core each) the message rate needs at CPU_PLAN_SHARE; 1 without --msg-rate. */
  processesNeeded: number
  /** CPU time to accept every live device reconnecting at once, seconds of one core. */
  reconnectStormSeconds: number
}

export interface RuntimeHeap {
  /** V8 heap limit written to runtime.maxOldSpaceMb: totalBytes × HEAP_HEADROOM, at least MIN_HEAP_MB, in steps of HEAP_STEP_MB. */
  maxOldSpaceMb: number
  maxSemiSpaceMb: number
  /** The Node.js flags start, the build launcher and the systemd unit pass. */
  nodeFlags: string[]
  /** RAM the node needs: the heap limit + what the process holds outside it + OS_RESERVE_BYTES, whole GiB. */
  ramGiB: number
}

export interface RuntimeEstimate {
  memory: RuntimeMemory
  cpu: RuntimeCpu
  broadcast: {subscribers: number; micros: number}
  heap: RuntimeHeap
  /** Extra bytes per connection if the devices connect over TLS (null: not in the profile). */
  tlsBytesPerConnection: number | null
  /** Extra bytes per connection over WebSocket (null: not in the profile). */
  webSocketBytesPerConnection: number | null
}

const round = Math.round

export function runtimeMemory(p: RuntimeProfile, w: Workload): RuntimeMemory {
  const f = p.figures
  const live = w.live
  const subs = live * w.subsPerDevice
  const connections = {count: live, bytesEachIdle: f.bytesPerConnectionIdle, bytesEachStorm: f.bytesPerConnectionStorm, idleBytes: live * f.bytesPerConnectionIdle, stormBytes: live * f.bytesPerConnectionStorm}
  const subscriptions = {count: subs, bytesEachIdle: f.bytesPerSubscriptionIdle, bytesEachStorm: f.bytesPerSubscriptionStorm, idleBytes: subs * f.bytesPerSubscriptionIdle, stormBytes: subs * f.bytesPerSubscriptionStorm}
  const retainedEach = w.payloadBytes + f.bytesPerRetainedMessage
  const retained = {count: w.retained, bytesEach: retainedEach, bytes: w.retained * retainedEach}
  const queueEach = w.payloadBytes + f.bytesPerQueuedMessage
  const messages = w.msgRate === null ? 0 : round(w.msgRate * ASSUMED.queueWaitSeconds[w.qos])
  const queue = {bytes: messages * queueEach, bytesEach: queueEach, messages, source: w.msgRate === null ? ('none' as const) : ('msg-rate' as const)}
  const idleBytes = f.baselineRssBytes + connections.idleBytes + subscriptions.idleBytes + retained.bytes
  const stormBytes = f.baselineRssBytes + connections.stormBytes + subscriptions.stormBytes + retained.bytes
  return {baselineBytes: f.baselineRssBytes, connections, subscriptions, retained, queue, idleBytes, stormBytes, totalBytes: Math.max(idleBytes, stormBytes) + queue.bytes}
}

export function runtimeCpu(p: RuntimeProfile, w: Workload): RuntimeCpu {
  const f = p.figures
  const perMessage = f.cpuMicrosPerMessageIn + f.cpuMicrosPerDeliveryOut
  const percent = w.msgRate === null ? null : Math.round(((w.msgRate * perMessage) / 1e6) * 100 * 10) / 10
  return {
    coresUsable: 1,
    messagesInPerSecond: w.msgRate,
    deliveriesPerSecond: w.msgRate,
    percentOfCore: percent,
    maxDeliveriesPerSecond: Math.floor((CPU_PLAN_SHARE * 1e6) / perMessage),
    processesNeeded: percent === null ? 1 : Math.max(1, Math.ceil(percent / (CPU_PLAN_SHARE * 100))),
    reconnectStormSeconds: Math.round(((w.live * f.cpuMicrosPerConnect) / 1e6) * 10) / 10,
  }
}

export function runtimeHeap(m: RuntimeMemory): RuntimeHeap {
  const wanted = (m.totalBytes * HEAP_HEADROOM) / MiB
  const maxOldSpaceMb = Math.max(MIN_HEAP_MB, Math.ceil(wanted / HEAP_STEP_MB) * HEAP_STEP_MB)
  const outside = m.baselineBytes
  return {
    maxOldSpaceMb,
    maxSemiSpaceMb: SEMI_SPACE_MB,
    nodeFlags: brokerNodeFlags({maxOldSpaceMb, maxSemiSpaceMb: SEMI_SPACE_MB}),
    ramGiB: Math.ceil((maxOldSpaceMb * MiB + outside + OS_RESERVE_BYTES) / GiB),
  }
}

export function runtimeEstimate(p: RuntimeProfile, w: Workload): RuntimeEstimate {
  const memory = runtimeMemory(p, w)
  return {
    memory,
    cpu: runtimeCpu(p, w),
    broadcast: {subscribers: w.live, micros: round(w.live * p.figures.broadcastMicrosPerSubscriber)},
    heap: runtimeHeap(memory),
    tlsBytesPerConnection: p.figures.bytesPerTlsConnectionExtra,
    webSocketBytesPerConnection: p.figures.bytesPerWebSocketConnectionExtra,
  }
}
