/**
 * Options of one `mqttctl bench` run: the type, per-mode defaults, validation, and the loopback
 * guard (a run refuses any target outside 127.0.0.0/8 and ::1 unless allowRemote is set).
 */
import {lookup} from 'node:dns/promises'
import {readFileSync} from 'node:fs'
import {isIP} from 'node:net'
import {isAlive} from '../broker/process/state.js'
import {MqttctlError} from '../errors.js'

export const MODES = ['conn', 'pub', 'sub', 'pubsub', 'fanout', 'latency'] as const
export type BenchMode = (typeof MODES)[number]

export interface BenchOptions {
  mode: BenchMode
  host: string
  port: number
  tls: boolean
  /** TLS: CA file contents, client cert/key contents, skip verification. */
  ca?: string
  cert?: string
  key?: string
  insecure?: boolean
  username?: string
  password?: string
  /** 3 (MQTT 3.1), 4 (3.1.1), 5. */
  protocol: 3 | 4 | 5
  /** Clients: connections (conn), publishers (pub, pubsub, latency), subscribers (sub, fanout). */
  clients: number
  /** Subscribers in pubsub/latency; defaults to `clients` (1:1 pairs). */
  subscribers: number
  /** Topic; `%i` is the client index. */
  topic: string
  /** Subscription filter for subscribers; defaults to `topic`. */
  subTopic: string
  clientId: string
  size: number
  qos: 0 | 1 | 2
  retain: boolean
  /** Total messages per second over all publishers (0 = as fast as the window allows). */
  rate: number
  /** Milliseconds between two messages of one publisher (alternative to rate), or between broadcasts. */
  interval: number
  /** Seconds; 0 = until count. */
  duration: number
  /** Total messages (pub modes) or broadcasts (fanout); 0 = until duration. */
  count: number
  /** Seconds of load excluded from the rates at the start. */
  warmup: number
  /** Max messages published but not yet received (process-local closed loop; 0 = open loop). */
  window: number
  /** Max unacknowledged QoS 1/2 messages per publisher. */
  inflight: number
  /** Messages written per socket write. */
  batch: number
  /** Connections per second while connecting (0 = as fast as possible). */
  connectRate: number
  /** Pending connection attempts at once. */
  connectConcurrency: number
  connectTimeout: number
  keepalive: number
  /** Source addresses, used round robin (more than ~60,000 connections from one host). */
  ifaddr: string[]
  /** conn mode: subscribe each connection to `topic`. */
  subscribe: boolean
  /** Subscribers keep a persistent session (clean session 0): with a durable store their messages go to disk. */
  persistentSubs: boolean
  /** fanout: an unrelated pair measuring the longest stall while broadcasts run. */
  probe: boolean
  /** Seconds to wait for messages still in flight after publishing stops. */
  drainTimeout: number
  workers: number
  allowRemote: boolean
  /** A broker process to sample (CPU, RSS) during the run; Linux /proc only. */
  brokerPid?: number
  /** Subscribers connect to this port of `host` instead of `port` (another cluster node; the suite's scale-out scenario). */
  subPort?: number
}

export const DEFAULTS: Omit<BenchOptions, 'mode'> = {
  host: '127.0.0.1',
  port: 1883,
  tls: false,
  protocol: 4,
  clients: 10,
  subscribers: -1,
  topic: 'bench/%i',
  subTopic: '',
  clientId: `bench-${process.pid}-%i`,
  size: 64,
  qos: 0,
  retain: false,
  rate: 0,
  interval: 0,
  duration: 10,
  count: 0,
  warmup: 0,
  window: 10_000,
  inflight: 100,
  batch: 64,
  connectRate: 0,
  connectConcurrency: 50,
  connectTimeout: 10,
  keepalive: 300,
  persistentSubs: false,
  ifaddr: [],
  subscribe: false,
  probe: false,
  drainTimeout: 5,
  workers: 1,
  allowRemote: false,
}

