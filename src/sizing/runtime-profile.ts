/**
 * The runtime profile: what the broker `mqttctl start` runs (one Node.js process) costs per unit,
 * measured with the bench engine (src/bench/measure.ts). The package ships one measured on a
 * reference host (src/sizing/runtime-profile.json, with its host, date, Node.js version and the
 * command that measured it); `mqttctl plan --verify` (or `bench calibrate`) measures this host and
 * saves a host profile, which replaces the shipped one when present.
 */
import {existsSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join} from 'node:path'
import {MqttctlError} from '../errors.js'
import {makeDirs} from '../fs.js'
import {packageRoot} from '../paths.js'

/** Per-unit costs. Bytes are resident memory (RSS) growth, CPU is broker CPU time. */
export interface RuntimeFigures {
  /** RSS of a started broker with no client. */
  baselineRssBytes: number
  /** One connection with no subscription, once V8 has settled after the connection storm. */
  bytesPerConnectionIdle: number
  /** The same, right after a storm of `workload.connections` connecting at once. */
  bytesPerConnectionStorm: number
  /** One subscription, settled. */
  bytesPerSubscriptionIdle: number
  /** One subscription, right after the storm. */
  bytesPerSubscriptionStorm: number
  /** One message queued for an offline session, beyond its payload. */
  bytesPerQueuedMessage: number
  /** One retained message, beyond its payload. */
  bytesPerRetainedMessage: number
  /** Broker CPU per message received from a publisher. */
  cpuMicrosPerMessageIn: number
  /** Broker CPU per message delivered to a subscriber (1:1, each delivery its own message). */
  cpuMicrosPerDeliveryOut: number
  /** Broker CPU per connection accepted (TCP accept, CONNECT, CONNACK). */
  cpuMicrosPerConnect: number
  /** Wall time of a broadcast per subscriber (one message to many on one topic). */
  broadcastMicrosPerSubscriber: number
  /** A TLS connection beyond a plain one, settled; null: not measured. */
  bytesPerTlsConnectionExtra: number | null
  /** Broker CPU per TLS connection accepted (handshake included); null: not measured. */
  cpuMicrosPerTlsConnect: number | null
  /** A WebSocket connection beyond a plain one; null until the WebSocket listener exists and is measured. */
  bytesPerWebSocketConnectionExtra: number | null
}

export interface ProfileHost {
  name: string
  cpu: string
  cores: number
  memoryBytes: number
  os: string
}

export interface RuntimeProfile {
  profileVersion: 1
  /** shipped: the package's reference host; host: measured on this host by plan --verify or bench calibrate. */
  kind: 'shipped' | 'host'
  measuredAt: string
  host: ProfileHost
  /** Node.js version of the measured broker. */
  node: string
  mqttctl: string
  /** Node.js flags the broker ran with. */
  nodeFlags: string[]
  /** The command that measured it. */
  command: string
  /** What was measured: connections, subscriptions, payload, rate, broadcast, stores. */
  workload: {connections: number; subsPerConnection: number; payloadBytes: number; qos: 0 | 1 | 2; msgRate: number; broadcastSubscribers: number; queuedMessages: number; retainedMessages: number; tlsConnections: number}
  figures: RuntimeFigures
  /** Figures not measured, and why. */
  notMeasured: Record<string, string>
}

/** Where a profile was read from. */
export interface LoadedProfile {
  profile: RuntimeProfile
  path: string
  /** Set when a host profile exists but could not be used (the shipped one is used instead). */
  warning?: string
}

export class RuntimeProfileError extends MqttctlError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message, 1)
    this.name = 'RuntimeProfileError'
  }
}

const NUMBERS = ['baselineRssBytes', 'bytesPerConnectionIdle', 'bytesPerConnectionStorm', 'bytesPerSubscriptionIdle', 'bytesPerSubscriptionStorm', 'bytesPerQueuedMessage', 'bytesPerRetainedMessage', 'cpuMicrosPerMessageIn', 'cpuMicrosPerDeliveryOut', 'cpuMicrosPerConnect', 'broadcastMicrosPerSubscriber'] as const
const NULLABLE = ['bytesPerTlsConnectionExtra', 'cpuMicrosPerTlsConnect', 'bytesPerWebSocketConnectionExtra'] as const
const WORKLOAD = ['connections', 'subsPerConnection', 'payloadBytes', 'qos', 'msgRate', 'broadcastSubscribers', 'queuedMessages', 'retainedMessages', 'tlsConnections'] as const
/** Largest figure accepted (a file is hostile input: no NaN, no negative, nothing absurd). */
const MAX_FIGURE = 1e12

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= MAX_FIGURE

