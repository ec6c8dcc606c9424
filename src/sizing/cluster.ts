/**
 * The scale-out topology of a plan: broker processes per node (`start --workers`), and the NATS
 * servers that join them (docs/scale-out.md). Pure: workload, profile and node count in, figures out;
 * cluster-report.ts renders them, cluster-explain.ts shows each formula.
 *
 * The model, in one place:
 * - A message whose subscriber is on another broker process (another worker or another node) crosses
 *   NATS and costs CPU on both sides: docs/scale-out.md "Performance" measured perCoreRatio = same-node
 *   CPU per message / (publishing side + receiving side) = 0.52 and 0.58 (the lower is used).
 * - Publishers and subscribers are placed at random over the P processes, so (P − 1) / P of the
 *   deliveries cross; every process publishes and receives its share, so the CPU spreads evenly.
 * - Workers per node: the fewest for which every process stays under CPU_PLAN_SHARE of its core.
 * - NATS: none for one process; the local nats-server `start --workers` runs for one node; three
 *   servers (a NATS cluster, JetStream replicas 3) for several nodes.
 * - JetStream holds the retained set (one message per topic) and the copies for persistent sessions on
 *   other nodes (QoS 1/2; taken as all of them at --qos 1/2: the worst case), bounded by the stream's
 *   1 GiB; each message costs its payload plus JS_BYTES_PER_MESSAGE.
 */
import type {Workload} from './capacity.js'
import type {RuntimeProfile} from './runtime-profile.js'
import {CPU_PLAN_SHARE, OS_RESERVE_BYTES, runtimeHeap, runtimeMemory} from './runtime.js'
import type {Tier} from './tiers.js'

const MiB = 2 ** 20
const GiB = 2 ** 30

/** docs/scale-out.md "Performance": perCoreRatio, a crossing message's broker CPU (both sides) = the same-process CPU / this (runs: 0.52, 0.58). */
export const CROSS_HOP = {perCoreRatio: 0.52} as const
/** nats-server CPU per message routed (docs/scale-out.md "Performance", the higher of two runs: 2.66 / 1.93 µs). */
export const NATS_MICROS_PER_MESSAGE = 2.66
/** Heap a node spends per client it holds in a cluster: the take-over subscription (docs/scale-out.md "Limits", measured with 20,000). */
export const CLUSTER_BYTES_PER_CLIENT = 1_200
/** JetStream bytes per stored message besides its payload: subject, headers, record (measured: 146 B with a 41-byte subject and two headers; topics and MQTT 5 properties add more). */
export const JS_BYTES_PER_MESSAGE = 200
/** The stream of copies for persistent sessions on other nodes is bounded to this (src/broker/cluster/durable.ts STREAM_MAX_BYTES). */
export const DURABLE_STREAM_BYTES = GiB
/** JetStream store directory: the planned bytes × this (room for compaction and a burst), whole GiB. */
export const JS_STORE_HEADROOM = 1.5
/** Acknowledged JetStream publishes per second one server takes (issue 15: ~16,000/s with 256 in flight). */
export const JETSTREAM_PUBLISHES_PER_SECOND = 16_000
/** NATS servers of a production cluster: one can die and JetStream (replicas 3) keeps its quorum. */
export const NATS_CLUSTER_SERVERS = 3
/** nats-server's default max_payload, and the most it allows. */
export const NATS_DEFAULT_MAX_PAYLOAD = MiB
export const NATS_MAX_PAYLOAD = 64 * MiB
/** Room in max_payload for the MQTT headers a message carries over NATS (properties, ids). */
export const NATS_HEADER_ROOM = 64 * 1024
/** Most workers per node planned (the configuration's cluster.workers allows 1,024). */
export const MAX_WORKERS = 1_024

export interface TopologyCpu {
  /** µs per message with publisher and subscriber on one process (the profile's in + out). */
  sameMicros: number
  /** µs per message across processes: publishing side + receiving side. */
  crossMicros: number
  /** (P − 1) / P of the deliveries cross (random placement). */
  crossShare: number
  /** Average over same-process and crossing messages. */
  averageMicros: number
  /** Each broker process's load at --msg-rate; null without it. */
  percentOfCorePerWorker: number | null
}

