/**
 * The deployment guide's figures that are not per-tier rows (those live in tiers.ts), and the few
 * assumptions of our own the model needs. Each figure is typed once, here, with the section it comes
 * from; capacity.ts only combines them.
 */
import {KB, type LogLevel, MB} from './tiers.js'

/** Figures the guide states (SIZING.md §3, §4; guide §4, §5, FAQ). */
export const GUIDE = {
  /** Memory of one live connection ("11 KB per connection", guide §4, §5.1). */
  bytesPerConnection: 11 * KB,
  /** Fixed memory of a broker configured for 1,000,000 connections (guide §5.1: "~200 MB"). */
  fixedBytesAtReference: 200 * MB,
  /** The configuration §5.1's fixed figure was given for (MAX_CONNECTIONS 1,000,000). */
  fixedReferenceConnections: 1_000_000,
  /** TCP socket overhead, fixed (guide §5.1: "~10 MB"). */
  socketBytes: 10 * MB,
  /** Idle CPU ceiling, percent of one machine (guide §5.3, §5.4: "< 0.5 %"). */
  idleCpuPercentMax: 0.5,
  /** Wake-ups per minute when idle: the 5 s statistics timer (guide §5.3: "12 次/分钟"). */
  idleWakeupsPerMinute: 12,
  /** Throughput cost of each log level, percent (guide §2.2). */
  logCostPercent: {
    debug: {min: 30, max: 50},
    info: {min: 0, max: 5},
    warn: {min: 0, max: 1},
    error: {min: 0, max: 0.1},
  } satisfies Record<LogLevel, {min: number; max: number}>,
  /** §5.1 / §5.2's example: a broker configured for 1,000,000 with 10,000 live, and their two totals. */
  idleExample: {configured: 1_000_000, live: 10_000, section51Bytes: 330 * MB, section52Bytes: 130 * MB},
  /** FAQ Q3: one message to 1,000,000 subscribers of one topic. */
  broadcast: {
    subscribers: 1_000_000,
    smallBatch: {batchSize: 100, ms: 150},
    largeBatch: {batchSize: 5_000, ms: {min: 30, max: 50}},
  },
} as const

/**
 * Assumptions of our own (the guide gives no figure). Shown as such by --explain; a measured profile
 * (`--profile measured`) replaces them with numbers from `mqttctl bench calibrate`.
 */
export const ASSUMED = {
  /** Memory of each subscription beyond a device's first (the first is taken to be in the 11 KB). */
  bytesPerExtraSubscription: 250,
  /** Per queued message on top of its payload: fixed header, topic, queue entry. */
  messageOverheadBytes: 100,
  /** Per retained message on top of its payload: topic, trie node, properties. */
  retainedOverheadBytes: 200,
  /**
   * Seconds a delivered message stays in the outbound queue: QoS 0 until the socket drains, QoS 1
   * until PUBACK, QoS 2 until PUBCOMP (two round trips), at a loaded broker's latency.
   */
  queueWaitSeconds: {0: 0.5, 1: 2, 2: 4} as Record<0 | 1 | 2, number>,
  /** Payload when --payload is not given (typical IoT telemetry). */
  payloadBytes: 256,
  /** QoS when --qos is not given. */
  qos: 1 as 0 | 1 | 2,
  /**
   * Headroom: the share of MAX_CONNECTIONS a node is planned to hold at most. Above it plan warns
   * (and monitor warns live, src/monitor/warnings.ts); scale-out sizes each node to it, so a
   * reconnect storm's overlap (old and new socket alive at once) has 20 % to grow into.
   */
  headroomWarnShare: 0.8,
} as const

/** Largest --devices accepted (125 large-tier nodes of 800,000). Beyond that, plan the cluster by hand. */
export const MAX_DEVICES = 100_000_000
