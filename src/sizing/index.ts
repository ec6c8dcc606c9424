/**
 * The capacity model's public face: `plan(input)` returns the object `mqttctl plan --json` prints.
 *
 * Other commands call `plan({devices})` and read, for example:
 * - `plan.tier`            'small' | 'medium' | 'large' (with nodes > 1: the tier of each node)
 * - `plan.broker`          maxConnections, ioEntries, clientPool, forwardBatchSize, logLevel
 * - `plan.os`              openFiles, maxProcesses, somaxconn, synBacklog, netdevBacklog
 * - `plan.hardware`        cores, ramGiB ({min, max|null}), network
 * - `plan.memory`          the guide's model: totalBytes, idleBytes, practiceRange, ... (each node's)
 * - `plan.runtime`         what the shipped runtime needs on each node (runtime profile): memory, cpu, heap flags
 * - `plan.nodes`           1, or the large-tier nodes a fleet of 1,000,000 or more needs
 * - `plan.cluster`         null, or per-node workload and the cluster totals
 * - `plan.topology`        workers per node, and the NATS servers joining the processes (cluster.ts)
 * Every byte and count is an integer. The README ("plan --json") documents each field.
 */
import {formatInt as fmt} from '../cli/render.js'
import {type Broadcast, type Cpu, type Memory, type Workload, broadcast, cpu, memory} from './capacity.js'
import {ASSUMED} from './guide.js'
import {type LoadedProfile, shippedLoaded} from './runtime-profile.js'
import {CPU_PLAN_SHARE, type RuntimeEstimate, runtimeEstimate} from './runtime.js'
import {NATS_CLUSTER_SERVERS, type Topology, clusterTopology, topologyNotes} from './cluster.js'
import {TIERS, type Tier, type TierBroker, type TierHardware, type TierName, type TierOs, tierByName, tierFor} from './tiers.js'
import {type PlanInput, resolveWorkload} from './workload.js'

export * from './tiers.js'
export {type Broadcast, type ByteRange, type Cpu, type Memory, type Qos, type Workload} from './capacity.js'
export {type LoadedProfile, type RuntimeFigures, type RuntimeProfile, RuntimeProfileError, SHIPPED_PROFILE, activeProfile, hostProfilePath, readRuntimeProfile, saveRuntimeProfile, shippedLoaded, shippedProfile, shippedProfilePath} from './runtime-profile.js'
export {type RuntimeEstimate, runtimeEstimate} from './runtime.js'
export {type NatsPlan, type Topology, clusterTopology} from './cluster.js'
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

/** The runtime's figures (runtime.ts) and which profile they come from. */
export interface RuntimeSection extends RuntimeEstimate {
  profile: {kind: 'shipped' | 'host'; path: string; host: string; cores: number; measuredAt: string; node: string; command: string}
}

/** Beyond one node: the whole fleet's figures (every node's are `memory`, `cpu`, `runtime`...). */
export interface Cluster {
  nodes: number
  nodesWithSpare: number
  /** The workload each node is planned for. */
  perNode: Workload
  guide: {memoryBytes: number; cores: number}
  runtime: {memoryBytes: number; heapLimitBytes: number; ramGiB: number; processes: number; coresUsable: number}
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
  /** One node's figures, from the guide's model (with nodes > 1: each node's, for cluster.perNode). */
  memory: Memory
  cpu: Cpu
  broadcast: Broadcast
  /** One node's figures for the runtime mqttctl ships, from the runtime profile. */
  runtime: RuntimeSection
  /** null for one node; else the node count, each node's workload and the cluster totals. */
  cluster: Cluster | null
  /** Broker processes per node (start --workers) and the NATS servers joining them: 1 process and no NATS for a small workload. */
  topology: Topology
  /** Warnings: headroom, scale-out, estimate above the tier's smallest RAM. */
  notes: string[]
  /** Commands to run next. */
  next: string[]
}


/**
 * The broker's Node.js flags for a fleet of `devices` (one node's share): the plan's heap limit and
 * semi-space. Used where no configuration file carries them (tune's systemd unit, build --devices/--tier).
 */
export function runtimeNodeFlags(devices: number): string[] {
  return plan({devices}).runtime.heap.nodeFlags
}

/** The runtime memory settings (src/config `runtime`) a plan for `devices` writes. */
export function runtimeSettings(devices: number): {maxOldSpaceMb: number; maxSemiSpaceMb: number} {
  const h = plan({devices}).runtime.heap
  return {maxOldSpaceMb: h.maxOldSpaceMb, maxSemiSpaceMb: h.maxSemiSpaceMb}
}