export interface NatsPlan {
  /** 1: the nats-server `start --workers` runs on the node itself; 3: a NATS cluster on its own hosts. */
  servers: number
  placement: 'local' | 'dedicated'
  /** cluster.replicas: JetStream copies of each stream. */
  replicas: number
  /** max_payload for nats-server.conf: at least NATS's 1 MB default, room for the payload and headers. */
  maxPayloadBytes: number
  /** Messages crossing between processes per second (fleet), null without --msg-rate. */
  messagesPerSecond: number | null
  /** Of those, QoS 1/2 copies written to JetStream for persistent sessions elsewhere (0 at --qos 0). */
  jetStreamPublishesPerSecond: number | null
  /** Cores each NATS server needs for the routed messages at CPU_PLAN_SHARE (at least 1). */
  coresPerServer: number
  jetStream: {
    retainedBytes: number
    /** The persistent sessions' copies: the stream's bound. */
    durableBytes: number
    /** Seconds the bound holds one broker process's copies while it is down, at --msg-rate; null without it or at QoS 0. */
    durableSecondsForOneDown: number | null
    /** max_file_store of each server: (retained + durable) × replicas / servers × JS_STORE_HEADROOM, whole GiB. */
    storeBytesPerServer: number
  }
}

export interface Topology {
  nodes: number
  workersPerNode: number
  /** nodes × workersPerNode broker processes, each one core. */
  processes: number
  /** Cores each node needs: its workers, plus one for the primary, the OS and a local nats-server. */
  coresPerNode: number
  cpu: TopologyCpu
  /** One worker's share: memory (with the cluster's per-client cost when processes > 1) and heap limit. */
  worker: {liveConnections: number; memoryBytes: number; maxOldSpaceMb: number}
  /** RAM each node needs: its workers' heap limits and idle brokers + 1 GiB for the OS, whole GiB. */
  ramGiBPerNode: number
  /** null: one process, no NATS. */
  nats: NatsPlan | null
}

const round1 = (x: number) => Math.round(x * 10) / 10

/** CPU of the cluster for `processes` processes; `rate` null: only the per-message figures. */
export function topologyCpu(p: RuntimeProfile, rate: number | null, processes: number): TopologyCpu {
  const same = p.figures.cpuMicrosPerMessageIn + p.figures.cpuMicrosPerDeliveryOut
  const cross = same / CROSS_HOP.perCoreRatio
  const crossShare = processes <= 1 ? 0 : (processes - 1) / processes
  const average = (1 - crossShare) * same + crossShare * cross
  const percent = rate === null ? null : round1((rate * average) / processes / 1e4)
  return {sameMicros: round1(same), crossMicros: round1(cross), crossShare: Math.round(crossShare * 1000) / 1000, averageMicros: round1(average), percentOfCorePerWorker: percent}
}

/** Fewest workers per node keeping every process under CPU_PLAN_SHARE of its core (1 without a rate). */
export function workersFor(p: RuntimeProfile, rate: number | null, nodes: number): number {
  if (rate === null) return 1
  for (let w = 1; w < MAX_WORKERS; w++) {
    const c = topologyCpu(p, rate, nodes * w)
    if (c.percentOfCorePerWorker! <= CPU_PLAN_SHARE * 100) return w
  }
  return MAX_WORKERS
}

/** The workload one of `processes` processes carries: live devices and rate split, retained on every one. */
function workerWorkload(w: Workload, processes: number): Workload {
  if (processes === 1) return w
  return {...w, devices: Math.ceil(w.devices / processes), live: Math.ceil(w.live / processes), msgRate: w.msgRate === null ? null : Math.ceil(w.msgRate / processes)}
}

