/**
 * The broker runtime's process logic: argv + env -> configuration -> data directory -> pid file ->
 * listen -> broker.json -> wait for SIGINT/SIGTERM -> graceful close -> exit code.
 * src/broker/main.ts calls this and exits with its result; tests call it in-process with an
 * AbortSignal instead of signals. No oclif, execa or chalk here: it runs inside the bundled runtime.
 */
import {hostname} from 'node:os'
import {join, resolve} from 'node:path'
import {parseArgs, type ParseArgsConfig} from 'node:util'
import {createBroker} from '../index.js'
import {createLogger, type Logger} from '../log.js'
import {storeFor} from '../persistence/select.js'
import {startReporter} from '../stats/reporter.js'
import {ConfigError, type LogLevel} from '../../config/index.js'
import {packageVersion} from '../../paths.js'
import {ControlError, describeListenError, EXIT, exitCodeOf} from './errors.js'
import {BROKER_OPTIONS, loadBrokerConfig, PARENT_PIPE_ENV, parseBrokerOptions, type RawOptions} from './options.js'
import cluster from 'node:cluster'
import {reloadOnSighup} from './reload.js'
import {acquirePidFile, brokerFiles, ensureDataDir, processStartTicks, releasePidFile, removeState, writeState, type BrokerState} from './state.js'
import {checkClusterConfig} from '../cluster/config.js'
import type {WorkerListening} from './workers.js'
import {clusterMetrics, type Metric, prometheusMetrics} from '../stats/prometheus.js'
import {systemClock} from '../clock.js'

export interface RunMainOptions {
  /** Aborting it stops the broker gracefully, like SIGTERM (in-process tests). */
  signal?: AbortSignal
  /** Install SIGINT/SIGTERM handlers (default true; tests pass false). */
  handleSignals?: boolean
  /** Called on a second signal to exit at once (default process.exit). */
  exit?: (code: number) => void
  /** Where log lines go (default: the logger's stdout/stderr split). */
  write?: (line: string, level: LogLevel) => void
  /** Called once listening, with what was written to broker.json. */
  onListening?: (state: BrokerState) => void
  cwd?: string
}


const ARGS: ParseArgsConfig['options'] = {
  config: {type: 'string'},
  help: {type: 'boolean', short: 'h'},
  ...Object.fromEntries(BROKER_OPTIONS.map((o) => [o.flag, {type: o.kind === 'bool' ? ('boolean' as const) : ('string' as const)}])),
}