/** What to run after plan; with the file `plan --write` wrote, build and start are pointed at it. */
export function nextSteps(devices: number, configFile?: string, topology?: Pick<Topology, 'nodes' | 'workersPerNode'>): string[] {
  const config = configFile === undefined ? '' : ` --config ${configFile}`
  const tune = `mqttctl tune --os linux --devices ${devices}`
  const workers = topology && topology.workersPerNode > 1 ? ` --workers ${topology.workersPerNode}` : ''
  // Several nodes: build writes each node's configuration (joined to the NATS servers) and nats-server.conf.
  if (topology && topology.nodes > 1) {
    const what = configFile === undefined ? ` --devices ${devices}` : `${config} --nodes ${topology.nodes}`
    return [tune, `mqttctl build${what}${workers}`, 'mqttctl start --config mqtt-broker/nodes/node-1/broker.json']
  }
  // One node with workers: the file plan --write wrote already says so (cluster.workers).
  if (configFile !== undefined) return [tune, `mqttctl build${config}`, `mqttctl start${config}`]
  // No file written: build takes the fleet size (else it builds the small tier), and start runs the
  // configuration build wrote for it.
  return [tune, `mqttctl build --devices ${devices}`, `mqttctl start --config mqtt-broker/etc/broker.json${workers}`]
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

export interface PlanOptions {
  /** The runtime profile (default: the shipped one; the command passes the host's when there is one). */
  profile?: LoadedProfile
}

function runtimeSection(loaded: LoadedProfile, w: Workload): RuntimeSection {
  const p = loaded.profile
  return {
    profile: {kind: p.kind, path: loaded.path, host: p.host.name, cores: p.host.cores, measuredAt: p.measuredAt, node: p.node, command: p.command},
    ...runtimeEstimate(p, w),
  }
}

/** The workload one of `nodes` nodes carries: live devices and message rate split evenly (rounded up); retained messages on every node. */
export function nodeWorkload(w: Workload, nodes: number): Workload {
  if (nodes === 1) return w
  return {...w, devices: Math.ceil(w.devices / nodes), live: Math.ceil(w.live / nodes), msgRate: w.msgRate === null ? null : Math.ceil(w.msgRate / nodes)}
}

function runtimeNotes(r: RuntimeSection, nodes: number, t: Topology, w: Workload, tier: Tier): string[] {
  const notes: string[] = []
  const each = nodes > 1 ? ' on each node' : ''
  if (r.cpu.processesNeeded > 1) {
    notes.push(`one broker process uses one core: ${fmt(r.cpu.deliveriesPerSecond!)} deliveries/s${each} need ${r.cpu.percentOfCore} % of a core (one process carries about ${fmt(r.cpu.maxDeliveriesPerSecond)} deliveries/s at ${Math.round(CPU_PLAN_SHARE * 100)} % of its core), so ${t.workersPerNode} workers${each} (start --workers ${t.workersPerNode}), joined through NATS: messages crossing between workers cost CPU on both sides (Scale-out below)`)
  }
  return [...notes, ...topologyNotes(t, w, tier)]
}

/** The plan for a fleet. Throws InputError (from resolveWorkload) on a value outside its limits. */
export function plan(input: PlanInput, options: PlanOptions = {}): Plan {
  const w = resolveWorkload(input)
  const loaded = options.profile ?? shippedLoaded()
  const single = tierFor(w.devices)
  const tier = single ?? tierByName('large')
  const notes: string[] = []
  if (loaded.warning) notes.push(loaded.warning)
  const next = (t: Topology) => nextSteps(w.devices, undefined, t)
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
    const perNode = nodeWorkload(w, nodes)
    notes.push(
      `one node takes fewer than ${fmt(tier.broker.maxConnections)} devices (the large tier's MAX_CONNECTIONS, the guide's largest): ${fmt(w.devices)} need ${nodes} large-tier nodes of at most ${fmt(capacity)} (${pct} %, headroom for reconnect storms), ${nodes + 1} with a spare; memory, CPU and broadcast below are each node's, for ${fmt(perNode.live)} live devices${perNode.msgRate === null ? '' : ` and ${fmt(perNode.msgRate)} msg/s`}`,
      `the nodes join through NATS (docs/scale-out.md): a device reaches the devices on every node; ${NATS_CLUSTER_SERVERS} NATS servers on their own hosts (Scale-out below)`,
    )
    const m = memory(tier, perNode)
    const runtime = runtimeSection(loaded, perNode)
    const topology = clusterTopology(loaded.profile, w, nodes, tier)
    notes.push(...runtimeNotes(runtime, nodes, topology, w, tier))
    const cluster: Cluster = {
      nodes,
      nodesWithSpare: nodes + 1,
      perNode,
      guide: {memoryBytes: nodes * m.totalBytes, cores: nodes * tier.hardware.cores.min},
      runtime: {memoryBytes: nodes * runtime.memory.totalBytes, heapLimitBytes: nodes * runtime.heap.maxOldSpaceMb * 2 ** 20, ramGiB: nodes * runtime.heap.ramGiB, processes: topology.processes, coresUsable: topology.processes},
    }
    const reason = `${fmt(w.devices)} devices: ${nodes} large-tier nodes of ${fmt(scaleOut.devicesPerNode)} devices each (each node planned for at most ${fmt(capacity)}, ${pct} % of maxConnections ${fmt(tier.broker.maxConnections)})`
    return {...head(reason, nodes, scaleOut), memory: m, cpu: cpu(tier), broadcast: broadcast(tier, perNode.live), runtime, cluster, topology, notes, next: next(topology)}
  }

  const m = memory(tier, w)
  const headroom = headroomNote(w.devices, tier)
  if (headroom) notes.push(headroom)
  const ramMin = tier.hardware.ramGiB.min * 2 ** 30
  if (m.practiceRange.max > ramMin) {
    notes.push(`in practice this may need up to ${fmt(Math.ceil(m.practiceRange.max / 2 ** 30))} GiB, more than the tier's smallest machine (${tier.hardware.ramGiB.min} GiB)`)
  }
  const runtime = runtimeSection(loaded, w)
  const topology = clusterTopology(loaded.profile, w, 1, tier)
  notes.push(...runtimeNotes(runtime, 1, topology, w, tier))
  return {
    ...head(reasonFor(w.devices, tier), 1, null),
    memory: m,
    cpu: cpu(tier),
    broadcast: broadcast(tier, w.live),
    runtime,
    cluster: null,
    topology,
    notes,
    next: next(topology),
  }
}
