/**
 * The statistics reporter: the broker's ONE periodic wake-up (every config.statsInterval seconds,
 * unref'd). Each tick samples the process, updates the load averages, logs the guide's block at
 * info and publishes the retained $SYS topics (only those whose value changed, as Mosquitto does).
 * It also owns the metrics HTTP listener when config.metrics.enabled (loaded only then: node:http is
 * a dynamic import, so a broker without metrics never loads it).
 */
import type {BrokerConfig} from '../../config/index.js'
import {type Clock, type TimerHandle, systemClock} from '../clock.js'
import type {Logger} from '../log.js'
import type {MetricsHttpServer} from '../listeners/metrics-http.js'
import type {BrokerStats} from './counters.js'
import {LoadAverages, type LoadValues} from './loads.js'
import {type ProcessSample, ProcessSampler} from './process.js'
import {type Metric, PROMETHEUS_CONTENT_TYPE, prometheusText} from './prometheus.js'
import {loadCounters, type StatsSnapshot, takeSnapshot} from './snapshot.js'
import {statsLogLines} from './stats-log.js'
import {SYS_PREFIX, SYS_TIMESTAMP_TOPIC, sysMessages} from './sys-topics.js'

/** What the reporter needs from the broker (the Broker interface satisfies it). */
export interface ReporterHost {
  readonly config: BrokerConfig
  readonly stats: BrokerStats
  readonly logger: Logger
  publish(topic: string, payload: Buffer | string, options?: {qos?: 0 | 1 | 2; retain?: boolean}): void
}

export interface Reporter {
  /** Resolves with the metrics listener's address once it listens (undefined when disabled); rejects if it cannot bind. */
  readonly metrics: Promise<{host: string; port: number} | undefined>
  /** A fresh snapshot: counters and memory now, CPU % of the last tick's window (does not advance it, nor the load averages). */
  snapshot(): StatsSnapshot
  /** Runs one tick now (tests, and a final figure at shutdown). */
  tick(): void
  stop(): Promise<void>
}

/** Topics republished on every tick even when unchanged. */
const ALWAYS = new Set([SYS_PREFIX + 'uptime', SYS_TIMESTAMP_TOPIC])

export interface ReporterOptions {
  /** Time of the snapshots and the tick timer (default: the system clock). */
  clock?: Clock
  /** The package version, for $SYS/broker/version and Prometheus (the process entry knows it; the broker does not read package.json). */
  version?: string
  /** More metric families for /metrics after the broker's own (a cluster node's figures). */
  extraMetrics?: () => Metric[]
}

export function startReporter(broker: ReporterHost, options: ReporterOptions = {}): Reporter {
  const clock = options.clock ?? systemClock
  const now = (): number => clock.now()
  const {config, stats, logger} = broker
  const sampler = new ProcessSampler()
  const loads = new LoadAverages()
  const version = `mqttctl ${options.version ?? '(version not given)'}`
  const lastPayload = new Map<string, string>()
  let loadValues: LoadValues = loads.values
  let stopped = false
  stats.maxConnections = config.maxConnections

  // The tick starts a new CPU window; a scrape or snapshot() between ticks only peeks, so a
  // Prometheus scrape just before a tick cannot shorten the window the log and $SYS report.
  const snapshotWith = (proc: ProcessSample): StatsSnapshot => {
    stats.maxConnections = config.maxConnections
    return takeSnapshot(stats, proc, version, now())
  }
  const snapshot = (): StatsSnapshot => snapshotWith(sampler.peek())

  const publishSys = (snap: StatsSnapshot): void => {
    for (const [topic, payload] of sysMessages(snap, loadValues)) {
      if (!ALWAYS.has(topic) && lastPayload.get(topic) === payload) continue
      lastPayload.set(topic, payload)
      try {
        broker.publish(topic, payload, {qos: 0, retain: true})
      } catch (error) {
        logger.warn(`$SYS publish ${topic} failed: ${(error as Error).message}`)
        return
      }
    }
  }

  const tick = (log: boolean): void => {
    const snap = snapshotWith(sampler.sample())
    loadValues = loads.update(loadCounters(snap), snap.time)
    if (log && logger.enabled('info')) for (const line of statsLogLines(snap)) logger.info(line)
    publishSys(snap)
  }

  // Values right away for a subscriber, without a log block at uptime 0.
  tick(false)
  const intervalMs = Math.max(1, config.statsInterval) * 1000
  let timer: TimerHandle | undefined
  const onTimer = (): void => {
    timer = clock.setTimeout(onTimer, intervalMs)
    tick(true)
  }
  timer = clock.setTimeout(onTimer, intervalMs)

  let server: MetricsHttpServer | undefined
  const metrics: Promise<{host: string; port: number} | undefined> = config.metrics.enabled
    ? import('../listeners/metrics-http.js').then(({startMetricsHttp}) => startMetricsHttp({
        host: config.metrics.host,
        port: config.metrics.port,
        contentType: PROMETHEUS_CONTENT_TYPE,
        metrics: () => prometheusText(snapshot(), options.extraMetrics?.()),
        healthy: () => !stopped,
      })).then(async (s) => {
        server = s
        if (stopped) await s.close()
        else logger.info(`Metrics on http://${s.host}:${s.port}/metrics (readiness: /healthz)`)
        return {host: s.host, port: s.port}
      })
    : Promise.resolve(undefined)
  metrics.catch((error: Error) => {
    logger.error(`Metrics listener on ${config.metrics.host}:${config.metrics.port} failed: ${error.message}`)
  })

  return {
    metrics,
    snapshot,
    tick: () => tick(true),
    async stop() {
      if (stopped) return
      stopped = true
      if (timer !== undefined) clock.clearTimeout(timer)
      timer = undefined
      await metrics.catch(() => undefined)
      await server?.close()
    },
  }
}
