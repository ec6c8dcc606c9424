/**
 * The capacity model's public face: `plan(input)` returns the object `mqttctl plan --json` prints.
 *
 * Other commands call `plan({devices})` and read, for example:
 * - `plan.tier`            'small' | 'medium' | 'large' (with nodes > 1: the tier of each node)
 * - `plan.broker`          maxConnections, ioEntries, clientPool, forwardBatchSize, logLevel
 * - `plan.os`              openFiles, maxProcesses, somaxconn, synBacklog, netdevBacklog
 * - `plan.hardware`        cores, ramGiB ({min, max|null}), network
 * - `plan.memory`          totalBytes, idleBytes, practiceRange, ... (null when nodes > 1)
 * - `plan.nodes`           1, or the large-tier nodes a fleet of 1,000,000 or more needs
 * Every byte and count is an integer. The README ("plan --json") documents each field.
 */
import {formatInt as fmt} from '../cli/render.js'
import {type Broadcast, type Cpu, type Memory, type Workload, broadcast, cpu, memory} from './capacity.js'
import {ASSUMED} from './guide.js'
import {type MeasuredProfile} from './profile.js'
import {TIERS, type Tier, type TierBroker, type TierHardware, type TierName, type TierOs, tierByName, tierFor} from './tiers.js'
import {type PlanInput, resolveWorkload} from './workload.js'

export * from './tiers.js'
export {type Broadcast, type ByteRange, type Cpu, type Memory, type Qos, type Workload} from './capacity.js'
export {type MeasuredProfile, ProfileError, defaultProfilePath, loadProfile, saveProfile} from './profile.js'
export {type CountSpec, DEVICES, InputError, allowed, parseCount, parseDevices} from './parse.js'
export {type PlanInput, WORKLOAD_SPECS, parseWorkloadFlag, resolveWorkload} from './workload.js'
export {MAX_DEVICES} from './guide.js'

/** From 1,000,000 devices: how many large-tier nodes, and how the fleet splits. */
export interface ScaleOut {
  /** Most devices one node is planned for: the large tier's MAX_CONNECTIONS × the headroom share (800,000). */
  nodeCapacity: number
  /** ceil(devices / nodeCapacity): every node keeps its headroom. */
  nodes: number
  /** One more, for headroom and one node's failure. */
  nodesWithSpare: number
  /** devices / nodes, rounded up. */
  devicesPerNode: number
}

/** Figures from a measured profile (`--profile measured`), next to the guide's. */
export interface MeasuredFigures {
  path: string
  profile: MeasuredProfile
  /** live × bytesPerConnection + idle pool × bytesPerConnection. */
  connectionsBytes: number
  /** live × subsPerDevice × bytesPerSubscription. */
  subscriptionsBytes: number
  /** The guide's total with the two lines above replacing the guide's. */
  totalBytes: number
  /** live / 1,000 × broadcastMsPerThousand, microseconds. */
  broadcastMicros: number
  /** msgRate × cpuMicrosPerMessage, percent of one core; null without --msg-rate. */
  cpuPercentOfCore: number | null
}

export interface Plan {
  /** Version of this object's shape; bumped only on incompatible change. */
  version: 1
  devices: number
  tier: TierName
  /** Why this tier, in one sentence. */
  reason: string
  nodes: number
  scaleOut: ScaleOut | null
  workload: Workload
  broker: TierBroker
  hardware: TierHardware
  os: TierOs
  /** One node's figures; null when nodes > 1 (the single-node model no longer applies). */
  memory: Memory | null
  cpu: Cpu | null
  broadcast: Broadcast | null
  measured: MeasuredFigures | null
  /** Warnings: headroom, scale-out, estimate above the tier's smallest RAM. */
  notes: string[]
  /** Commands to run next. */
  next: string[]
}


/** What to run after plan; with the file `plan --write` wrote, build and start are pointed at it. */
export function nextSteps(devices: number, configFile?: string): string[] {
  const config = configFile === undefined ? '' : ` --config ${configFile}`
  return [`mqttctl tune --os linux --devices ${devices}`, `mqttctl build${config}`, `mqttctl start${config}`]
}

function reasonFor(devices: number, tier: Tier): string {
  const i = TIERS.indexOf(tier)
  let why = `${fmt(devices)} devices: ${tier.name} tier, for ${fmt(tier.minDevices)} – ${fmt(tier.maxDevices)} devices (guide §2.1 "${tier.guideRange}")`
  if (i > 0 && devices === tier.minDevices) {
    const below = TIERS[i - 1]
    why += `; exactly ${fmt(devices)} would fill the ${below.name} tier's MAX_CONNECTIONS of ${fmt(below.broker.maxConnections)} with no headroom, so the next tier`
  }
  return why
}