function natsPlan(w: Workload, nodes: number, processes: number, cpu: TopologyCpu): NatsPlan {
  const dedicated = nodes > 1
  const servers = dedicated ? NATS_CLUSTER_SERVERS : 1
  const replicas = dedicated ? NATS_CLUSTER_SERVERS : 1
  const crossing = w.msgRate === null ? null : Math.ceil(w.msgRate * cpu.crossShare)
  const js = crossing === null ? null : w.qos === 0 ? 0 : crossing
  // A routed message passes through at most two servers (the publisher's and the subscriber's).
  const perServer = crossing === null ? 0 : (crossing * Math.min(2, servers)) / servers
  const cores = Math.max(1, Math.ceil((perServer * NATS_MICROS_PER_MESSAGE) / 1e6 / CPU_PLAN_SHARE))
  const each = w.payloadBytes + JS_BYTES_PER_MESSAGE
  const retainedBytes = w.retained * each
  const perDown = w.msgRate === null || w.qos === 0 ? null : (w.msgRate / processes) * each
  const store = ((retainedBytes + DURABLE_STREAM_BYTES) * replicas) / servers
  return {
    servers,
    placement: dedicated ? 'dedicated' : 'local',
    replicas,
    maxPayloadBytes: Math.min(NATS_MAX_PAYLOAD, Math.max(NATS_DEFAULT_MAX_PAYLOAD, Math.ceil((w.payloadBytes + NATS_HEADER_ROOM) / MiB) * MiB)),
    messagesPerSecond: crossing,
    jetStreamPublishesPerSecond: js,
    coresPerServer: cores,
    jetStream: {
      retainedBytes,
      durableBytes: DURABLE_STREAM_BYTES,
      durableSecondsForOneDown: perDown === null || perDown === 0 ? null : Math.round(DURABLE_STREAM_BYTES / perDown),
      storeBytesPerServer: Math.ceil((store * JS_STORE_HEADROOM) / GiB) * GiB,
    },
  }
}

/** The topology for `nodes` nodes of `tier` carrying workload `w` (the fleet's), from profile `p`. */
export function clusterTopology(p: RuntimeProfile, w: Workload, nodes: number, tier: Tier): Topology {
  const workers = workersFor(p, w.msgRate, nodes)
  const processes = nodes * workers
  const cpu = topologyCpu(p, w.msgRate, processes)
  const share = workerWorkload(w, processes)
  const memory = runtimeMemory(p, share)
  const memoryBytes = memory.totalBytes + (processes > 1 ? share.live * CLUSTER_BYTES_PER_CLIENT : 0)
  const heap = runtimeHeap({...memory, totalBytes: memoryBytes})
  const ramGiBPerNode = Math.ceil((workers * (heap.maxOldSpaceMb * MiB + memory.baselineBytes) + OS_RESERVE_BYTES) / GiB)
  const nats = processes > 1 ? natsPlan(w, nodes, processes, cpu) : null
  const coresPerNode = workers === 1 && nodes === 1 ? 1 : workers + 1
  return {nodes, workersPerNode: workers, processes, coresPerNode, cpu, worker: {liveConnections: share.live, memoryBytes, maxOldSpaceMb: heap.maxOldSpaceMb}, ramGiBPerNode, nats}
}

/** plan's notes about a topology: what it cannot size, and what the tier's machine or NATS cannot carry. */
export function topologyNotes(t: Topology, w: Workload, tier: Tier): string[] {
  const {nats, workersPerNode: workers, coresPerNode} = t
  const notes: string[] = []
  if (w.msgRate === null && t.nodes > 1) notes.push('give --msg-rate to size the workers per node and the NATS traffic: without it each node runs one broker process')
  if (coresPerNode > tier.hardware.cores.min) notes.push(`${workers} workers per node need ${coresPerNode} cores, more than the ${tier.name} tier's smallest machine (${tier.hardware.cores.min} cores): take machines with ${coresPerNode} cores, or more nodes`)
  if (nats && nats.jetStreamPublishesPerSecond !== null && nats.jetStreamPublishesPerSecond > JETSTREAM_PUBLISHES_PER_SECOND * CPU_PLAN_SHARE) {
    notes.push(`up to ${Math.round(nats.jetStreamPublishesPerSecond).toLocaleString('en-US')} QoS ${w.qos} copies/s for persistent sessions on other processes go through JetStream, which takes about ${JETSTREAM_PUBLISHES_PER_SECOND.toLocaleString('en-US')} acknowledged publishes/s (issue 15's measure): their publishers will be held back to that; QoS 0 and clean sessions ride core NATS`)
  }
  if (w.payloadBytes + NATS_HEADER_ROOM > NATS_MAX_PAYLOAD) notes.push(`payloads of ${w.payloadBytes.toLocaleString('en-US')} B are larger than NATS allows (64 MB with headers): such messages stay on the node they were published on`)
  return notes
}
