/**
 * `mqttctl monitor` without oclif: connect, then print one snapshot (--once), stream JSON lines or
 * plain lines, or keep a live dashboard on a TTY until q / Ctrl-C / SIGTERM.
 */
import {activeProfile, resolveWorkload, type RuntimeProfile} from '../sizing/index.js'
import {runtimeMemory} from '../sizing/runtime.js'
import {isoSeconds} from '../broker/log.js'
import {SYS_TOPICS} from '../broker/stats/sys-topics.js'
import {renderDashboard} from './dashboard.js'
import {History, type Point, type Rates} from './history.js'
import type {Figure, Loads} from './snapshot.js'
import {SysClient} from './sys-client.js'
import {Screen, type TtyIn, type TtyOut} from './terminal.js'
import {type Warning, warningsFor} from './warnings.js'
import {formatBytes, formatInt} from '../cli/render.js'
import {perSecond} from './dashboard.js'
import type {ClusterView} from './cluster.js'
import {type NodeRow, NodeWatch, nodeRow} from './cluster-nodes.js'

export interface MonitorOptions {
  url: string
  username?: string
  password?: string
  clientId?: string
  timeoutSeconds: number
  /** Seconds between JSON / plain lines; undefined: one line per broker update. */
  intervalSeconds?: number
  once: boolean
  json: boolean
  color: boolean
  out: TtyOut & {isTTY?: boolean}
  input?: TtyIn
  /** Where streamed JSON lines and plain lines go (defaults to out.write with a newline). A single
   * --json snapshot is not printed: it is the return value. */
  print?(line: string): void
  /** V8 heap limit, bytes, when the broker publishes none ($SYS .../process/heap/limit): warn when the heap nears it. */
  heapLimitBytes?: number
  /** The runtime profile the plan figure comes from; default as `plan`'s: this host's when saved, else the shipped one. */
  profile?: RuntimeProfile
  /** Other nodes of the cluster to show beside this one (--node): one $SYS connection each. */
  nodeUrls?: readonly string[]
  /** Resolves to stop a live monitor (tests); SIGINT/SIGTERM always stop it. */
  stopSignal?: Promise<void>
}

/** The object `--json` prints: every figure (null when the broker doesn't publish it), rates, warnings. */
export type MonitorJson = {
  time: string
  url: string
  version: string | null
  rates: Rates
  loads: Loads
  /** A cluster node's figures: its NATS link, its traffic through NATS, the cluster's totals (src/monitor/cluster.ts); null for a single broker. */
  cluster: ClusterView | null
  /** With --node: this node's row and each --node's (src/monitor/cluster-nodes.ts); else null. */
  nodes: NodeRow[] | null
  warnings: string[]
} & Record<Figure, number | null>

/**
 * The memory `mqttctl plan` estimates for this runtime at `live` connections of a broker limited to
 * `max`, bytes: the runtime estimate's total (src/sizing/runtime.ts: the profile's idle baseline plus
 * each connection and its one subscription, the larger of settled and right after a reconnect
 * storm), from `profile` (monitor's default: plan's, this host's when saved, else the shipped one).
 * Not the guide's practice range: that sizes the guide's broker, not the process being watched.
 */
export function plannedMemory(live: number, max: number | undefined, profile: RuntimeProfile): number | undefined {
  // No limit published (Mosquitto): not our runtime, so no plan figure rather than a made-up one.
  if (max === undefined || max <= 0) return undefined
  try {
    const w = resolveWorkload({devices: Math.round(max), active: Math.min(Math.round(max), Math.max(0, Math.round(live)))})
    return runtimeMemory(profile, w).totalBytes
  } catch {
    return undefined
  }
}

export function toJson(url: string, point: Point, warnings: readonly Warning[], nodes?: NodeWatch): MonitorJson {
  const {snapshot, rates} = point
  const figures = Object.fromEntries(SYS_TOPICS.map(({key}) => [key, snapshot.figures[key] ?? null])) as Record<Figure, number | null>
  return {
    time: new Date(snapshot.time).toISOString(),
    url,
    version: snapshot.version ?? null,
    ...figures,
    rates,
    loads: snapshot.loads,
    cluster: snapshot.cluster ?? null,
    nodes: nodes ? [nodeRow(url, snapshot), ...nodes.rows()] : null,
    warnings: warnings.map((w) => w.message),
  }
}

