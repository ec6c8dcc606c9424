/**
 * Reload (SIGHUP): the broker re-reads its password file, ACL file and TLS certificates without
 * dropping a connection; a file that cannot be used is kept as it was and the reason is logged.
 *
 *   <data-dir>/broker.reload.json   written by the runtime after each reload: {seq, at, ok, lines}
 *
 * `mqttctl reload` finds the broker by its data directory (as stop does), sends SIGHUP and waits for
 * that file's seq to move, so it can print what happened. Used by the runtime too: node:* only.
 */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ControlError} from './errors.js'
import {type BrokerFiles, isBrokerAlive, readPid, readState} from './state.js'

export interface ReloadState {
  /** Reloads since the broker started (1 = the first). */
  seq: number
  pid: number
  /** ISO time of the reload. */
  at: string
  /** false when at least one file was kept because the new one could not be used. */
  ok: boolean
  /** One line per file: reloaded with what, or kept and why. */
  lines: string[]
}

export const reloadFile = (files: BrokerFiles) => join(files.dataDir, 'broker.reload.json')

export function writeReloadState(files: BrokerFiles, state: ReloadState): void {
  const file = reloadFile(files)
  const tmp = `${file}.${state.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(tmp, file)
}

export function readReloadState(files: BrokerFiles): ReloadState | undefined {
  try {
    const s = JSON.parse(readFileSync(reloadFile(files), 'utf8')) as ReloadState
    return typeof s?.seq === 'number' && typeof s.pid === 'number' && Array.isArray(s.lines) ? s : undefined
  } catch {
    return undefined
  }
}

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

interface ReloadLogger {
  info(message: string): void
  warn(message: string): void
}

/**
 * The runtime's SIGHUP handler, installed before the broker exists (Node's default action for
 * SIGHUP would end the process): a SIGHUP during start-up is logged and ignored; once attach()ed,
 * each SIGHUP reloads the broker and writes broker.reload.json for `mqttctl reload`.
 */
export function reloadOnSighup(logger: ReloadLogger, files: BrokerFiles, install = true, report = true): {attach(broker: {reload(): {ok: boolean; lines: string[]}}): void; detach(): void} {
  let target: {reload(): {ok: boolean; lines: string[]}} | undefined
  let seq = 0
  const onHup = (): void => {
    if (target === undefined) {
      logger.warn('received SIGHUP while starting: nothing reloaded')
      return
    }
    logger.info('received SIGHUP: reloading the password file, ACL file and TLS certificates')
    const report = target.reload()
    seq++
    if (!report) return // a --workers worker: the primary answers mqttctl reload
    try {
      writeReloadState(files, {seq, pid: process.pid, at: new Date().toISOString(), ok: report.ok, lines: report.lines})
    } catch (error) {
      logger.warn(`cannot write ${reloadFile(files)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
    }
  }
  if (install) process.on('SIGHUP', onHup)
  return {
    attach: (broker) => {
      target = broker
    },
    detach: () => {
      target = undefined
      if (install) process.off('SIGHUP', onHup)
    },
  }
}
