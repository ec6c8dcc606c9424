/**
 * Doctor checks that touch the running system: ports (free, or held by our broker per the data
 * directory's broker.json), TLS files, data directory space, monitoring endpoint, a 20-client load test.
 */
import {accessSync, constants, existsSync, mkdtempSync, rmSync, statfsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {formatBytes, formatInt} from '../cli/render.js'
import type {BrokerConfig, ListenerConfig} from '../config/index.js'
import {type BrokerState, isAlive} from '../broker/process/state.js'
import {connectHost, hostPort, probePort} from '../net.js'
import type {DoctorCheck} from './types.js'

export async function checkPort(listener: ListenerConfig, state: BrokerState | undefined): Promise<DoctorCheck> {
  const base = {id: `port-${listener.port}`, name: `Port ${listener.port}${listener.tls ? ' (TLS)' : ''} free or ours`}
  if (listener.port === 0) return {...base, status: 'warn', detail: 'port 0: the broker picks a free port at each start; devices cannot find it', fix: 'set a fixed port (1883, or 8883 for TLS)'}
  const code = await probePort(listener.host, listener.port)
  if (code === null) return {...base, status: 'pass', detail: `${listener.host}:${listener.port} is free`}
  const ours = state && isAlive(state.pid) && state.listeners.some((l) => l.port === listener.port)
  if (code === 'EADDRINUSE' && ours) return {...base, status: 'pass', detail: `served by our broker (pid ${state.pid}, version ${state.version})`}
  if (code === 'EADDRINUSE') {
    return {...base, status: 'fail', detail: `${listener.host}:${listener.port} is in use by another process`, fix: `find it with: ss -ltnp 'sport = :${listener.port}' (stop it, e.g. systemctl stop mosquitto) or change listeners[].port`}
  }
  if (code === 'EACCES') return {...base, status: 'fail', detail: `not allowed to bind port ${listener.port}`, fix: 'use a port above 1023 or run with CAP_NET_BIND_SERVICE'}
  return {...base, status: 'fail', detail: `cannot bind ${listener.host}:${listener.port} (${code})`, fix: 'check listeners[].host is an address of this machine'}
}

export function checkTls(config: BrokerConfig): DoctorCheck {
  const base = {id: 'tls', name: 'MQTT over TLS (8883)'}
  const tls = config.listeners.filter((l) => l.tls)
  if (tls.length === 0) {
    return {...base, status: 'warn', detail: 'no TLS listener: device credentials and payloads cross the network in clear', fix: 'add a listener {"host": "0.0.0.0", "port": 8883, "tls": {"cert": "...", "key": "..."}} and open 8883 in the firewall'}
  }
  const unreadable = tls.flatMap((l) => [l.tls!.cert, l.tls!.key, ...(l.tls!.ca ? [l.tls!.ca] : [])]).filter((f) => {
    try {
      accessSync(f, constants.R_OK)
      return false
    } catch {
      return true
    }
  })
  if (unreadable.length > 0) return {...base, status: 'fail', detail: `cannot read ${unreadable.join(', ')}`, fix: 'fix the tls.cert / tls.key paths or their permissions'}
  return {...base, status: 'pass', detail: `TLS on port ${tls.map((l) => l.port).join(', ')}; certificate and key readable`}
}

/** Disk a fleet's persistent state needs: sessions, subscriptions and queued messages per device, plus logs. */
export const DISK_PER_DEVICE = 8 * 1024
export const DISK_BASE = 100 * 1000 * 1000

export function checkDataDir(dataDir: string, connections: number): DoctorCheck {
  const base = {id: 'data-dir', name: 'Data directory writable, space for the plan'}
  let existing = dataDir
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing)
  const created = existing !== dataDir
  try {
    const probe = mkdtempSync(join(existing, '.mqttctl-doctor-'))
    rmSync(probe, {recursive: true, force: true})
  } catch (error) {
    return {...base, status: 'fail', detail: `${existing} is not writable (${(error as NodeJS.ErrnoException).code})`, fix: `chown the data directory to the broker's user, or set dataDir to a writable path`}
  }
  const fs = statfsSync(existing)
  const free = fs.bavail * fs.bsize
  const need = DISK_BASE + connections * DISK_PER_DEVICE
  const where = created ? `${dataDir} does not exist yet (start creates it in ${existing})` : `${dataDir} is writable`
  const space = `${formatBytes(free)} free, ${formatBytes(need)} wanted for ${formatInt(connections)} sessions and logs`
  if (free < need) return {...base, status: 'fail', detail: `${where}; only ${space}`, fix: 'free space or move dataDir to a larger volume'}
  if (free < 2 * need) return {...base, status: 'warn', detail: `${where}; ${space} (less than twice)`, fix: 'leave room for queued messages and log growth'}
  return {...base, status: 'pass', detail: `${where}; ${space}`}
}

export async function checkMonitoring(config: BrokerConfig, state: BrokerState | undefined, timeoutMs = 2_000): Promise<DoctorCheck> {
  const base = {id: 'monitoring', name: 'Monitoring reachable'}
  if (!config.metrics.enabled) {
    return {...base, status: 'warn', detail: 'metrics endpoint disabled: only $SYS topics and the 5 s log lines', fix: 'set metrics.enabled true and scrape /metrics with Prometheus, or watch mqttctl monitor'}
  }
  const running = state && isAlive(state.pid) ? state : undefined
  if (!running) return {...base, status: 'warn', detail: `broker not running: metrics on ${config.metrics.host}:${config.metrics.port} not reachable yet`, fix: 'start the broker (mqttctl start) and run doctor again'}
  const m = running.metrics ?? config.metrics
  const url = `http://${hostPort(connectHost(m.host), m.port)}/healthz`
  try {
    const res = await fetch(url, {signal: AbortSignal.timeout(timeoutMs)})
    if (res.ok) return {...base, status: 'pass', detail: `${url} answers ${res.status}`}
    return {...base, status: 'fail', detail: `${url} answers ${res.status}`, fix: 'the broker is shutting down or unhealthy: see its log'}
  } catch (error) {
    return {...base, status: 'fail', detail: `${url} does not answer (${(error as Error).message})`, fix: 'check metrics.host/metrics.port and the firewall'}
  }
}