/** One plain line per update, for logs and pipes. */
export function plainLine(point: Point, warnings: readonly Warning[]): string {
  const f = point.snapshot.figures
  const r = point.rates
  const n = (v: number | undefined) => (v === undefined ? 'n/a' : formatInt(v))
  const b = (v: number | undefined) => (v === undefined ? 'n/a' : formatBytes(v))
  const ratio = f.cacheHitRatio === undefined ? 'n/a' : `${(f.cacheHitRatio * 100).toFixed(1)} %`
  const time = isoSeconds(new Date(point.snapshot.time))
  const line =
    `${time} connections ${n(f.connectionsLive)}/${n(f.connectionsMax)} ` +
    `msgs in ${n(f.messagesReceived)} (${perSecond(r.messagesIn, 'msg')}) out ${n(f.messagesSent)} (${perSecond(r.messagesOut, 'msg')}) ` +
    `bytes in ${b(f.bytesReceived)} out ${b(f.bytesSent)} cache ${ratio} orphan ${n(f.sessionsOrphan)} ` +
    `dropped ${n(f.messagesDropped)} rss ${b(f.rssBytes)}` +
    (point.snapshot.cluster ? ` cluster ${point.snapshot.cluster.node} link ${point.snapshot.cluster.connected === null ? 'n/a' : point.snapshot.cluster.connected ? 'up' : 'down'} nodes ${n(point.snapshot.cluster.nodes ?? undefined)} clients ${n(point.snapshot.cluster.total.clients ?? undefined)}` : '')
  return [line, ...warnings.map((w) => `${time} WARNING: ${w.message}`)].join('\n')
}

export async function runMonitor(options: MonitorOptions): Promise<MonitorJson> {
  const print = options.print ?? ((line: string) => options.out.write(line + '\n'))
  const client = await SysClient.connect({
    url: options.url,
    username: options.username,
    password: options.password,
    clientId: options.clientId,
    timeoutMs: options.timeoutSeconds * 1000,
  })
  const nodes = options.nodeUrls?.length ? await NodeWatch.connect(options.nodeUrls, {username: options.username, password: options.password, timeoutMs: options.timeoutSeconds * 1000}) : undefined
  const history = new History()
  const profile = options.profile ?? activeProfile().profile
  const warningsNow = () => {
    const f = history.latest()?.snapshot.figures
    return warningsFor(history.points, {plannedMemory: (live) => plannedMemory(live, f?.connectionsMax, profile), heapLimitBytes: options.heapLimitBytes})
  }
  history.push(client.latest()!)
  client.on('snapshot', (s) => history.push(s))
  const current = () => toJson(options.url, history.latest()!, warningsNow(), nodes)

  try {
    if (options.once || (options.json && options.intervalSeconds === undefined)) {
      // --json: the caller prints the returned object (oclif's --json does).
      if (!options.json) print(dashboardLines(options, history, profile, undefined, nodes).join('\n'))
      return current()
    }
    await live(options, client, history, print, warningsNow, profile, nodes)
    return current()
  } finally {
    await nodes?.close()
    await client.close()
  }
}

function dashboardLines(options: MonitorOptions, history: History, profile: RuntimeProfile, footer?: string, nodes?: NodeWatch): string[] {
  const latest = history.latest()
  const f = latest?.snapshot.figures
  const planned = f?.connectionsLive === undefined ? undefined : plannedMemory(f.connectionsLive, f.connectionsMax, profile)
  const warnings = warningsFor(history.points, {plannedMemory: () => planned, heapLimitBytes: options.heapLimitBytes})
  return renderDashboard({
    url: options.url,
    points: history.points,
    warnings,
    plannedMemory: planned,
    heapLimitBytes: options.heapLimitBytes,
    width: Math.min(options.out.columns ?? 80, 120),
    color: options.color,
    footer,
    nodes: nodes ? [nodeRow(options.url, latest?.snapshot), ...nodes.rows()] : undefined,
  })
}

async function live(
  options: MonitorOptions,
  client: SysClient,
  history: History,
  print: (line: string) => void,
  warningsNow: () => Warning[],
  profile: RuntimeProfile,
  nodes?: NodeWatch,
): Promise<void> {
  // --interval asks for a line every SECONDS: lines then, even on a terminal.
  const tty = options.out.isTTY === true && !options.json && options.intervalSeconds === undefined
  const screen = tty ? new Screen(options.out, options.input) : undefined
  let timer: NodeJS.Timeout | undefined
  let stop!: (error?: Error) => void
  const done = new Promise<void>((resolve, reject) => {
    stop = (error) => (error ? reject(error) : resolve())
  })
  const onSignal = () => stop()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  options.stopSignal?.then(() => stop())
  client.on('error', (error) => stop(error))

  const emit = () => {
    const point = history.latest()!
    if (options.json) print(JSON.stringify(toJson(options.url, point, warningsNow(), nodes)))
    else print(plainLine(point, warningsNow()))
  }
  try {
    if (screen) {
      screen.start(() => stop())
      screen.draw(dashboardLines(options, history, profile, undefined, nodes))
      client.on('snapshot', () => screen.draw(dashboardLines(options, history, profile, undefined, nodes)))
    } else {
      emit()
      if (options.intervalSeconds === undefined) client.on('snapshot', emit)
      else timer = setInterval(emit, options.intervalSeconds * 1000)
    }
    await done
  } finally {
    clearInterval(timer)
    screen?.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
