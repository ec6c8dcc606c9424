/**
 * Reload (SIGHUP): the broker re-reads its password file, ACL file and TLS certificates without
 * dropping a connection; a file that cannot be used is kept as it was and the reason is logged.
 *
 *   <data-dir>/broker.reload.json   written by the runtime after each reload: {seq, at, ok, lines}
 *
 * `mqttctl reload` (src/control/reload.ts) finds the broker by its data directory (as stop does),
 * sends SIGHUP and waits for that file's seq to move, so it can print what happened. node:* only.
 */
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {BrokerFiles} from './state.js'

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
    const result = target.reload()
    seq++
    if (!report) return // a --workers worker: the primary answers mqttctl reload
    try {
      writeReloadState(files, {seq, pid: process.pid, at: new Date().toISOString(), ok: result.ok, lines: result.lines})
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
