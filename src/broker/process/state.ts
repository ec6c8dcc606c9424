/**
 * The files a running broker keeps in its data directory, and the process checks around them.
 *
 *   broker.pid   the runtime's pid; created exclusively (wx) so one data directory has one broker
 *   broker.json  written once listening: pid, start time, listeners actually bound (for `status`)
 *   broker.log   the log of a `start --detach` broker
 *
 * Used by the runtime (./run-main.ts) and by start/stop/status (the CLI imports it from here), so
 * only node:* imports here.
 */
import {accessSync, constants, readFileSync, renameSync, unlinkSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {makeDirs} from '../../fs.js'
import {ControlError, describeDataDirError} from './errors.js'

export interface BrokerFiles {
  dataDir: string
  pidFile: string
  stateFile: string
  logFile: string
}

export function brokerFiles(dataDir: string, cwd = process.cwd()): BrokerFiles {
  const dir = resolve(cwd, dataDir)
  return {dataDir: dir, pidFile: join(dir, 'broker.pid'), stateFile: join(dir, 'broker.json'), logFile: join(dir, 'broker.log')}
}

/** What `status` reads: written by the runtime once its listeners are bound. */
export interface BrokerState {
  pid: number
  /** ISO time the broker started listening. */
  startedAt: string
  listeners: Array<{host: string; port: number; tls: boolean; websocket?: boolean}>
  version: string
  configFile: string | null
  dataDir: string
  maxConnections: number
  logLevel: string
  /** Prometheus endpoint when enabled. */
  metrics: {host: string; port: number} | null
  /**
   * Linux: the process's start time in clock ticks since boot (/proc/<pid>/stat field 22). A pid
   * file outlives its process (kill -9, power loss) and the pid may later name another process;
   * this tells the two apart without trusting the wall clock.
   */
  processStart?: number
  /** Seconds between statistics ticks ($SYS updates): how stale status's figures can be. */
  statsInterval?: number
}

/** Creates the data directory and proves it is writable; throws a ControlError with the fix. */
export function ensureDataDir(dir: string): void {
  try {
    makeDirs(dir)
    accessSync(dir, constants.W_OK)
  } catch (error) {
    throw new ControlError(describeDataDirError(dir, error))
  }
}

/** True when a process with this pid exists and is not a zombie (kill -0, then /proc on Linux). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    // "pid (comm) S ..." — the state letter follows the last ')'. Z = zombie, X = dead.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return process.platform !== 'linux'
  }
}

/** Linux: when the process started, in clock ticks since boot; undefined elsewhere or when gone. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after "(comm)" start at field 3 (state); starttime is field 22.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19])
    return Number.isSafeInteger(ticks) ? ticks : undefined
  } catch {
    return undefined
  }
}

/**
 * The broker these files name is running: the pid is alive and, when broker.json recorded its start
 * time, it is still the same process. A pid reused by an unrelated process after a crash or a reboot
 * is not the broker: stop must not signal it, status must not report it, start must not refuse.
 */
export function isBrokerAlive(pid: number, files: BrokerFiles): boolean {
  if (!isAlive(pid)) return false
  const state = readState(files)
  if (state?.pid !== pid || typeof state.processStart !== 'number') return true
  const now = processStartTicks(pid)
  return now === undefined || now === state.processStart
}

export function readPid(files: BrokerFiles): number | undefined {
  let text: string
  try {
    text = readFileSync(files.pidFile, 'utf8').trim()
  } catch {
    return undefined
  }
  const pid = Number(text)
  return /^\d+$/.test(text) && pid > 0 ? pid : undefined
}

export class AlreadyRunningError extends ControlError {
  constructor(
    readonly pid: number,
    dataDir: string,
  ) {
    super(`a broker is already running on data directory ${dataDir} (pid ${pid}); stop it with \`mqttctl stop --data-dir ${dataDir}\` or choose another --data-dir`)
  }
}

/**
 * Writes our pid to broker.pid, refusing when another live broker holds it. A pid file whose
 * process is gone (or unreadable) is stale: it is replaced and its pid returned so the caller can warn.
 */
export function acquirePidFile(files: BrokerFiles, pid = process.pid): {stale: boolean; stalePid?: number} {
  if (createPidFile(files, pid)) return {stale: false}
  const other = readPid(files)
  if (other !== undefined && other !== pid && isBrokerAlive(other, files)) throw new AlreadyRunningError(other, files.dataDir)
  rmQuiet(files.pidFile)
  if (createPidFile(files, pid)) return {stale: true, stalePid: other}
  throw new ControlError(`another broker is starting on data directory ${files.dataDir} at the same moment; try again`)
}

function createPidFile(files: BrokerFiles, pid: number): boolean {
  try {
    writeFileSync(files.pidFile, `${pid}\n`, {flag: 'wx'})
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new ControlError(describeDataDirError(files.dataDir, error))
  }
}

/** Removes broker.pid if it still names this pid. */
export function releasePidFile(files: BrokerFiles, pid = process.pid): void {
  if (readPid(files) === pid) rmQuiet(files.pidFile)
}

export function writeState(files: BrokerFiles, state: BrokerState): void {
  const tmp = `${files.stateFile}.${state.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n')
  renameSync(tmp, files.stateFile)
}

export function readState(files: BrokerFiles): BrokerState | undefined {
  try {
    const state = JSON.parse(readFileSync(files.stateFile, 'utf8')) as BrokerState
    return typeof state?.pid === 'number' && Array.isArray(state.listeners) ? state : undefined
  } catch {
    return undefined
  }
}

/** Removes broker.json if it belongs to this pid. */
export function removeState(files: BrokerFiles, pid = process.pid): void {
  if (readState(files)?.pid === pid) rmQuiet(files.stateFile)
}

export function rmQuiet(path: string): void {
  try {
    unlinkSync(path)
  } catch {
    // already gone
  }
}
