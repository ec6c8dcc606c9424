/** src/control/reload.ts directly: SIGHUP to the broker of a data directory and its report, against a real detached broker. */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {brokerFiles, isAlive} from '../../src/broker/process/state.js'
import {NotRunningError, reloadBroker} from '../../src/control/reload.js'
import {ownRuntime} from '../../src/control/runtime.js'
import {startDetached} from '../../src/control/spawn.js'
import {freePort} from '../../src/net.js'

const root = mkdtempSync(join(tmpdir(), 'mqttctl-reloadsig-'))
const started: number[] = []
afterAll(() => {
  for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  rmSync(root, {recursive: true, force: true})
})

async function waitExit(pid: number): Promise<void> {
  for (let i = 0; i < 400 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 25))
}

describe('reloadBroker', () => {
  it('no broker recorded: NotRunningError naming the directory, exit code 3', async () => {
    const files = brokerFiles(join(root, 'empty'))
    const e = await reloadBroker(files).catch((error: unknown) => error)
    expect(e).toBeInstanceOf(NotRunningError)
    expect((e as NotRunningError).message).toBe(`no broker is running on data directory ${files.dataDir}; nothing to reload`)
    expect((e as NotRunningError).exitCode).toBe(3)
  })

  it('a pid file naming a process that is gone: not running, and nothing is signalled', async () => {
    const files = brokerFiles(join(root, 'stale'))
    mkdirSync(files.dataDir, {recursive: true})
    const p = spawn(process.execPath, ['-e', ''])
    await new Promise((r) => p.once('exit', r))
    writeFileSync(files.pidFile, String(p.pid))
    await expect(reloadBroker(files)).rejects.toThrow(NotRunningError)
  })

  it('a pid reused by another process (its start time differs from broker.json\'s) is not signalled', async () => {
    const files = brokerFiles(join(root, 'reused'))
    mkdirSync(files.dataDir, {recursive: true})
    const ready = join(root, 'reused-ready')
    const p = spawn(process.execPath, ['-e', `process.on('SIGHUP', () => process.exit(42)); require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`], {stdio: 'ignore'})
    started.push(p.pid!)
    try {
      for (let i = 0; i < 400 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 25))
      writeFileSync(files.pidFile, String(p.pid))
      writeFileSync(files.stateFile, JSON.stringify({pid: p.pid, listeners: [], processStart: 1}))
      await expect(reloadBroker(files, 300)).rejects.toThrow(NotRunningError)
      await new Promise((r) => setTimeout(r, 100))
      expect(p.exitCode).toBeNull()
      expect(isAlive(p.pid!)).toBe(true)
    } finally {
      p.kill('SIGKILL')
    }
  })

  it('the real broker reloads on SIGHUP: each call gets its own report (seq 1, then 2), the broker keeps running', async () => {
    const files = brokerFiles(join(root, 'live'))
    const port = await freePort()
    const state = await startDetached(ownRuntime(), ['--host', '127.0.0.1', '--port', String(port), '--data-dir', files.dataDir, '--log-level', 'warn'], files, {readyTimeoutMs: 30_000})
    started.push(state.pid)
    try {
      const first = await reloadBroker(files, 20_000)
      expect(first).toMatchObject({pid: state.pid, dataDir: files.dataDir, report: {seq: 1, pid: state.pid, ok: true}})
      expect(Array.isArray(first.report!.lines)).toBe(true)
      const second = await reloadBroker(files, 20_000)
      expect(second.report).toMatchObject({seq: 2, pid: state.pid})
      expect(isAlive(state.pid)).toBe(true)
    } finally {
      process.kill(state.pid, 'SIGTERM')
      await waitExit(state.pid)
    }
  }, 60_000)

  it('a live process that never writes a report: the pid and no report once the timeout passes', async () => {
    const files = brokerFiles(join(root, 'silent'))
    mkdirSync(files.dataDir, {recursive: true})
    const ready = join(root, 'silent-ready')
    const p = spawn(process.execPath, ['-e', `process.on('SIGHUP', () => {}); require('fs').writeFileSync(${JSON.stringify(ready)}, ''); setInterval(() => {}, 1000)`], {stdio: 'ignore'})
    started.push(p.pid!)
    try {
      for (let i = 0; i < 400 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 25))
      writeFileSync(files.pidFile, String(p.pid))
      expect(await reloadBroker(files, 300)).toEqual({pid: p.pid, dataDir: files.dataDir})
      expect(isAlive(p.pid!)).toBe(true)
    } finally {
      p.kill('SIGKILL')
    }
  })
})
