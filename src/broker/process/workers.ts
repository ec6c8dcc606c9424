/**
 * `--workers N`: N broker processes on one host sharing the listening port(s) through Node's
 * `cluster` module (the primary accepts and hands connections to the workers in turn), joined to
 * each other through NATS like nodes on different hosts. Without --cluster the primary starts a
 * local nats-server (Debian's package, found on PATH or in /usr/sbin) on 127.0.0.1 and stops it
 * when it stops.
 *
 * The primary owns the pid file and broker.json; each worker keeps its state in
 * <data-dir>/worker-<i> and reports its listeners once listening. A worker that dies is started again
 * (at most RESTARTS_PER_MINUTE times a minute); SIGTERM/SIGINT to the primary stops the workers
 * gracefully, then NATS.
 *
 * nats-server must not outlive a primary killed with SIGKILL (Node cannot ask the kernel for a
 * parent-death signal), so it runs under a small /bin/sh watchdog (WATCHDOG): the watchdog's stdin is
 * a pipe only the primary holds; when that pipe ends (the primary stopping it, or the kernel closing
 * it because the primary died) the watchdog sends nats-server SIGTERM. Workers leave with the primary
 * by themselves (Node's cluster workers exit when their IPC channel closes).
 *
 * Metrics (--metrics): the workers bind no metrics port (they would share it, and each scrape would
 * answer for whichever worker accepted it). The primary serves the one endpoint: per scrape it asks
 * every worker for its metric families over IPC (answerScrapes) and serves them all, each sample
 * labelled with its worker, plus mqtt_broker_workers and mqtt_broker_worker_up (stats/prometheus.ts
 * workerMetrics). A worker that does not answer within SCRAPE_TIMEOUT_MS counts as down for that scrape.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import cluster, {type Worker} from 'node:cluster'
import {accessSync, constants, mkdirSync} from 'node:fs'
import {createServer} from 'node:net'
import {delimiter, join} from 'node:path'
import type {Logger} from '../log.js'
import type {MetricsHttpServer} from '../listeners/metrics-http.js'
import {checkMetrics, exposition, type Metric, PROMETHEUS_CONTENT_TYPE, type WorkerScrape, workerMetrics} from '../stats/prometheus.js'
import {ControlError, describeListenError} from './errors.js'

/** Set in a worker's environment: its index (0-based). */
export const WORKER_ENV = 'MQTTCTL_WORKER'
/** Set in a worker's environment: the NATS URLs to join. */
export const WORKER_NATS_ENV = 'MQTTCTL_WORKER_NATS'

const RESTARTS_PER_MINUTE = 5
const READY_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 10_000
/** How long a scrape waits for each worker's figures. */
export const SCRAPE_TIMEOUT_MS = 2_000
/** Scrapes answered at once; more are refused (HTTP 500) rather than queued. */
const MAX_SCRAPES = 4
/** IPC message of a scrape: primary -> worker {type, id}; worker -> primary {type, id, metrics}. */
export const METRICS_MESSAGE = 'mqttctl-metrics'

/** In a worker: answers the primary's scrapes with `families()`; returns detach(). */
export function answerScrapes(families: () => Metric[]): () => void {
  const on = (m: {type?: unknown; id?: unknown}): void => {
    if (m?.type !== METRICS_MESSAGE || !Number.isSafeInteger(m.id)) return
    let metrics: Metric[] | undefined
    try {
      metrics = families()
    } catch {
      metrics = undefined // the primary reports this worker down for this scrape
    }
    process.send?.({type: METRICS_MESSAGE, id: m.id, metrics})
  }
  process.on('message', on)
  return () => void process.off('message', on)
}

export interface WorkerListening {
  type: 'listening'
  listeners: Array<{host: string; port: number; tls: boolean}>
}

/** This process's worker index, or undefined in a normal (or primary) process. */
export function workerIndex(env: Record<string, string | undefined>): number | undefined {
  const v = env[WORKER_ENV]
  if (v === undefined || !cluster.isWorker) return undefined
  const n = Number(v)
  return Number.isInteger(n) && n >= 0 ? n : undefined
}

/** Names a nats-server executable to use instead of searching (e.g. one outside PATH). */
export const NATS_SERVER_ENV = 'MQTTCTL_NATS_SERVER'

/** The nats-server executable: $MQTTCTL_NATS_SERVER, else PATH, then the sbin directories Debian installs it to. */
export function findNatsServer(env: Record<string, string | undefined> = process.env): string | undefined {
  const given = env[NATS_SERVER_ENV]
  if (given !== undefined && given !== '') {
    try {
      accessSync(given, constants.X_OK)
      return given
    } catch {
      return undefined
    }
  }
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin', '/sbin']
  for (const d of dirs) {
    const p = join(d, 'nats-server')
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch {}
  }
  return undefined
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address() as {port: number}
      s.close(() => resolve(port))
    })
  })
}