/** Checks a parsed profile; throws RuntimeProfileError naming the first bad field. Returns a clean copy. */
export function validateRuntimeProfile(raw: unknown, path: string): RuntimeProfile {
  const bad = (field: string, value: unknown, expected: string) =>
    new RuntimeProfileError(path, `runtime profile ${path}: ${field} = ${JSON.stringify(value) ?? String(value)} is not allowed: expected ${expected}`)
  if (!isObject(raw)) throw new RuntimeProfileError(path, `runtime profile ${path} must hold one JSON object`)
  if (raw.profileVersion !== 1) {
    if ('bytesPerConnection' in raw) throw new RuntimeProfileError(path, `${path} is an older measured profile (bench calibrate before issue 14); run \`mqttctl plan --devices N --verify\` to replace it`)
    throw bad('profileVersion', raw.profileVersion, '1')
  }
  if (raw.kind !== 'shipped' && raw.kind !== 'host') throw bad('kind', raw.kind, '"shipped" or "host"')
  for (const k of ['measuredAt', 'node', 'mqttctl', 'command'] as const) if (typeof raw[k] !== 'string' || raw[k] === '') throw bad(k, raw[k], 'a non-empty string')
  if (Number.isNaN(Date.parse(raw.measuredAt as string))) throw bad('measuredAt', raw.measuredAt, 'an ISO 8601 date')
  const h = raw.host
  if (!isObject(h) || typeof h.name !== 'string' || typeof h.cpu !== 'string' || typeof h.os !== 'string' || !num(h.cores) || !num(h.memoryBytes)) {
    throw bad('host', h, '{name, cpu, cores, memoryBytes, os}')
  }
  if (!Array.isArray(raw.nodeFlags) || raw.nodeFlags.some((f) => typeof f !== 'string')) throw bad('nodeFlags', raw.nodeFlags, 'a list of strings')
  const w = raw.workload
  if (!isObject(w)) throw bad('workload', w, 'an object')
  for (const k of WORKLOAD) if (!num(w[k])) throw bad(`workload.${k}`, w[k], 'a number >= 0')
  const f = raw.figures
  if (!isObject(f)) throw bad('figures', f, 'an object')
  for (const k of NUMBERS) if (!num(f[k])) throw bad(`figures.${k}`, f[k], 'a number >= 0')
  for (const k of NULLABLE) if (f[k] !== null && !num(f[k])) throw bad(`figures.${k}`, f[k], 'a number >= 0 or null (not measured)')
  if (!num(f.cpuMicrosPerMessageIn) || (f.cpuMicrosPerMessageIn as number) + (f.cpuMicrosPerDeliveryOut as number) <= 0) throw bad('figures.cpuMicrosPerDeliveryOut', f.cpuMicrosPerDeliveryOut, 'CPU per message in + out > 0')
  const nm = raw.notMeasured ?? {}
  if (!isObject(nm) || Object.values(nm).some((v) => typeof v !== 'string')) throw bad('notMeasured', nm, 'an object of strings')
  return {
    profileVersion: 1,
    kind: raw.kind,
    measuredAt: raw.measuredAt as string,
    host: {name: h.name, cpu: h.cpu, cores: h.cores as number, memoryBytes: h.memoryBytes as number, os: h.os},
    node: raw.node as string,
    mqttctl: raw.mqttctl as string,
    nodeFlags: [...(raw.nodeFlags as string[])],
    command: raw.command as string,
    workload: Object.fromEntries(WORKLOAD.map((k) => [k, w[k]])) as RuntimeProfile['workload'],
    figures: Object.fromEntries([...NUMBERS, ...NULLABLE].map((k) => [k, f[k]])) as unknown as RuntimeFigures,
    notMeasured: {...(nm as Record<string, string>)},
  }
}

/** The shipped profile's place in the package, as plans name it (the same on every machine). */
export const SHIPPED_PROFILE = 'src/sizing/runtime-profile.json'

/** The profile shipped in the package, on disk. */
export function shippedProfilePath(): string {
  return join(packageRoot(), ...SHIPPED_PROFILE.split('/'))
}

/** The shipped profile as a plan names it. */
export function shippedLoaded(): LoadedProfile {
  return {profile: shippedProfile(), path: SHIPPED_PROFILE}
}

/** `$MQTTCTL_PROFILE`, else `~/.config/mqttctl/runtime-profile.json` (`$XDG_CONFIG_HOME` honoured). */
export function hostProfilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MQTTCTL_PROFILE) return env.MQTTCTL_PROFILE
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config')
  return join(base, 'mqttctl', 'runtime-profile.json')
}

/** Reads and validates one profile file (at most 1 MB). */
export function readRuntimeProfile(path: string): RuntimeProfile {
  let text: string
  try {
    const buf = readFileSync(path)
    if (buf.length > 1_000_000) throw new RuntimeProfileError(path, `runtime profile ${path} is ${buf.length} bytes; at most 1,000,000`)
    text = buf.toString('utf8')
  } catch (error) {
    if (error instanceof RuntimeProfileError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new RuntimeProfileError(path, code === 'ENOENT' ? `no runtime profile at ${path}; \`mqttctl plan --devices N --verify\` measures this host and saves one` : `cannot read runtime profile ${path}: ${code ?? (error as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new RuntimeProfileError(path, `runtime profile ${path} is not valid JSON: ${(error as Error).message}`)
  }
  return validateRuntimeProfile(raw, path)
}

let shipped: RuntimeProfile | undefined

export function shippedProfile(): RuntimeProfile {
  shipped ??= readRuntimeProfile(shippedProfilePath())
  return shipped
}

/** The host profile when one exists and is valid, else the shipped one (with a warning when the host file is unusable). */
export function activeProfile(env: NodeJS.ProcessEnv = process.env): LoadedProfile {
  const path = hostProfilePath(env)
  const loaded = shippedLoaded()
  if (!existsSync(path) && !env.MQTTCTL_PROFILE) return loaded
  try {
    return {profile: readRuntimeProfile(path), path}
  } catch (error) {
    return {...loaded, warning: `${(error as Error).message}; using the shipped profile`}
  }
}

/** Writes atomically (temp file + rename), creating the directory. */
export function saveRuntimeProfile(path: string, profile: RuntimeProfile): void {
  const valid = validateRuntimeProfile(profile, path)
  makeDirs(dirname(path))
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(valid, null, 2) + '\n')
  renameSync(tmp, path)
}
