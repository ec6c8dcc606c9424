/**
 * `mqttctl plan ... --verify`: runs the plan's broker configuration (with the plan's heap flags) on
 * loopback, drives the plan's workload scaled to what this host allows, and compares what the runtime
 * profile predicted with what was measured, figure by figure. The measurement becomes this host's
 * runtime profile (what `bench calibrate` used to store), which later plans use instead of the
 * shipped one.
 */
import {readFileSync} from 'node:fs'
import {brokerNodeFlags} from '../broker/node-flags.js'
import type {Plan} from '../sizing/index.js'
import {type RuntimeProfile, hostProfilePath, saveRuntimeProfile} from '../sizing/runtime-profile.js'
import {tierByName} from '../sizing/tiers.js'
import {tierConfigText} from '../sizing/write.js'
import {type Measurement, type MeasureSpec, measure, tempFile} from './measure.js'
import {profileFrom} from './runtime-profile.js'

/** Most connections a verify run opens: the generator and the broker each hold one socket per connection. */
export const MAX_VERIFY_CONNECTIONS = 15_000
/** At least three significant digits and at least one decimal: 0.01234 -> 0.0123, 4,966.72 -> 4,966.7. */
function significant(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x
  const digits = Math.max(1, 2 - Math.floor(Math.log10(Math.abs(x))))
  const f = 10 ** digits
  return Math.round(x * f) / f
}

/** A figure whose measured / predicted ratio is off by more than this is flagged. */
export const TOLERANCE = 0.25
/** Message rate of the CPU step when the plan has no --msg-rate, and the bounds of a scaled rate. */
export const DEFAULT_RATE = 5_000
export const MIN_RATE = 200
export const MAX_RATE = 30_000
/** The whole run stops after this long by default. */
export const DEFAULT_TIME_LIMIT_MS = 8 * 60_000

export interface Comparison {
  figure: string
  unit: 'bytes' | 'µs' | 'ms' | '%'
  predicted: number
  measured: number
  /** measured / predicted (null when predicted is 0). */
  ratio: number | null
  /** |ratio − 1| > TOLERANCE. */
  off: boolean
}

export interface VerifyResult {
  /** Connections driven, and the plan's live devices per node they stand for. */
  scale: {connections: number; planned: number; factor: number; limit: number; why: string}
  spec: Omit<MeasureSpec, 'log' | 'signal' | 'entry'>
  comparisons: Comparison[]
  /** Figures off by more than TOLERANCE. */
  flagged: string[]
  /** Where this host's profile was saved (null: not saved). */
  savedTo: string | null
  profile: RuntimeProfile
  measurement: Measurement
  seconds: number
}

export interface VerifyOptions {
  log?: (line: string) => void
  /** Where to save the host profile (default hostProfilePath()); null: do not save. */
  profilePath?: string | null
  /** Cap on connections (default: MAX_VERIFY_CONNECTIONS and this process's open-file limit). */
  maxConnections?: number
  timeLimitMs?: number
  settleMs?: number
  /** Seconds each CPU step runs, its 1 s warm-up included (default 5: 4 s measured; tests take 2: 1 s). */
  cpuSeconds?: number
  /** The command line, stored in the profile. */
  command?: string
  /** The broker entry to run (tests; default the one `start` runs). */
  entry?: MeasureSpec['entry']
}

/** This process's soft open-file limit (Linux /proc/self/limits), or null. */
export function openFileLimit(): number | null {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'))
    return m ? (m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1])) : null
  } catch {
    return null
  }
}

/** How many connections this host can drive for the plan: the plan's live devices per node, capped. */
export function verifyScale(p: Plan, cap?: number): VerifyResult['scale'] {
  const planned = (p.cluster?.perNode ?? p.workload).live
  const files = openFileLimit()
  const byFiles = files === null ? MAX_VERIFY_CONNECTIONS : Math.max(100, files - 1_000)
  const limit = Math.min(cap ?? MAX_VERIFY_CONNECTIONS, MAX_VERIFY_CONNECTIONS, byFiles)
  const connections = Math.max(1, Math.min(planned, limit))
  const why = planned <= limit ? 'the plan\'s live devices' : `at most ${limit.toLocaleString('en-US')} here (${files === null ? '' : `open files ${files.toLocaleString('en-US')}, `}cap ${MAX_VERIFY_CONNECTIONS.toLocaleString('en-US')})`
  return {connections, planned, factor: connections / Math.max(1, planned), limit, why}
}

export function verifySpec(p: Plan, scale: VerifyResult['scale'], settleMs = 3_000, cpuSeconds?: number): VerifyResult['spec'] {
  const w = p.cluster?.perNode ?? p.workload
  const rate = w.msgRate === null ? DEFAULT_RATE : Math.min(MAX_RATE, Math.max(MIN_RATE, Math.round(w.msgRate * scale.factor)))
  // Stores are measured by RSS growth: at least 10,000 messages, so V8's own movements stay small beside them.
  const retained = w.retained === 0 ? 10_000 : Math.min(50_000, Math.max(10_000, Math.round(w.retained * scale.factor)))
  return {
    connections: scale.connections,
    subsPerConnection: w.subsPerDevice,
    payloadBytes: w.payloadBytes,
    qos: w.qos,
    msgRate: rate,
    broadcastSubscribers: scale.connections,
    queuedMessages: 20_000,
    retainedMessages: retained,
    tlsConnections: Math.min(1_000, scale.connections),
    settleMs,
    ...(cpuSeconds === undefined ? {} : {cpuSeconds}),
  }
}

const fmt = (x: number) => x.toLocaleString('en-US')

