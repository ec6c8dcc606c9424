/**
 * Running the broker runtime as a child process (execa):
 *
 * - foreground: the child's log streams to our stdout/stderr; SIGINT/SIGTERM are forwarded once
 *   each, so Ctrl-C means one graceful close; we exit with the child's status. SIGHUP is forwarded as
 *   SIGHUP: the broker reloads its password, ACL and TLS files and keeps running. The child runs in
 *   its own process group (so the terminal's Ctrl-C reaches it only through us, exactly once) and
 *   stops by itself if our stdin pipe to it closes (we were killed).
 * - detached: the child's output goes to <dataDir>/broker.log; we return once it wrote broker.json
 *   (listening), or fail with the child's own error line when it exits first.
 */
import {spawn} from 'node:child_process'
import {closeSync, fstatSync, openSync, readSync} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {ControlError, EXIT} from '../broker/process/errors.js'
import {PARENT_PIPE_ENV} from './options.js'
import type {Runtime} from './runtime.js'
import {AlreadyRunningError, type BrokerFiles, type BrokerState, ensureDataDir, isAlive, isBrokerAlive, readPid, readState, releasePidFile, rmQuiet} from '../broker/process/state.js'

/** 128 + the signal's number, as a shell reports a child killed by it (a V8 out-of-memory abort is SIGABRT: 134). */
export function signalExitCode(signal: string | null | undefined): number {
  return 128 + ((osConstants.signals as Record<string, number>)[signal ?? ''] ?? 1)
}

/** Refuses when a live broker holds the data directory; clears a stale pid file and broker.json. */
export function checkNotRunning(files: BrokerFiles): {stalePid?: number} {
  const pid = readPid(files) ?? readState(files)?.pid
  if (pid === undefined) return {}
  if (isBrokerAlive(pid, files)) throw new AlreadyRunningError(pid, files.dataDir)
  rmQuiet(files.pidFile)
  rmQuiet(files.stateFile)
  return {stalePid: pid}
}

/** Runs the broker in the foreground; resolves with its exit code (128 + n when killed by signal n). */
export async function runForeground(runtime: Runtime, args: string[]): Promise<number> {
  // Loaded here, not at the top: checkNotRunning is also used by the oclif-free fast path (fast-start.ts).
  const {execa} = await import('execa')
  const child = execa(runtime.command, [...runtime.args, ...args], {
    stdio: ['pipe', 'inherit', 'inherit'],
    detached: true,
    reject: false,
    env: {[PARENT_PIPE_ENV]: '1'},
    forceKillAfterDelay: false,
  })
  const forward = (signal: NodeJS.Signals) => () => {
    child.kill(signal)
  }
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const)
  for (const [s, h] of handlers) process.on(s, h)
  try {
    const result = await child
    if (result.failed && result.exitCode === undefined && result.signal === undefined) {
      throw new ControlError(`cannot run the broker runtime ${runtime.description}: ${result.originalMessage ?? result.shortMessage}`)
    }
    if (typeof result.exitCode === 'number') return result.exitCode
    return signalExitCode(result.signal)
  } finally {
    for (const [s, h] of handlers) process.off(s, h)
  }
}

export interface DetachOptions {
  /** Give up waiting for the broker to listen after this long (default 20 s). */
  readyTimeoutMs?: number
}

/** Starts the broker in the background and waits until it is listening. */
export async function startDetached(runtime: Runtime, args: string[], files: BrokerFiles, options: DetachOptions = {}): Promise<BrokerState & {logFile: string}> {
  ensureDataDir(files.dataDir)
  let fd: number
  try {
    fd = openSync(files.logFile, 'a')
  } catch (error) {
    throw new ControlError(`cannot open the log file ${files.logFile} (${(error as NodeJS.ErrnoException).code}); choose another --data-dir or make it writable`)
  }
  const logStart = fstatSync(fd).size
  // node:child_process rather than execa here: the child must own the log file descriptor and outlive us.
  const env = {...process.env}
  delete env[PARENT_PIPE_ENV]
  const child = spawn(runtime.command, [...runtime.args, ...args], {stdio: ['ignore', fd, fd], detached: true, env})
  closeSync(fd)
  let exited: {code?: number; signal?: string; error?: string} | undefined
  child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
    exited = {code: code ?? undefined, signal: signal ?? undefined}
  })
  child.on('error', (error: Error) => {
    exited ??= {error: error.message}
  })

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000)
  for (;;) {
    const state = readState(files)
    if (state && isAlive(state.pid)) {
      child.unref()
      return {...state, logFile: files.logFile}
    }
    if (exited) {
      const line = lastErrorLine(files.logFile, logStart)
      const how = exited.error ?? (exited.signal ? `killed by ${exited.signal}` : `exit code ${exited.code}`)
      throw new ControlError(line ?? `the broker exited before listening (${how}); see ${files.logFile}`, EXIT.failure)
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      if (child.pid !== undefined) releasePidFile(files, child.pid)
      throw new ControlError(`the broker did not start listening within ${Math.round((options.readyTimeoutMs ?? 20_000) / 1000)} s and was stopped; see ${files.logFile}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The message of the last ERROR line the child wrote to the log since `from`, without its timestamp. */
export function lastErrorLine(logFile: string, from: number): string | undefined {
  let text = ''
  try {
    const fd = openSync(logFile, 'r')
    try {
      const size = fstatSync(fd).size
      const buf = Buffer.alloc(Math.max(0, Math.min(size - from, 64 * 1024)))
      readSync(fd, buf, 0, buf.length, Math.max(from, size - buf.length))
      text = buf.toString('utf8')
    } finally {
      closeSync(fd)
    }
  } catch {
    return undefined
  }
  const lines = text.split('\n').filter((l) => /\bERROR: /.test(l))
  const last = lines.at(-1)
  return last?.replace(/^\[[^\]]*\]\s*ERROR:\s*/, '')
}