/** Defaults that differ by mode, applied before the user's own values. */
const MODE_DEFAULTS: Partial<Record<BenchMode, Partial<BenchOptions>>> = {
  latency: {clients: 1, rate: 5000, topic: 'bench/lat/%i'},
  fanout: {clients: 100, topic: 'bench/fanout', interval: 100},
}

/** A bad bench flag or combination: exit 2. */
export class BenchUsageError extends MqttctlError {
  constructor(message: string) {
    super(message, 2)
  }
}

/** Fills defaults and checks ranges; throws BenchUsageError on a bad combination. */
export function normalize(mode: BenchMode, given: Partial<BenchOptions>): BenchOptions {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined))
  const o: BenchOptions = {...DEFAULTS, ...MODE_DEFAULTS[mode], ...defined, mode}
  // sub: -c is the number of subscribers (as for fanout); pubsub/latency: one subscriber per publisher.
  if (mode === 'sub') o.subscribers = o.clients
  else if (o.subscribers < 0) o.subscribers = mode === 'pubsub' || mode === 'latency' ? o.clients : 0
  if (!o.subTopic) o.subTopic = o.topic
  // Timestamp (8 bytes) and broadcast sequence number (4 bytes) live at the head of the payload.
  if (o.size < 12) throw new BenchUsageError('--size must be at least 12 bytes (timestamp and sequence number)')
  if (o.duration <= 0 && o.count <= 0 && mode !== 'conn')
    throw new BenchUsageError('give --duration or --count: every run must stop by itself')
  if (mode === 'conn' && o.duration <= 0) throw new BenchUsageError('conn needs --duration > 0')
  if (o.duration > 24 * 3600) throw new BenchUsageError('--duration is capped at 24 h')
  if (o.clients < 1) throw new BenchUsageError('-c must be at least 1')
  if (o.interval > 0 && mode !== 'fanout') o.rate = (o.clients * 1000) / o.interval
  if (mode === 'fanout' && o.interval <= 0 && o.workers > 1)
    throw new BenchUsageError('fanout with --workers needs --interval > 0')
  if (o.workers < 1 || o.workers > 64) throw new BenchUsageError('--workers must be 1..64')
  if (o.inflight < 1 || o.inflight > 65_000) throw new BenchUsageError('--inflight must be 1..65000')
  if (o.subPort !== undefined && !(Number.isInteger(o.subPort) && o.subPort >= 1 && o.subPort <= 65_535)) throw new BenchUsageError(`subscribers' port ${o.subPort} must be 1..65535`)
  return o
}

/** Is this address literal on the loopback interface? */
export function isLoopbackAddress(address: string): boolean {
  const a = address.replace(/^\[|\]$/g, '').toLowerCase()
  if (isIP(a) === 4) return a.startsWith('127.')
  if (a.startsWith('::ffff:')) return isLoopbackAddress(a.slice(7))
  return a === '::1' || a === '0:0:0:0:0:0:0:1'
}

/** Throws unless every address `host` resolves to is loopback (or allowRemote). */
export async function assertLoopback(host: string, allowRemote: boolean): Promise<void> {
  if (allowRemote) return
  const refuse = (why: string) =>
    new BenchUsageError(`refusing to load ${host} (${why}): bench targets loopback only unless --allow-remote is given`)
  if (isIP(host.replace(/^\[|\]$/g, ''))) {
    if (!isLoopbackAddress(host)) throw refuse('not a loopback address')
    return
  }
  let addresses: {address: string}[]
  try {
    addresses = await lookup(host, {all: true})
  } catch {
    throw refuse('does not resolve')
  }
  if (addresses.length === 0 || !addresses.every((a) => isLoopbackAddress(a.address)))
    throw refuse(`resolves to ${addresses.map((a) => a.address).join(', ')}`)
}