function compare(figure: string, unit: Comparison['unit'], predicted: number, measured: number): Comparison {
  const ratio = predicted > 0 ? Math.round((measured / predicted) * 100) / 100 : null
  return {figure, unit, predicted: significant(predicted), measured: significant(measured), ratio, off: ratio === null ? measured > 0 : Math.abs(measured / predicted - 1) > TOLERANCE}
}

/** Predicted (from `profile`) against measured (`m`), for the workload `spec` drove. */
export function comparisons(profile: RuntimeProfile, spec: VerifyResult['spec'], m: Measurement): Comparison[] {
  const f = profile.figures
  const n = spec.connections
  const k = m.subscribed.subsPerConnection
  const out: Comparison[] = [compare('RSS idle broker', 'bytes', f.baselineRssBytes, m.baselineRssBytes)]
  out.push(
    compare(`RSS ${fmt(n)} conns, no sub, storm`, 'bytes', f.baselineRssBytes + n * f.bytesPerConnectionStorm, m.connections.rssAfterStormBytes),
    compare(`RSS ${fmt(n)} conns, no sub, settled`, 'bytes', f.baselineRssBytes + n * f.bytesPerConnectionIdle, m.connections.rssIdleBytes),
    compare(`RSS ${fmt(n)} conns × ${k} sub, storm`, 'bytes', f.baselineRssBytes + n * (f.bytesPerConnectionStorm + k * f.bytesPerSubscriptionStorm), m.subscribed.rssAfterStormBytes),
    compare(`RSS ${fmt(n)} conns × ${k} sub, settled`, 'bytes', f.baselineRssBytes + n * (f.bytesPerConnectionIdle + k * f.bytesPerSubscriptionIdle), m.subscribed.rssIdleBytes),
    compare(`RSS +${fmt(m.retained.count)} retained × ${m.retained.payloadBytes} B`, 'bytes', m.retained.count * (m.retained.payloadBytes + f.bytesPerRetainedMessage), m.retained.rssGrowthBytes),
    compare(`RSS +${fmt(m.queued.count)} queued × ${m.queued.payloadBytes} B`, 'bytes', m.queued.count * (m.queued.payloadBytes + f.bytesPerQueuedMessage), m.queued.rssGrowthBytes),
    compare(`CPU ${fmt(Math.round(m.cpu.inOnlyRate))} msg/s in`, '%', (m.cpu.inOnlyRate * f.cpuMicrosPerMessageIn) / 1e4, m.cpu.inOnlyPercent),
    compare(`CPU ${fmt(Math.round(m.cpu.pairsRate))} msg/s in + out`, '%', (m.cpu.pairsRate * (f.cpuMicrosPerMessageIn + f.cpuMicrosPerDeliveryOut)) / 1e4, m.cpu.pairsPercent),
    compare(`CPU ${fmt(n)} connects`, 'ms', (n * f.cpuMicrosPerConnect) / 1000, m.connections.cpuMillis),
    compare(`broadcast to ${fmt(m.broadcast.subscribers)}, CPU`, 'ms', (m.broadcast.subscribers * f.broadcastMicrosPerSubscriber) / 1000, (m.broadcast.cpuMillis * m.broadcast.subscribers) / Math.max(1, m.broadcast.deliveries)),
  )
  if (m.tls && f.bytesPerTlsConnectionExtra !== null) {
    const t = m.tls
    out.push(compare(`RSS ${fmt(t.count)} TLS conns, settled`, 'bytes', t.baselineRssBytes + t.count * (f.bytesPerConnectionIdle + f.bytesPerTlsConnectionExtra), t.rssIdleBytes))
  }
  if (m.ws && f.bytesPerWebSocketConnectionExtra !== null) {
    out.push(compare(`RSS ${fmt(m.ws.count)} WebSocket conns`, 'bytes', m.ws.baselineRssBytes + m.ws.count * (f.bytesPerConnectionIdle + f.bytesPerWebSocketConnectionExtra), m.ws.rssIdleBytes))
  }
  return out
}

/** `used`: the runtime profile `p` was made from (its figures are the predictions). */
export async function verifyPlan(p: Plan, used: RuntimeProfile, o: VerifyOptions = {}): Promise<VerifyResult> {
  const log = o.log ?? (() => {})
  const started = Date.now()
  const scale = verifyScale(p, o.maxConnections)
  const spec = verifySpec(p, scale, o.settleMs, o.cpuSeconds)
  const heap = p.runtime.heap
  const {text} = tierConfigText(tierByName(p.tier), {maxOldSpaceMb: heap.maxOldSpaceMb, maxSemiSpaceMb: heap.maxSemiSpaceMb})
  const config = tempFile('broker.json', text)
  const limit = o.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS
  const signal = AbortSignal.timeout(limit)
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`
  let step = 0
  log(`verify: the ${p.tier} tier's configuration with ${brokerNodeFlags(heap).join(' ')}, on 127.0.0.1; ${scale.connections.toLocaleString('en-US')} connections (${scale.why}); at most ${Math.round(limit / 1000)} s`)
  let m: Measurement
  try {
    m = await measure({...spec, nodeFlags: brokerNodeFlags(heap), configFile: config.path, entry: o.entry, signal, log: (line) => log(`[${++step}/7 ${elapsed()}] ${line}`)})
  } finally {
    config.remove()
  }
  // The profile the plan was made from predicted; the new measurement replaces it for this host.
  const cmp = comparisons(used, spec, m)
  const profile = profileFrom(m, spec, 'host', o.command ?? `mqttctl plan --devices ${p.devices} --verify`)
  const path = o.profilePath === undefined ? hostProfilePath() : o.profilePath
  if (path !== null) saveRuntimeProfile(path, profile)
  return {scale, spec, comparisons: cmp, flagged: cmp.filter((c) => c.off).map((c) => c.figure), savedTo: path, profile, measurement: m, seconds: Math.round((Date.now() - started) / 100) / 10}
}
