/** src/control/spawn.ts directly: the pid-file check, the log's error line, the foreground child and the detached broker. */
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import net from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ControlError} from '../../src/broker/process/errors.js'
import {PARENT_PIPE_ENV} from '../../src/broker/process/options.js'
import {readReloadState} from '../../src/broker/process/reload.js'
import {AlreadyRunningError, brokerFiles, isAlive, readState} from '../../src/broker/process/state.js'
import {ownRuntime, type Runtime} from '../../src/control/runtime.js'
import {checkNotRunning, lastErrorLine, runForeground, signalExitCode, startDetached} from '../../src/control/spawn.js'
import {freePort} from '../../src/net.js'

const root = mkdtempSync(join(tmpdir(), 'mqttctl-spawn-'))
const started: number[] = []
afterAll(async () => {
  for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  rmSync(root, {recursive: true, force: true})
})
let n = 0
const dataDir = () => join(root, `d${n++}`)
const node = (script: string): Runtime => ({command: process.execPath, args: ['-e', script], description: 'test script'})

/** A pid that was alive a moment ago and is not now. */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', ''])
  await new Promise((r) => p.once('exit', r))
  return p.pid!
}

async function waitExit(pid: number): Promise<void> {
  for (let i = 0; i < 400 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 25))
  expect(isAlive(pid)).toBe(false)
}

describe('checkNotRunning', () => {
  it('nothing recorded: nothing to do', () => {
    expect(checkNotRunning(brokerFiles(dataDir()))).toEqual({})
  })

  it('a dead pid in broker.pid: stale, and the pid file and broker.json are cleared', async () => {
    const files = brokerFiles(dataDir())
    const pid = await deadPid()
    const {mkdirSync} = await import('node:fs')
    mkdirSync(files.dataDir, {recursive: true})
    writeFileSync(files.pidFile, `${pid}\n`)
    writeFileSync(files.stateFile, JSON.stringify({pid, listeners: []}))
    expect(checkNotRunning(files)).toEqual({stalePid: pid})
    expect(existsSync(files.pidFile)).toBe(false)
    expect(existsSync(files.stateFile)).toBe(false)
  })

  it('a live pid (from broker.json when there is no pid file) refuses with how to stop it', async () => {
    const files = brokerFiles(dataDir())
    const {mkdirSync} = await import('node:fs')
    mkdirSync(files.dataDir, {recursive: true})
    writeFileSync(files.stateFile, JSON.stringify({pid: process.pid, listeners: []}))
    expect(() => checkNotRunning(files)).toThrow(AlreadyRunningError)
    expect(() => checkNotRunning(files)).toThrow(`(pid ${process.pid}); stop it with \`mqttctl stop --data-dir ${files.dataDir}\``)
    expect(existsSync(files.stateFile)).toBe(true)
  })

  it('a pid file with garbage in it names no process', async () => {
    const files = brokerFiles(dataDir())
    const {mkdirSync} = await import('node:fs')
    mkdirSync(files.dataDir, {recursive: true})
    writeFileSync(files.pidFile, '12abc')
    expect(checkNotRunning(files)).toEqual({})
  })
})

describe('lastErrorLine', () => {
  it('the message of the last ERROR line written since the offset, without its timestamp', () => {
    const log = join(root, 'broker.log')
    const old = '[2026-01-01T00:00:00Z] ERROR: an old failure\n'
    writeFileSync(log, `${old}[2026-01-01T00:00:01Z] INFO: starting\n[2026-01-01T00:00:02Z] ERROR: cannot listen on 127.0.0.1:1883: address in use\n[2026-01-01T00:00:02Z] ERROR: --port 1883 is taken; choose another\n[2026-01-01T00:00:03Z] INFO: bye\n`)
    expect(lastErrorLine(log, Buffer.byteLength(old))).toBe('--port 1883 is taken; choose another')
    expect(lastErrorLine(log, readFileSync(log).length)).toBeUndefined()
  })

  it('only the last 64 KB are read; a missing log is no line', () => {
    const log = join(root, 'big.log')
    writeFileSync(log, `[t] ERROR: far back\n${'x'.repeat(70 * 1024)}\n[t] INFO: no error here\n`)
    expect(lastErrorLine(log, 0)).toBeUndefined()
    expect(lastErrorLine(join(root, 'none.log'), 0)).toBeUndefined()
  })
})