export function usage(): string {
  const rows = [['--config FILE', 'JSON configuration file (as `mqttctl plan --write` produces)'], ...BROKER_OPTIONS.map((o) => [`--${o.flag}${o.helpValue ? ` ${o.helpValue}` : ''}`, o.help])]
  const width = Math.max(...rows.map((r) => r[0].length))
  return ['Usage: mqtt-broker [options]   (the mqttctl broker runtime; `mqttctl start` runs it)', '', ...rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`), '', 'Environment: MQTTCTL_* variables override the file; flags override both.', ''].join('\n')
}

/** argv -> raw option values; unknown options and stray arguments are usage errors. */
export function parseMainArgs(argv: string[]): RawOptions {
  try {
    const {values, positionals} = parseArgs({args: argv, options: ARGS, strict: true, allowPositionals: true})
    if (positionals.length > 0) throw new ConfigError('argv', `unexpected argument ${JSON.stringify(positionals[0])}; the broker takes only options (see --help)`)
    return values as RawOptions
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const first = (error as Error).message.split('. ')[0].replace(/'/g, '')
    throw new ConfigError('argv', `${first}; allowed: --config, ${BROKER_OPTIONS.map((o) => `--${o.flag}`).join(', ')}`)
  }
}

export async function runMain(argv: string[], env: Record<string, string | undefined> = process.env, options: RunMainOptions = {}): Promise<number> {
  let logger: Logger = createLogger('info', options.write)
  const cwd = options.cwd ?? process.cwd()
  try {
    const raw = parseMainArgs(argv)
    if (raw.help) {
      process.stdout.write(usage())
      return EXIT.ok
    }
    const settings = parseBrokerOptions(raw)
    const configFile = settings.config ? resolve(cwd, settings.config) : undefined
    const {config} = loadBrokerConfig({...settings, config: configFile}, env)
    logger = createLogger(config.logLevel, options.write)
    try {
      config.cluster = checkClusterConfig(config.cluster)
    } catch (error) {
      throw new ConfigError('cluster', (error as Error).message)
    }

    const files = brokerFiles(config.dataDir, cwd)
    ensureDataDir(files.dataDir)
    // ./workers.ts (child_process, IPC scrapes, the primary's supervision) loads only for --workers: in a worker here, in the primary in primary().
    const workers = cluster.isWorker ? await import('./workers.js') : undefined
    const worker = workers?.workerIndex(env)
    if (workers !== undefined && worker !== undefined) {
      // One of `--workers N` processes: no pid file of its own, its state under worker-<i>, NATS from the primary.
      const base = logger
      logger = prefixed(base, `worker ${worker}: `)
      const dataDir = join(files.dataDir, `worker-${worker}`)
      ensureDataDir(dataDir)
      const servers = (env[workers.WORKER_NATS_ENV] ?? '').split(',').filter(Boolean)
      const cluster = {...config.cluster, servers, workers: 1, nodeName: `${config.cluster.nodeName ?? hostname()}-w${worker}`}
      // Its metrics go through the primary's endpoint (workers.ts), not a port of its own.
      return await serve({...config, dataDir, cluster, metrics: {...config.metrics, enabled: false}}, files, configFile, logger, {...options, parentPipe: false, worker})
    }
    const {stale, stalePid} = acquirePidFile(files)
    if (stale) logger.warn(`replaced a stale pid file (${stalePid === undefined ? 'unreadable' : `pid ${stalePid} is not running`}) in ${files.dataDir}`)
    try {
      if (config.cluster.workers > 1) return await primary({...config, dataDir: files.dataDir}, files, configFile, logger, {...options, parentPipe: env[PARENT_PIPE_ENV] === '1'}, env)
      return await serve({...config, dataDir: files.dataDir}, files, configFile, logger, {...options, parentPipe: env[PARENT_PIPE_ENV] === '1'})
    } finally {
      removeState(files)
      releasePidFile(files)
    }
  } catch (error) {
    logger.error(error instanceof ConfigError || error instanceof ControlError ? error.message : `cannot start the broker: ${(error as Error)?.stack ?? String(error)}`)
    return exitCodeOf(error)
  }
}

async function serve(
  config: Parameters<typeof createBroker>[0],
  files: ReturnType<typeof brokerFiles>,
  configFile: string | undefined,
  logger: Logger,
  options: RunMainOptions & {parentPipe: boolean; worker?: number},
): Promise<number> {
  const version = packageVersion()
  logger.info(`mqttctl broker ${version} starting: pid ${process.pid}, data directory ${files.dataDir}, configuration ${configFile ?? 'defaults'}`)
  // Handlers first: a SIGTERM (e.g. `mqttctl stop`) during start-up still means a graceful close.
  const stop = stopRequested(logger, files, options)
  // SIGHUP (mqttctl reload, or kill -HUP): reload auth files and TLS certificates, never stop.
  const hup = reloadOnSighup(logger, files, options.handleSignals ?? true, options.worker === undefined)
  // The durable store under the data directory unless persistence.mode is "none" (docs/durability.md).
  const store = storeFor(config, config.dataDir, logger)
  try {
    await store.open() // loads what was kept; listen() finds it open
  } catch (error) {
    throw new ControlError(`cannot open the store in ${join(config.dataDir, 'store')}: ${(error as NodeJS.ErrnoException).code ?? ''} ${(error as Error).message}`.replace(/ {2,}/g, ' '))
  }
  // A cluster node only with NATS URLs: the single-process default never loads the NATS client.
  const clustered = config.cluster.servers.length > 0 ? (await import('../cluster/index.js')).createClusterBroker(config, {logger, store}) : undefined
  const broker = clustered ?? createBroker(config, {logger, store})
  let bound: Array<{host: string; port: number; tls: boolean}>
  try {
    bound = await broker.listen()
  } catch (error) {
    throw new ControlError(describeListenError(error, config.listeners[0]))
  }
  // Statistics: the log block, retained $SYS topics and (when enabled) the metrics HTTP listener.
  // A cluster node's figures are metrics too (the same as its $SYS/broker/mqttctl/cluster/...).
  let extraMetrics: (() => Metric[]) | undefined
  if (clustered !== undefined) {
    const {clusterFigures} = await import('../cluster/sys.js')
    extraMetrics = () => clusterMetrics(clusterFigures(clustered.node, clustered.stats, systemClock.now(), config.statsInterval * 1000))
  }
  const reporter = startReporter(broker, {version, extraMetrics})
  const detachScrapes = options.worker === undefined ? undefined : (await import('./workers.js')).answerScrapes(() => [...prometheusMetrics(reporter.snapshot()), ...(extraMetrics?.() ?? [])])
  let metrics: {host: string; port: number} | undefined
  try {
    metrics = await reporter.metrics
  } catch (error) {
    await reporter.stop()
    await broker.close()
    throw new ControlError(describeListenError(error, config.metrics, '--metrics-port'))
  }

  const state: BrokerState = {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    listeners: bound,
    version,
    configFile: configFile ?? null,
    dataDir: files.dataDir,
    maxConnections: config.maxConnections,
    logLevel: config.logLevel,
    metrics: metrics ?? null,
    processStart: processStartTicks(process.pid),
    statsInterval: config.statsInterval,
  }
  if (options.worker !== undefined) process.send?.({type: 'listening', listeners: bound} satisfies WorkerListening)
  else writeState(files, state)
  options.onListening?.(state)
  hup.attach(broker)

  const why = await stop
  hup.detach()
  logger.info(`${why}: shutting down gracefully`)
  detachScrapes?.()
  await reporter.stop()
  await broker.close()
  return EXIT.ok
}

/** Resolves with the reason once SIGINT/SIGTERM, the abort signal or the parent's pipe asks us to stop. */
function stopRequested(logger: Logger, files: ReturnType<typeof brokerFiles>, options: RunMainOptions & {parentPipe: boolean}): Promise<string> {
  return new Promise((resolveStop) => {
    let stopping = false
    const request = (why: string, force: number) => {
      if (!stopping) {
        stopping = true
        resolveStop(why)
        return
      }
      logger.warn(`${why} again: exiting now without a graceful close`)
      removeState(files)
      releasePidFile(files)
      ;(options.exit ?? process.exit)(force)
    }
    if (options.handleSignals ?? true) {
      process.on('SIGINT', () => request('received SIGINT', 130))
      process.on('SIGTERM', () => request('received SIGTERM', 143))
    }
    if (options.signal) {
      if (options.signal.aborted) request('stop requested', 1)
      else options.signal.addEventListener('abort', () => request('stop requested', 1), {once: true})
    }
    if (options.parentPipe && (options.handleSignals ?? true)) {
      process.stdin.on('end', () => request('mqttctl exited', 1))
      process.stdin.on('error', () => request('mqttctl exited', 1))
      process.stdin.resume()
    }
  })
}

/** The same logger with `prefix` before every message (a worker's lines). */
function prefixed(base: Logger, prefix: string): Logger {
  return {
    level: base.level,
    enabled: (l) => base.enabled(l),
    debug: (m) => base.debug(prefix + m),
    info: (m) => base.info(prefix + m),
    warn: (m) => base.warn(prefix + m),
    error: (m) => base.error(prefix + m),
  }
}

/** `--workers N`: this process owns the pid file and broker.json, the workers serve (./workers.ts). */
async function primary(
  config: Parameters<typeof createBroker>[0],
  files: ReturnType<typeof brokerFiles>,
  configFile: string | undefined,
  logger: Logger,
  options: RunMainOptions & {parentPipe: boolean},
  env: Record<string, string | undefined>,
): Promise<number> {
  const version = packageVersion()
  logger.info(`mqttctl broker ${version} starting ${config.cluster.workers} workers: pid ${process.pid}, data directory ${files.dataDir}, configuration ${configFile ?? 'defaults'}`)
  const stop = stopRequested(logger, files, options)
  // SIGHUP: each worker reloads its own files (and logs what it did); without this handler Node would end the primary.
  reloadOnSighup(logger, files, options.handleSignals ?? true).attach({
    reload: () => {
      const workers = Object.values(cluster.workers ?? {})
      for (const w of workers) w?.process.kill('SIGHUP')
      return {ok: true, lines: [`SIGHUP passed on to ${workers.length} workers; each logs what it reloaded`]}
    },
  })
  const {runPrimary} = await import('./workers.js')
  return runPrimary({
    workers: config.cluster.workers,
    servers: config.cluster.servers,
    dataDir: files.dataDir,
    logger,
    stop,
    env: {...env, [PARENT_PIPE_ENV]: undefined},
    metrics: config.metrics.enabled ? {host: config.metrics.host, port: config.metrics.port} : undefined,
    onListening: (listeners, metrics) => {
      const state: BrokerState = {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        listeners,
        version,
        configFile: configFile ?? null,
        dataDir: files.dataDir,
        maxConnections: config.maxConnections,
        logLevel: config.logLevel,
        metrics: metrics ?? null,
        processStart: processStartTicks(process.pid),
        statsInterval: config.statsInterval,
      }
      writeState(files, state)
      options.onListening?.(state)
    },
  })
}
