/**
 * The deployment guide's tier table (SIZING.md §1, §2; guide §2.1 and §4), as data.
 * Every other module (plan, tune, build, doctor) reads tiers from here. The broker settings of each
 * tier (and so each tier's device range) come from src/config/tier-figures.ts, the leaf the broker's
 * configuration defaults read too: no figure is typed twice.
 */
import {TIER_BROKER} from '../config/tier-figures.js'

export type TierName = 'small' | 'medium' | 'large'
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface TierBroker {
  /** MAX_CONNECTIONS: live connections the broker accepts before refusing with "Connection limit reached". */
  maxConnections: number
  /** IO_ENTRIES: the guide's io_uring submission-queue size. */
  ioEntries: number
  /** MAX_CLIENTS_POOL: pre-warmed client objects. */
  clientPool: number
  /** FORWARD_BATCH_SIZE: subscribers served per fan-out batch before yielding. */
  forwardBatchSize: number
  logLevel: LogLevel
}

export interface Range {
  min: number
  /** null: open-ended ("32+"). */
  max: number | null
}

export interface TierHardware {
  cores: Range
  /** RAM in GiB. */
  ramGiB: Range
  network: string
}

export interface TierOs {
  /** `ulimit -n` / LimitNOFILE. */
  openFiles: number
  /** LimitNPROC / nproc. */
  maxProcesses: number
  somaxconn: number
  synBacklog: number
  netdevBacklog: number
}

export interface Tier {
  name: TierName
  /** Devices this tier is chosen for: minDevices <= devices <= maxDevices (see tierFor). */
  minDevices: number
  maxDevices: number
  /** How the guide labels the tier's fleet size (§2.1, §4), quoted by plan's explanation. */
  guideRange: string
  broker: TierBroker
  hardware: TierHardware
  /** Message-queue buffer memory the guide states, bytes (small: not stated, modelled). */
  queueBuffers: {bytes: Range; stated: boolean; source: string}
  /** Guide's memory totals, bytes: computed ("~130 MB") and observed in practice ("200 – 300 MB"). */
  guideMemory: {computed: Range; observed: Range}
  /** Full-load CPU utilisation the guide states, percent. */
  fullLoadCpuPercent: Range
  os: TierOs
}

export const KB = 1000
export const MB = 1000 * KB
export const GB = 1000 * MB

/**
 * Boundary rule (SIZING.md §1 says the guide is ambiguous at exactly 10,000 / 100,000 / 1,000,000
 * devices): a tier is chosen only when the fleet stays *below* its MAX_CONNECTIONS, so exactly 10,000
 * devices is medium, exactly 100,000 large, and exactly 1,000,000 two large nodes (scale-out, see
 * plan() in index.ts). A tier whose maximum equals the fleet would refuse the first reconnect
 * storm's overlap (old and new socket alive at once). One rule, no exception at the top.
 */
export const TIERS: readonly Tier[] = [
  {
    name: 'small',
    minDevices: 1,
    maxDevices: TIER_BROKER.small.maxConnections - 1,
    guideRange: '< 10K',
    broker: {...TIER_BROKER.small},
    hardware: {cores: {min: 2, max: 4}, ramGiB: {min: 4, max: 8}, network: '1 GbE'},
    queueBuffers: {bytes: {min: 20 * MB, max: 50 * MB}, stated: false, source: 'not stated by the guide; modelled as the large tier\'s 2 – 5 KB per configured connection (2 – 5 GB / 1,000,000) × 10,000'},
    guideMemory: {computed: {min: 130 * MB, max: 130 * MB}, observed: {min: 200 * MB, max: 300 * MB}},
    fullLoadCpuPercent: {min: 15, max: 20},
    os: {openFiles: 65_535, maxProcesses: 65_535, somaxconn: 4_096, synBacklog: 4_096, netdevBacklog: 16_384},
  },
  {
    name: 'medium',
    minDevices: TIER_BROKER.small.maxConnections,
    maxDevices: TIER_BROKER.medium.maxConnections - 1,
    guideRange: '10K – 100K',
    broker: {...TIER_BROKER.medium},
    hardware: {cores: {min: 8, max: 16}, ramGiB: {min: 16, max: 32}, network: '1 GbE (10 GbE recommended)'},
    queueBuffers: {bytes: {min: 500 * MB, max: 500 * MB}, stated: true, source: 'guide §4: ~500 MB'},
    guideMemory: {computed: {min: 1.7 * GB, max: 1.7 * GB}, observed: {min: 2 * GB, max: 3 * GB}},
    fullLoadCpuPercent: {min: 20, max: 30},
    os: {openFiles: 200_000, maxProcesses: 200_000, somaxconn: 32_768, synBacklog: 32_768, netdevBacklog: 32_768},
  },
  {
    name: 'large',
    minDevices: TIER_BROKER.medium.maxConnections,
    maxDevices: TIER_BROKER.large.maxConnections - 1,
    guideRange: '100K – 1M',
    broker: {...TIER_BROKER.large},
    hardware: {cores: {min: 32, max: null}, ramGiB: {min: 64, max: 256}, network: '10 GbE required'},
    queueBuffers: {bytes: {min: 2 * GB, max: 5 * GB}, stated: true, source: 'guide §4: 2 – 5 GB'},
    guideMemory: {computed: {min: 14 * GB, max: 17 * GB}, observed: {min: 20 * GB, max: 25 * GB}},
    fullLoadCpuPercent: {min: 60, max: 80},
    os: {openFiles: 2_000_000, maxProcesses: 256_000, somaxconn: 65_535, synBacklog: 65_535, netdevBacklog: 65_535},
  },
]

/** Largest fleet one node of the largest tier takes (below its MAX_CONNECTIONS); beyond it, several nodes. */
export const MAX_SINGLE_NODE_DEVICES = TIERS[TIERS.length - 1].maxDevices

export function tierByName(name: TierName): Tier {
  const tier = TIERS.find((t) => t.name === name)
  if (!tier) throw new Error(`unknown tier "${name}"; allowed: ${TIERS.map((t) => t.name).join(', ')}`)
  return tier
}

/** The tier for a fleet of `devices`, or undefined above MAX_SINGLE_NODE_DEVICES (multi-node). */
export function tierFor(devices: number): Tier | undefined {
  return TIERS.find((t) => devices >= t.minDevices && devices <= t.maxDevices)
}

/**
 * The tier a broker limited to `maxConnections` is sized as: the smallest whose MAX_CONNECTIONS
 * covers it, else the largest (doctor and build size the OS files by it, monitor its memory).
 */
export function tierForConnections(maxConnections: number): Tier {
  return TIERS.find((t) => t.broker.maxConnections >= maxConnections) ?? TIERS[TIERS.length - 1]
}

export const TIER_NAMES = TIERS.map((t) => t.name) as TierName[]