describe('runForeground', () => {
  it('resolves with the child\'s exit code; the child is told it has a parent pipe', async () => {
    expect(await runForeground(node(`process.exit(process.env.${PARENT_PIPE_ENV} === '1' ? 7 : 1)`), [])).toBe(7)
  })

  it('passes the arguments after the runtime\'s own', async () => {
    expect(await runForeground(node('process.exit(process.argv.at(-2) === "sub" ? Number(process.argv.at(-1)) : 1)'), ['sub', '23'])).toBe(23)
  })

  it.each([
    ['SIGKILL', 137],
    ['SIGTERM', 143],
    ['SIGABRT', 134],
    ['SIGSEGV', 139],
    ['SIGUSR2', 140],
  ])('128 + n when the child is killed by signal n (%s: a V8 out-of-memory abort is SIGABRT)', async (signal, code) => {
    expect(await runForeground(node(`process.kill(process.pid, "${signal}")`), [])).toBe(code)
    expect(signalExitCode(signal)).toBe(code)
  })

  it('forwards SIGHUP to the child once, and removes its signal handlers afterwards', async () => {
    const ready = join(root, 'fg-ready')
    const before = process.listenerCount('SIGHUP')
    const run = runForeground(node(`process.on('SIGHUP', () => process.exit(42)); require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`), [])
    for (let i = 0; i < 400 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 25))
    expect(process.listenerCount('SIGHUP')).toBe(before + 1)
    process.emit('SIGHUP', 'SIGHUP')
    expect(await run).toBe(42)
    expect(process.listenerCount('SIGHUP')).toBe(before)
  })

  it('the real broker in the foreground: a forwarded SIGHUP reloads it, SIGTERM to it ends the run with its exit code 0', async () => {
    const files = brokerFiles(dataDir())
    const port = await freePort()
    const run = runForeground(ownRuntime(), ['--host', '127.0.0.1', '--port', String(port), '--data-dir', files.dataDir, '--log-level', 'warn'])
    let pid: number | undefined
    for (let i = 0; i < 1200 && pid === undefined; i++) {
      pid = readState(files)?.pid
      if (pid === undefined) await new Promise((r) => setTimeout(r, 25))
    }
    expect(pid).toBeTypeOf('number')
    started.push(pid!)
    process.emit('SIGHUP', 'SIGHUP')
    for (let i = 0; i < 800 && readReloadState(files) === undefined; i++) await new Promise((r) => setTimeout(r, 25))
    expect(readReloadState(files)).toMatchObject({seq: 1, pid})
    process.kill(pid!, 'SIGTERM')
    expect(await run).toBe(0)
  }, 60_000)

  it('a runtime that cannot be run is a ControlError naming it', async () => {
    const rt = {command: join(root, 'no-such-broker'), args: [], description: 'the missing one'}
    await expect(runForeground(rt, [])).rejects.toThrow(ControlError)
    await expect(runForeground(rt, [])).rejects.toThrow(/^cannot run the broker runtime the missing one: /)
  })
})

describe('startDetached', () => {
  it('returns once the real broker listens (its broker.json), and the broker outlives the call', async () => {
    const files = brokerFiles(dataDir())
    const port = await freePort()
    const state = await startDetached(ownRuntime(), ['--host', '127.0.0.1', '--port', String(port), '--data-dir', files.dataDir, '--log-level', 'info'], files, {readyTimeoutMs: 30_000})
    started.push(state.pid)
    expect(state.logFile).toBe(files.logFile)
    expect(state.listeners).toEqual([expect.objectContaining({host: '127.0.0.1', port})])
    expect(isAlive(state.pid)).toBe(true)
    await new Promise<void>((resolve, reject) => net.connect(port, '127.0.0.1', function (this: net.Socket) {
      this.destroy()
      resolve()
    }).once('error', reject))
    process.kill(state.pid, 'SIGTERM')
    await waitExit(state.pid)
    expect(readFileSync(files.logFile, 'utf8')).toMatch(/INFO: /)
  }, 40_000)

  it('a broker that exits before listening: its own ERROR line, exit code 1', async () => {
    const blocker = net.createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r))
    const port = (blocker.address() as net.AddressInfo).port
    const files = brokerFiles(dataDir())
    try {
      const e = await startDetached(ownRuntime(), ['--host', '127.0.0.1', '--port', String(port), '--data-dir', files.dataDir], files, {readyTimeoutMs: 30_000}).catch((error: unknown) => error)
      expect(e).toBeInstanceOf(ControlError)
      expect((e as ControlError).exitCode).toBe(1)
      expect((e as Error).message).toMatch(new RegExp(`${port}`))
      expect((e as Error).message).not.toMatch(/^\[/)
    } finally {
      blocker.close()
    }
  }, 40_000)

  it('a child that never listens is killed at the timeout and its pid file released', async () => {
    const files = brokerFiles(dataDir())
    const pidOut = join(root, 'never.pid')
    const rt = node(`require('fs').writeFileSync(${JSON.stringify(pidOut)}, String(process.pid)); setInterval(() => {}, 1000)`)
    const e = await startDetached(rt, [], files, {readyTimeoutMs: 1500}).catch((error: unknown) => error)
    expect(e).toBeInstanceOf(ControlError)
    expect((e as Error).message).toBe(`the broker did not start listening within 2 s and was stopped; see ${files.logFile}`)
    const pid = Number(readFileSync(pidOut, 'utf8'))
    started.push(pid)
    await waitExit(pid)
  }, 20_000)

  it('a child that exits without an ERROR line: how it ended and where to look', async () => {
    const files = brokerFiles(dataDir())
    const e = await startDetached(node('process.exit(5)'), [], files).catch((error: unknown) => error)
    expect((e as Error).message).toBe(`the broker exited before listening (exit code 5); see ${files.logFile}`)
  })

  it('an unwritable log file is refused with the fix', async () => {
    const files = {...brokerFiles(dataDir()), logFile: join(root, 'no-dir', 'x', 'broker.log')}
    const e = await startDetached(node(''), [], files).catch((error: unknown) => error)
    expect((e as Error).message).toBe(`cannot open the log file ${files.logFile} (ENOENT); choose another --data-dir or make it writable`)
  })
})
