/**
 * `mqttctl stop`: SIGTERM (the runtime closes gracefully), wait up to the timeout, then SIGKILL with
 * a warning. The pid comes from broker.pid, else broker.json, in the data directory.
 */
import {ControlError} from '../broker/process/errors.js'
import {type BrokerFiles, isAlive, isBrokerAlive, readPid, readState, rmQuiet} from '../broker/process/state.js'

export interface StopResult {
  /** A live broker was found and is now gone. */
  stopped: boolean
  pid: number | null
  /** SIGKILL was needed. */
  forced: boolean
  /** A pid file or broker.json named a process that no longer exists; it was removed. */
  stalePid: number | null
  dataDir: string
}

export interface StopOptions {
  /** Wait this long after SIGTERM before SIGKILL. */
  timeoutMs: number
  onWarn?: (message: string) => void
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false
    await sleep(50)
  }
  return true
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ESRCH') return
    if (code === 'EPERM') throw new ControlError(`permission denied to signal the broker (pid ${pid}): it runs as another user; run mqttctl stop as that user or with sudo`)
    throw error
  }
}

export async function stopBroker(files: BrokerFiles, options: StopOptions): Promise<StopResult> {
  const pid = readPid(files) ?? readState(files)?.pid ?? null
  const result: StopResult = {stopped: false, pid, forced: false, stalePid: null, dataDir: files.dataDir}
  if (pid === null || !isBrokerAlive(pid, files)) {
    if (pid !== null) result.stalePid = pid
    rmQuiet(files.pidFile)
    rmQuiet(files.stateFile)
    result.pid = null
    return result
  }
  signal(pid, 'SIGTERM')
  if (!(await waitGone(pid, options.timeoutMs))) {
    options.onWarn?.(`the broker (pid ${pid}) did not stop within ${options.timeoutMs / 1000} s after SIGTERM; killing it (SIGKILL): unacknowledged in-flight messages may be lost`)
    signal(pid, 'SIGKILL')
    result.forced = true
    if (!(await waitGone(pid, 5_000))) throw new ControlError(`the broker (pid ${pid}) is still running after SIGKILL`)
  }
  // A graceful runtime removed these itself; after SIGKILL (or a crash) nobody did.
  if (readPid(files) === pid) rmQuiet(files.pidFile)
  if (readState(files)?.pid === pid) rmQuiet(files.stateFile)
  result.stopped = true
  return result
}
