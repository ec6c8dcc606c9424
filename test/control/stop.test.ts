/** stopBroker on its own, with stand-in processes: SIGTERM, SIGKILL after the timeout, stale and missing pid files. */
import {type ChildProcess, spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, afterEach, describe, expect, it} from 'vitest'
import {brokerFiles, isAlive, processStartTicks} from '../../src/broker/process/state.js'
import {stopBroker} from '../../src/control/stop.js'

const root = mkdtempSync(join(tmpdir(), 'mqttctl-stop-'))
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})
afterAll(() => rmSync(root, {recursive: true, force: true}))

/** A stand-in broker: a Node.js process that says when it is ready; with ignoreTerm it survives SIGTERM. */
async function standIn(ignoreTerm = false): Promise<ChildProcess> {
  const code = `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} setInterval(() => {}, 1000); console.log('ready')`
  const child = spawn(process.execPath, ['-e', code], {stdio: ['ignore', 'pipe', 'ignore']})
  children.push(child)
  await new Promise((r) => child.stdout!.once('data', r))
  return child
}

function dataDir(pid?: number, state?: object) {
  const files = brokerFiles(mkdtempSync(join(root, 'data-')))
  if (pid !== undefined) writeFileSync(files.pidFile, `${pid}\n`)
  if (state) writeFileSync(files.stateFile, JSON.stringify({pid, listeners: [], ...state}))
  return files
}

describe('stopBroker', () => {
  it('no pid file: nothing to stop', async () => {
    const files = dataDir()
    expect(await stopBroker(files, {timeoutMs: 1000})).toEqual({stopped: false, pid: null, forced: false, stalePid: null, dataDir: files.dataDir})
  })

  it('a pid file naming a process that is gone: reported as stale and removed', async () => {
    const child = await standIn()
    const pid = child.pid!
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
    const files = dataDir(pid, {})
    const result = await stopBroker(files, {timeoutMs: 1000})
    expect(result).toMatchObject({stopped: false, pid: null, stalePid: pid})
    expect(existsSync(files.pidFile) || existsSync(files.stateFile)).toBe(false)
  })

  it('a reused pid (another process start time than broker.json says) is not signalled', async () => {
    const child = await standIn()
    const files = dataDir(child.pid, {processStart: processStartTicks(child.pid!)! - 1})
    const result = await stopBroker(files, {timeoutMs: 1000})
    expect(result).toMatchObject({stopped: false, stalePid: child.pid})
    expect(isAlive(child.pid!)).toBe(true)
  })

  it('SIGTERM: the process ends, the files that name it are removed', async () => {
    const child = await standIn()
    const files = dataDir(child.pid, {processStart: processStartTicks(child.pid!)})
    const result = await stopBroker(files, {timeoutMs: 10_000})
    expect(result).toMatchObject({stopped: true, pid: child.pid, forced: false, stalePid: null})
    expect(isAlive(child.pid!)).toBe(false)
    expect(existsSync(files.pidFile) || existsSync(files.stateFile)).toBe(false)
  })

  it('a process that ignores SIGTERM gets SIGKILL after the timeout, with a warning', async () => {
    const child = await standIn(true)
    const files = dataDir(child.pid)
    const warnings: string[] = []
    const result = await stopBroker(files, {timeoutMs: 200, onWarn: (w) => warnings.push(w)})
    expect(result).toMatchObject({stopped: true, forced: true})
    expect(warnings).toEqual([`the broker (pid ${child.pid}) did not stop within 0.2 s after SIGTERM; killing it (SIGKILL): unacknowledged in-flight messages may be lost`])
    expect(isAlive(child.pid!)).toBe(false)
    expect(existsSync(files.pidFile)).toBe(false)
  })
})