/**
 * sh -c WATCHDOG nats-server ARGS...: starts nats-server (stdin /dev/null, stdout discarded, stderr
 * ours), prints its pid, and has a background reader wait for the end of stdin (kept on fd 3: a
 * background list's stdin is /dev/null otherwise) to SIGTERM it; the shell's exit status is
 * nats-server's.
 */
export const WATCHDOG = 'exec 3<&0; "$0" "$@" </dev/null >/dev/null 3<&- & pid=$!; echo "$pid"; (read -r _ <&3; kill -TERM "$pid" 2>/dev/null) >/dev/null 2>&1 & wait "$pid"'

export interface LocalNats {
  url: string
  pid: number
  stop(): Promise<void>
}

/** Starts nats-server on 127.0.0.1 with JetStream under `dir`; resolves once it is ready. */
export async function startLocalNats(dir: string, logger: Logger, env: Record<string, string | undefined> = process.env): Promise<LocalNats> {
  const bin = findNatsServer(env)
  if (bin === undefined) {
    const where = env[NATS_SERVER_ENV] ? `${NATS_SERVER_ENV}=${env[NATS_SERVER_ENV]} is not an executable` : 'nats-server is not installed (searched PATH and /usr/sbin)'
    throw new ControlError(`--workers without --cluster needs a local NATS server, and ${where}: apt-get install nats-server (or give --cluster nats://host:4222)`)
  }
  mkdirSync(dir, {recursive: true})
  const port = await freePort()
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir, '-n', `mqttctl-${process.pid}`]
  const child: ChildProcess = spawn('/bin/sh', ['-c', WATCHDOG, bin, ...args], {stdio: ['pipe', 'pipe', 'pipe']})
  let natsPid = 0
  let out = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    if (natsPid !== 0 || out.length > 64) return
    out += chunk.toString()
    const m = /^(\d+)\n/.exec(out)
    if (m !== null) natsPid = Number(m[1])
  })
  child.stdin!.on('error', () => {}) // the watchdog gone already: nothing to tell it
  let log = ''
  let exited = false
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())))
  child.once('error', () => {})
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new ControlError(`nats-server (${bin}) was not ready within 10 s: ${log.trim().split('\n').slice(-3).join(' | ')}`)), 10_000)
      child.stderr!.on('data', (chunk: Buffer) => {
        if (log.length < 64_000) log += chunk.toString()
        if (log.includes('Server is ready') && natsPid !== 0) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new ControlError(`nats-server (${bin}) exited with ${code} at start: ${log.trim().split('\n').slice(-3).join(' | ')}`))
      })
    })
  } catch (error) {
    if (natsPid !== 0) killQuietly(natsPid, 'SIGKILL')
    if (!exited) child.kill('SIGKILL')
    throw error
  }
  child.stderr!.resume()
  logger.info(`Started nats-server ${bin} on 127.0.0.1:${port} (pid ${natsPid}, JetStream in ${dir})`)
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: natsPid,
    async stop() {
      if (exited) return
      child.stdin!.end() // the watchdog sends nats-server SIGTERM; the shell exits when it has
      const timer = setTimeout(() => {
        if (exited) return
        killQuietly(natsPid, 'SIGKILL')
        child.kill('SIGKILL')
      }, 5000)
      await exit
      clearTimeout(timer)
    },
  }
}

/** The primary's metrics listener (node:http loaded only with --metrics). */
async function startWorkersMetrics(at: {host: string; port: number}, metrics: () => Promise<string>, healthy: () => boolean): Promise<MetricsHttpServer> {
  const {startMetricsHttp} = await import('../listeners/metrics-http.js')
  return startMetricsHttp({host: at.host, port: at.port, contentType: PROMETHEUS_CONTENT_TYPE, metrics, healthy})
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {}
}

export interface PrimaryOptions {
  workers: number
  servers: string[]
  dataDir: string
  logger: Logger
  /** Resolves with the reason once the primary is asked to stop. */
  stop: Promise<string>
  /** Serve the workers' metrics on this address (--metrics); port 0 = ephemeral. */
  metrics?: {host: string; port: number}
  /** Called once every worker listens, with worker 0's listeners and the metrics address. */
  onListening(listeners: WorkerListening['listeners'], metrics?: {host: string; port: number}): void
  env?: Record<string, string | undefined>
}