/** Most devices one node is planned for: MAX_CONNECTIONS less the headroom (plan warns above it, monitor too). */
export function nodeCapacity(tier: Tier): number {
  return Math.floor(tier.broker.maxConnections * ASSUMED.headroomWarnShare)
}

function headroomNote(devices: number, tier: Tier): string | null {
  const share = devices / tier.broker.maxConnections
  if (devices <= nodeCapacity(tier)) return null
  const pct = Math.round(ASSUMED.headroomWarnShare * 100)
  const at = Math.floor(share * 100)
  return `${fmt(devices)} devices use ${at} % of maxConnections ${fmt(tier.broker.maxConnections)}, more than the ${pct} % planned for: little headroom for reconnect storms ("Connection limit reached"); mqttctl monitor warns above ${pct} % too`
}

function measuredFigures(tier: Tier, w: Workload, m: Memory, profile: MeasuredProfile, path: string): MeasuredFigures {
  const connectionsBytes = Math.round((w.live + m.pool.idle) * profile.bytesPerConnection)
  const subscriptionsBytes = Math.round(w.live * w.subsPerDevice * profile.bytesPerSubscription)
  const guideLines = m.connectionsBytes + m.pool.idleBytes + m.subscriptionsBytes
  return {
    path,
    profile,
    connectionsBytes,
    subscriptionsBytes,
    totalBytes: m.totalBytes - guideLines + connectionsBytes + subscriptionsBytes,
    broadcastMicros: Math.round((w.live / 1000) * profile.broadcastMsPerThousand * 1000),
    cpuPercentOfCore: w.msgRate === null ? null : Math.round(((w.msgRate * profile.cpuMicrosPerMessage) / 1e6) * 100 * 10) / 10,
  }
}

/** The plan for a fleet. Throws InputError (from resolveWorkload) on a value outside its limits. */
export function plan(input: PlanInput, measured?: {profile: MeasuredProfile; path: string}): Plan {
  const w = resolveWorkload(input)
  const single = tierFor(w.devices)
  const tier = single ?? tierByName('large')
  const notes: string[] = []
  const next = nextSteps(w.devices)
  // Field order here is the order --json prints.
  const head = (reason: string, nodes: number, scaleOut: ScaleOut | null) => ({
    version: 1 as const,
    devices: w.devices,
    tier: tier.name,
    reason,
    nodes,
    scaleOut,
    workload: w,
    broker: {...tier.broker},
    hardware: structuredClone(tier.hardware),
    os: {...tier.os},
  })

  if (!single) {
    const capacity = nodeCapacity(tier)
    const nodes = Math.max(2, Math.ceil(w.devices / capacity))
    const scaleOut = {nodeCapacity: capacity, nodes, nodesWithSpare: nodes + 1, devicesPerNode: Math.ceil(w.devices / nodes)}
    const pct = Math.round(ASSUMED.headroomWarnShare * 100)
    notes.push(
      `one node takes fewer than ${fmt(tier.broker.maxConnections)} devices (the large tier's MAX_CONNECTIONS, the guide's largest): ${fmt(w.devices)} need ${nodes} large-tier nodes of at most ${fmt(capacity)} (${pct} %, headroom for reconnect storms), ${nodes + 1} with a spare; the single-node memory, CPU and broadcast figures no longer apply`,
      'joining the nodes (scale-out on an established distributed engine) comes in a later release',
    )
    const reason = `${fmt(w.devices)} devices: ${nodes} large-tier nodes of ${fmt(scaleOut.devicesPerNode)} devices each (each node planned for at most ${fmt(capacity)}, ${pct} % of maxConnections ${fmt(tier.broker.maxConnections)})`
    return {...head(reason, nodes, scaleOut), memory: null, cpu: null, broadcast: null, measured: null, notes, next}
  }

  const m = memory(tier, w)
  const headroom = headroomNote(w.devices, tier)
  if (headroom) notes.push(headroom)
  const ramMin = tier.hardware.ramGiB.min * 2 ** 30
  if (m.practiceRange.max > ramMin) {
    notes.push(`in practice this may need up to ${fmt(Math.ceil(m.practiceRange.max / 2 ** 30))} GiB, more than the tier's smallest machine (${tier.hardware.ramGiB.min} GiB)`)
  }
  return {
    ...head(reasonFor(w.devices, tier), 1, null),
    memory: m,
    cpu: cpu(tier),
    broadcast: broadcast(tier, w.live),
    measured: measured ? measuredFigures(tier, w, m, measured.profile, measured.path) : null,
    notes,
    next,
  }
}
