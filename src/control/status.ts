/**
 * `mqttctl status`: is a broker running on this data directory, and how is it doing.
 * Process facts come from broker.pid / broker.json and /proc; connections and messages from the
 * broker's retained $SYS topics, read over MQTT for up to ~1 s. Those are as of the broker's last
 * statistics tick (every statsInterval seconds), so status reports their age. A figure that cannot
 * be read is null ("unknown"), never a failure.
 */
import {readFileSync} from 'node:fs'
import type {MonitorSnapshot} from '../monitor/snapshot.js'
import {SysClient} from '../monitor/sys-client.js'
import {connectHost, hostPort} from '../net.js'
import {type BrokerFiles, isBrokerAlive, readPid, readState} from '../broker/process/state.js'

export interface BrokerStatus {
  running: boolean
  pid: number | null
  dataDir: string
  startedAt: string | null
  uptimeSeconds: number | null
  listeners: Array<{host: string; port: number; tls: boolean; websocket?: boolean}>
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
  /** The store, from $SYS: durable or memory, bytes on disk, persistent sessions, messages kept, fsyncs, degraded. */
  store: {durable: boolean; bytes: number | null; sessions: number | null; messages: number | null; fsyncs: number | null; fsyncP99Ms: number | null; degraded: boolean} | null
  version: string | null
  configFile: string | null
  logFile: string | null
  metrics: {host: string; port: number} | null
  /** A pid file or broker.json names a process that is gone. */
  stalePid: number | null
}

/** Resident memory of a process from /proc/<pid>/status (VmRSS), bytes; null elsewhere. */
export function rssOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : null
  } catch {
    return null
  }
}

/** Who status reads $SYS as (a broker with a password file refuses anonymous readers). */
export interface Credentials {
  username?: string
  password?: string
}

/**
 * The broker's retained $SYS statistics, read from a plain-TCP listener by the monitor's client
 * (one table of topic names: src/broker/stats/sys-topics.ts); undefined when they cannot be read
 * within timeoutMs.
 */
export async function readSys(listener: {host: string; port: number}, timeoutMs = 1_000, credentials: Credentials = {}): Promise<MonitorSnapshot | undefined> {
  let client: SysClient
  try {
    // With a password file the broker refuses anonymous readers: -u/-P, or the same MQTTCTL_USERNAME / MQTTCTL_PASSWORD as monitor.
    const username = credentials.username ?? process.env.MQTTCTL_USERNAME
    const password = credentials.password ?? process.env.MQTTCTL_PASSWORD
    client = await SysClient.connect({url: `mqtt://${hostPort(connectHost(listener.host), listener.port)}`, clientId: `mqttctl-status-${process.pid}`, timeoutMs, username, password})
  } catch {
    return undefined
  }
  const snapshot = client.latest()
  await client.close().catch(() => {})
  return snapshot
}

export async function brokerStatus(files: BrokerFiles, options: {now?: number; sysTimeoutMs?: number; credentials?: Credentials} = {}): Promise<BrokerStatus> {
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
    store: null,
    version: current?.version ?? null,
    configFile: current?.configFile ?? null,
    logFile: running ? files.logFile : null,
    metrics: current?.metrics ?? null,
    stalePid: pid !== null && !running ? pid : null,
  }
  const plain = status.listeners.find((l) => !l.tls && !l.websocket)
  if (running && plain) {
    const sys = await readSys(plain, options.sysTimeoutMs, options.credentials)
    if (sys) {
      const f = sys.figures
      status.connections = f.connectionsLive ?? null
      status.maxConnections ??= f.connectionsMax ?? null
      status.messages = {received: f.messagesReceived ?? null, sent: f.messagesSent ?? null}
      status.rssBytes ??= f.rssBytes ?? null
      if (f.storeDurable !== undefined) {
        status.store = {
          durable: f.storeDurable === 1,
          bytes: f.storeBytes ?? null,
          sessions: f.storeSessions ?? null,
          messages: f.storeMessages ?? null,
          fsyncs: f.storeFsyncs ?? null,
          fsyncP99Ms: f.storeFsyncP99Ms ?? null,
          degraded: f.storeDegraded === 1,
        }
      }
      // The time of the broker's statistics tick ($SYS/broker/mqttctl/timestamp).
      status.figuresAgeSeconds = Math.max(0, Math.round(((options.now ?? Date.now()) - sys.time) / 1000))
    }
  }
  return status
}
