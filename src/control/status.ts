/**
 * `mqttctl status`: is a broker running on this data directory, and how is it doing.
 * Process facts come from broker.pid / broker.json and /proc; connections and messages from the
 * broker's retained $SYS topics, read over MQTT for up to ~1 s. Those are as of the broker's last
 * statistics tick (every statsInterval seconds), so status reports their age. A figure that cannot
 * be read is null ("unknown"), never a failure.
 */
import {readFileSync} from 'node:fs'
import mqtt from 'mqtt'
import {type BrokerFiles, isBrokerAlive, readPid, readState} from './state.js'

export interface BrokerStatus {
  running: boolean
  pid: number | null
  dataDir: string
  startedAt: string | null
  uptimeSeconds: number | null
  listeners: Array<{host: string; port: number; tls: boolean}>
  connections: number | null
  maxConnections: number | null
  messages: {received: number | null; sent: number | null}
  /**
   * How old connections/messages are: the broker publishes $SYS once every statsInterval seconds,
   * so they are not live (a client that connected since is not counted yet). Null when unknown.
   */
  figuresAgeSeconds: number | null
  /** The broker's statsInterval (seconds between $SYS updates), when broker.json records it. */
  statsIntervalSeconds: number | null
  rssBytes: number | null
  version: string | null
  configFile: string | null
  logFile: string | null
  metrics: {host: string; port: number} | null
  /** A pid file or broker.json names a process that is gone. */
  stalePid: number | null
}

/** The $SYS topics status reads (Mosquitto's names). */
export const STATUS_TOPICS = {
  connections: '$SYS/broker/clients/connected',
  limit: '$SYS/broker/mqttctl/clients/limit',
  received: '$SYS/broker/publish/messages/received',
  sent: '$SYS/broker/publish/messages/sent',
  rss: '$SYS/broker/mqttctl/process/rss',
  /** Milliseconds since the epoch of the snapshot the other figures come from. */
  timestamp: '$SYS/broker/mqttctl/timestamp',
} as const

/** Resident memory of a process from /proc/<pid>/status (VmRSS), bytes; null elsewhere. */
export function rssOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/** Host to connect to for a listener bound to `host` (any-address -> loopback). */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1'
  if (host === '::' || host === '[::]') return '::1'
  return host
}

/** Reads retained $SYS topics from the first plain-TCP listener; missing ones are absent. */
export async function readSys(listener: {host: string; port: number}, timeoutMs = 1_000): Promise<Map<string, string>> {
  const values = new Map<string, string>()
  const wanted = new Set<string>(Object.values(STATUS_TOPICS))
  const client = mqtt.connect({
    host: connectHost(listener.host),
    port: listener.port,
    clientId: `mqttctl-status-${process.pid}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
  })
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        resolve()
      }
      client.on('error', done)
      client.on('close', done)
      client.on('connect', () => client.subscribe('$SYS/broker/#', {qos: 0}))
      client.on('message', (topic, payload) => {
        if (!wanted.has(topic)) return
        values.set(topic, payload.toString())
        if (values.size === wanted.size) done()
      })
    })
  } finally {
    await client.endAsync(true).catch(() => {})
  }
  return values
}

const num = (text: string | undefined): number | null => {
  const n = text === undefined ? Number.NaN : Number.parseInt(text, 10)
  return Number.isFinite(n) ? n : null
}

export async function brokerStatus(files: BrokerFiles, options: {now?: number; sysTimeoutMs?: number} = {}): Promise<BrokerStatus> {
  const state = readState(files)
  const pid = readPid(files) ?? state?.pid ?? null
  const running = pid !== null && isBrokerAlive(pid, files)
  const current = running && state?.pid === pid ? state : undefined
  const status: BrokerStatus = {
    running,
    pid: running ? pid : null,
    dataDir: files.dataDir,
    startedAt: current?.startedAt ?? null,
    uptimeSeconds: current ? Math.max(0, Math.floor(((options.now ?? Date.now()) - Date.parse(current.startedAt)) / 1000)) : null,
    listeners: current?.listeners ?? [],
    connections: null,
    maxConnections: current?.maxConnections ?? null,
    messages: {received: null, sent: null},
    figuresAgeSeconds: null,
    statsIntervalSeconds: current?.statsInterval ?? null,
    rssBytes: running ? rssOf(pid) : null,
    version: current?.version ?? null,
    configFile: current?.configFile ?? null,
    logFile: running ? files.logFile : null,
    metrics: current?.metrics ?? null,
    stalePid: pid !== null && !running ? pid : null,
  }
  const plain = status.listeners.find((l) => !l.tls)
  if (running && plain) {
    const sys = await readSys(plain, options.sysTimeoutMs).catch(() => new Map<string, string>())
    status.connections = num(sys.get(STATUS_TOPICS.connections))
    status.maxConnections ??= num(sys.get(STATUS_TOPICS.limit))
    status.messages = {received: num(sys.get(STATUS_TOPICS.received)), sent: num(sys.get(STATUS_TOPICS.sent))}
    status.rssBytes ??= num(sys.get(STATUS_TOPICS.rss))
    const at = num(sys.get(STATUS_TOPICS.timestamp))
    if (at !== null) status.figuresAgeSeconds = Math.max(0, Math.round(((options.now ?? Date.now()) - at) / 1000))
  }
  return status
}

/** 3725 -> "1h 2m 5s". */
export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400)
  const h = Math.floor((seconds % 86_400) / 3_600)
  const m = Math.floor((seconds % 3_600) / 60)
  const s = seconds % 60
  const parts = d > 0 ? [`${d}d`, `${h}h`, `${m}m`] : h > 0 ? [`${h}h`, `${m}m`, `${s}s`] : m > 0 ? [`${m}m`, `${s}s`] : [`${s}s`]
  return parts.join(' ')
}