/** mqtt://user:pass@host:port or mqtts://… into host/port/tls/credentials. */
export function parseUrl(url: string): Partial<BenchOptions> {
  const u = new URL(url)
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:'].includes(u.protocol))
    throw new BenchUsageError(`unsupported URL scheme ${u.protocol} (mqtt: or mqtts:)`)
  const tls = u.protocol !== 'mqtt:' && u.protocol !== 'tcp:'
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : tls ? 8883 : 1883,
    tls,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
  }
}

/** `%i` placeholder expansion. */
export function expand(template: string, index: number): string {
  return template.includes('%i') ? template.replaceAll('%i', String(index)) : template
}

/** Messages each publish should produce at this process's subscribers (for the closed-loop window). */
export function deliveriesPerPublish(o: BenchOptions): number {
  if (o.subscribers === 0) return 0
  return o.subTopic.includes('%i') ? 1 : o.subscribers
}

/**
 * `mqttctl bench` flags (as oclif parsed them, by flag name) -> the options of one run: --url over
 * --host/--port, --rate as the connect rate for conn, TLS files read. Throws BenchUsageError (exit 2).
 */
export function optionsFromFlags(mode: BenchMode, f: Record<string, unknown>): Partial<BenchOptions> {
  const str = (k: string) => f[k] as string | undefined
  const int = (k: string) => (f[k] === undefined ? undefined : Number(f[k]))
  const file = (k: string) => {
    if (!str(k)) return undefined
    try {
      return readFileSync(str(k)!, 'utf8')
    } catch (error) {
      throw new BenchUsageError(`--${k} ${JSON.stringify(str(k))} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); allowed: a readable PEM file`)
    }
  }
  let fromUrl: Partial<BenchOptions> = {}
  if (str('url')) {
    try {
      fromUrl = parseUrl(str('url')!)
    } catch (error) {
      if (error instanceof BenchUsageError) throw new BenchUsageError(`--url ${JSON.stringify(str('url'))}: ${error.message}`)
      throw new BenchUsageError(`--url ${JSON.stringify(str('url'))} is not a URL; allowed: mqtt://[user:pass@]host[:port] or mqtts://…`)
    }
  }
  const pid = int('broker-pid')
  if (pid !== undefined && !isAlive(pid)) throw new BenchUsageError(`--broker-pid ${pid}: no such process; give the pid of the broker under test (e.g. from \`mqttctl status\`)`)
  const o: Partial<BenchOptions> = {
    host: str('host'),
    port: int('port'),
    ...fromUrl,
    clients: int('clients'),
    subscribers: int('subscribers'),
    topic: str('topic'),
    subTopic: str('sub-topic'),
    clientId: str('client-id'),
    size: int('size'),
    qos: int('qos') as BenchOptions['qos'] | undefined,
    retain: f.retain as boolean,
    protocol: int('protocol') as BenchOptions['protocol'] | undefined,
    rate: mode === 'conn' ? undefined : int('rate'),
    connectRate: mode === 'conn' && f.rate !== undefined ? int('rate') : int('connect-rate'),
    interval: int('interval'),
    duration: int('duration'),
    count: int('count'),
    warmup: int('warmup'),
    window: int('window'),
    inflight: int('inflight'),
    batch: int('batch'),
    connectConcurrency: int('connect-concurrency'),
    keepalive: int('keepalive'),
    ifaddr: str('ifaddr')?.split(',').map((s) => s.trim()).filter(Boolean),
    subscribe: f.subscribe as boolean,
    probe: f.probe as boolean,
    workers: int('workers'),
    allowRemote: f['allow-remote'] as boolean,
    brokerPid: int('broker-pid'),
    ca: file('ca'),
    cert: file('cert'),
    key: file('key'),
    insecure: f.insecure as boolean,
  }
  if (str('username') !== undefined) o.username = str('username')
  if (str('password') !== undefined) o.password = str('password')
  if (f.tls) o.tls = true
  return o
}