/** Runs the primary: NATS (when needed), N workers, restarts, graceful stop. Resolves with the exit code. */
export async function runPrimary(o: PrimaryOptions): Promise<number> {
  const nats = o.servers.length === 0 ? await startLocalNats(join(o.dataDir, 'nats'), o.logger, o.env) : undefined
  const servers = nats ? [nats.url] : o.servers
  let stopping = false
  const restarts: number[] = []
  const listening = new Map<number, WorkerListening['listeners']>()
  let announced = false
  let resolveFailed!: (why: string) => void
  const failed = new Promise<string>((resolve) => (resolveFailed = resolve))

  let http: MetricsHttpServer | undefined
  if (o.metrics !== undefined) {
    try {
      http = await startWorkersMetrics(o.metrics, () => scrape(), () => !stopping && listening.size === o.workers)
    } catch (error) {
      await nats?.stop()
      throw new ControlError(describeListenError(error, o.metrics, '--metrics-port'))
    }
    o.logger.info(`Metrics of the ${o.workers} workers on http://${http.host}:${http.port}/metrics (readiness: /healthz)`)
  }
  // Scrapes in flight: `${scrape id}:${worker}` -> its answer.
  const waiting = new Map<string, (metrics: Metric[] | undefined) => void>()
  let scrapeId = 0
  let scraping = 0
  const scrape = async (): Promise<string> => {
    if (scraping >= MAX_SCRAPES) throw new Error(`${MAX_SCRAPES} scrapes are being answered already`)
    scraping++
    const id = ++scrapeId
    try {
      const answers = await Promise.all(
        workers.map(
          (w, i) =>
            new Promise<WorkerScrape>((resolve) => {
              const key = `${id}:${i}`
              const done = (metrics: Metric[] | undefined): void => {
                clearTimeout(timer)
                waiting.delete(key)
                resolve({worker: i, metrics})
              }
              const timer = setTimeout(() => done(undefined), SCRAPE_TIMEOUT_MS)
              waiting.set(key, done)
              if (!listening.has(i) || w.isDead() || !w.isConnected()) return done(undefined)
              try {
                w.send({type: METRICS_MESSAGE, id})
              } catch {
                done(undefined)
              }
            }),
        ),
      )
      return exposition(workerMetrics(o.workers, answers))
    } finally {
      scraping--
    }
  }

  cluster.setupPrimary({exec: process.argv[1], args: process.argv.slice(2), execArgv: process.execArgv})
  const fork = (i: number): Worker => {
    const w = cluster.fork({...o.env, [WORKER_ENV]: String(i), [WORKER_NATS_ENV]: servers.join(',')})
    w.on('message', (m: WorkerListening | {type: typeof METRICS_MESSAGE; id: number; metrics: unknown}) => {
      if (m?.type === METRICS_MESSAGE) return waiting.get(`${m.id}:${i}`)?.(checkMetrics(m.metrics))
      if (m?.type !== 'listening' || !Array.isArray(m.listeners)) return
      listening.set(i, m.listeners)
      if (!announced && listening.size === o.workers) {
        announced = true
        o.logger.info(`${o.workers} workers listening, joined through NATS ${servers.join(', ')}`)
        o.onListening(listening.get(0)!, http === undefined ? undefined : {host: http.host, port: http.port})
      }
    })
    w.on('exit', (code, signal) => {
      listening.delete(i)
      if (stopping) return
      const now = Date.now()
      while (restarts.length > 0 && now - restarts[0] > 60_000) restarts.shift()
      if (restarts.length >= RESTARTS_PER_MINUTE) {
        o.logger.error(`worker ${i} exited (${signal ?? code}) and workers restarted ${RESTARTS_PER_MINUTE} times within a minute: stopping`)
        resolveFailed('workers keep failing')
        return
      }
      restarts.push(now)
      o.logger.warn(`worker ${i} exited (${signal ?? code}); starting it again`)
      workers[i] = fork(i)
    })
    return w
  }
  const workers: Worker[] = []
  for (let i = 0; i < o.workers; i++) workers.push(fork(i))
  const ready = setTimeout(() => {
    if (!announced) {
      o.logger.error(`only ${listening.size} of ${o.workers} workers listening after ${READY_TIMEOUT_MS / 1000} s`)
      resolveFailed('workers did not start')
    }
  }, READY_TIMEOUT_MS)

  const why = await Promise.race([o.stop, failed])
  clearTimeout(ready)
  stopping = true
  o.logger.info(`${why}: stopping ${workers.length} workers`)
  await http?.close()
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.isDead()) return resolve()
          const timer = setTimeout(() => w.process.kill('SIGKILL'), STOP_TIMEOUT_MS)
          w.once('exit', () => (clearTimeout(timer), resolve()))
          w.process.kill('SIGTERM')
        }),
    ),
  )
  await nats?.stop()
  return why === 'workers keep failing' || why === 'workers did not start' ? 1 : 0
}
