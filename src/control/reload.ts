/**
 * `mqttctl reload`: finds the broker by its data directory (as stop does), sends SIGHUP and waits
 * for the seq of broker.reload.json (written by the runtime: src/broker/process/reload.ts) to move,
 * so it can print what the broker reloaded.
 */
import {ControlError} from '../broker/process/errors.js'
import {readReloadState, type ReloadState} from '../broker/process/reload.js'
import {type BrokerFiles, isBrokerAlive, readPid, readState} from '../broker/process/state.js'

export interface ReloadResult {
  pid: number
  dataDir: string
  /** The broker's report; undefined when it did not answer within the timeout. */
  report?: ReloadState
}

export class NotRunningError extends ControlError {
  constructor(dataDir: string) {
    super(`no broker is running on data directory ${dataDir}; nothing to reload`, 3)
  }
}

/** Sends SIGHUP to the broker of `files` and waits up to timeoutMs for its reload report. */
export async function reloadBroker(files: BrokerFiles, timeoutMs = 10_000): Promise<ReloadResult> {
  const pid = readPid(files) ?? readState(files)?.pid
  if (pid === undefined || !isBrokerAlive(pid, files)) throw new NotRunningError(files.dataDir)
  const before = readReloadState(files)
  const seqBefore = before?.pid === pid ? before.seq : 0
  try {
    process.kill(pid, 'SIGHUP')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ESRCH') throw new NotRunningError(files.dataDir)
    if (code === 'EPERM') throw new ControlError(`permission denied to signal the broker (pid ${pid}): it runs as another user; run mqttctl reload as that user or with sudo`)
    throw error
  }
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const now = readReloadState(files)
    if (now !== undefined && now.pid === pid && now.seq > seqBefore) return {pid, dataDir: files.dataDir, report: now}
    await new Promise((r) => setTimeout(r, 50))
  }
  return {pid, dataDir: files.dataDir}
}
