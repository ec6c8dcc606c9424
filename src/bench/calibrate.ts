/**
 * `mqttctl bench calibrate` (kept as an alias of `plan --verify`'s measurement): measures our broker
 * on this host with the runtime-profile steps (src/bench/measure.ts) at a reference workload and
 * stores the result as this host's runtime profile, which `mqttctl plan` then uses instead of the
 * shipped one. `plan --devices N --verify` does the same for a plan's own workload and also prints
 * predicted against measured.
 */
import {hostProfilePath, type RuntimeProfile, saveRuntimeProfile} from '../sizing/runtime-profile.js'
import {type MeasureSpec, measure} from './measure.js'
import {profileFrom} from './runtime-profile.js'

export interface CalibrateOptions {
  /** Idle connections used for the memory figures. */
  connections: number
  /** Where to store the profile; null = measure only (default: the host profile path). */
  profilePath: string | null
  log: (line: string) => void
  /** ms to let V8 settle after each storm (default 3,000). */
  settleMs: number
  /** Seconds each CPU step runs, its 1 s warm-up included (default 5: 4 s measured; tests take 2: 1 s). */
  cpuSeconds: number
  /** The broker's process entry (default: as `start` picks it, ownRuntime). */
  entry: {cmd: string; args: string[]}
}

/** The reference workload: one subscription per connection, 256 B at QoS 1, 5,000 msg/s. */
export function calibrationSpec(connections: number, settleMs = 3_000, cpuSeconds?: number): Omit<MeasureSpec, 'log' | 'signal'> {
  return {
    ...(cpuSeconds === undefined ? {} : {cpuSeconds}),
    connections,
    subsPerConnection: 1,
    payloadBytes: 256,
    qos: 1,
    msgRate: 5_000,
    broadcastSubscribers: Math.min(connections, 10_000),
    queuedMessages: Math.min(10_000, Math.max(1_000, connections)),
    retainedMessages: Math.min(10_000, Math.max(1_000, connections)),
    tlsConnections: Math.min(1_000, connections),
    settleMs,
  }
}

export async function calibrate(o: Partial<CalibrateOptions> = {}): Promise<RuntimeProfile> {
  const connections = o.connections ?? 5000
  const path = o.profilePath === undefined ? hostProfilePath() : o.profilePath
  const spec = calibrationSpec(connections, o.settleMs, o.cpuSeconds)
  const m = await measure({...spec, ...(o.entry ? {entry: o.entry} : {}), log: o.log, signal: AbortSignal.timeout(10 * 60_000)})
  const profile = profileFrom(m, spec, 'host', `mqttctl bench calibrate --connections ${connections}`)
  if (path) saveRuntimeProfile(path, profile)
  return profile
}
