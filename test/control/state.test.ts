import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {ControlError} from '../../src/broker/process/errors.js'
import {acquirePidFile, AlreadyRunningError, brokerFiles, ensureDataDir, isAlive, isBrokerAlive, processStartTicks, readState, releasePidFile, removeState, writeState} from '../../src/broker/process/state.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqttctl-state-'))
  dirs.push(dir)
  return dir
}
/** A pid that surely belongs to no process: one that just exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!
}

describe('pid file', () => {
  it('is created exclusively, refused while its broker lives, released by its owner only', () => {
    const files = brokerFiles(tempDir())
    expect(acquirePidFile(files, process.pid)).toEqual({stale: false})
    expect(readFileSync(files.pidFile, 'utf8')).toBe(`${process.pid}\n`)
    expect(() => acquirePidFile(files, 424242)).toThrow(AlreadyRunningError)
    expect(() => acquirePidFile(files, 424242)).toThrow(`a broker is already running on data directory ${files.dataDir} (pid ${process.pid})`)
    releasePidFile(files, 424242)
    expect(existsSync(files.pidFile)).toBe(true)
    releasePidFile(files, process.pid)
    expect(existsSync(files.pidFile)).toBe(false)
  })

  it('replaces a stale pid file (no such process) and an unreadable one', () => {
    const files = brokerFiles(tempDir())
    const dead = deadPid()
    writeFileSync(files.pidFile, `${dead}\n`)
    expect(acquirePidFile(files, process.pid)).toEqual({stale: true, stalePid: dead})
    expect(readFileSync(files.pidFile, 'utf8')).toBe(`${process.pid}\n`)
    writeFileSync(files.pidFile, 'garbage')
    expect(acquirePidFile(files, process.pid)).toEqual({stale: true, stalePid: undefined})
  })

  it('isAlive: this process yes, an exited one no', () => {
    expect(isAlive(process.pid)).toBe(true)
    expect(isAlive(deadPid())).toBe(false)
    expect(isAlive(0)).toBe(false)
  })
})

describe.skipIf(process.platform !== 'linux')('a pid reused by another process', () => {
  const state = (dataDir: string, processStart: number | undefined) => ({pid: process.pid, startedAt: '2025-01-01T00:00:00.000Z', listeners: [], version: '0.1.0', configFile: null, dataDir, maxConnections: 10, logLevel: 'info', metrics: null, processStart})

  it('is not the broker once broker.json recorded another start time (kill -9 or reboot, then pid reuse)', () => {
    const files = brokerFiles(tempDir())
    const ticks = processStartTicks(process.pid)!
    expect(ticks).toBeGreaterThan(0)
    writeFileSync(files.pidFile, `${process.pid}\n`)
    writeState(files, state(files.dataDir, ticks))
    expect(isBrokerAlive(process.pid, files)).toBe(true)
    writeState(files, state(files.dataDir, ticks - 1))
    expect(isBrokerAlive(process.pid, files)).toBe(false)
    // The runtime takes the data directory over instead of refusing "already running".
    expect(acquirePidFile(files, 424242)).toEqual({stale: true, stalePid: process.pid})
  })

  it('without a recorded start time (older broker.json) a live pid still counts', () => {
    const files = brokerFiles(tempDir())
    writeFileSync(files.pidFile, `${process.pid}\n`)
    writeState(files, state(files.dataDir, undefined))
    expect(isBrokerAlive(process.pid, files)).toBe(true)
  })
})

describe('broker.json', () => {
  it('round-trips and is removed only by its pid', () => {
    const files = brokerFiles(tempDir())
    const state = {pid: 77, startedAt: '2025-01-01T00:00:00.000Z', listeners: [{host: '0.0.0.0', port: 1883, tls: false}], version: '0.1.0', configFile: null, dataDir: files.dataDir, maxConnections: 10, logLevel: 'info', metrics: null}
    writeState(files, state)
    expect(readState(files)).toEqual(state)
    removeState(files, 78)
    expect(readState(files)).toEqual(state)
    removeState(files, 77)
    expect(readState(files)).toBeUndefined()
  })
})

describe('ensureDataDir', () => {
  it('creates nested directories', () => {
    const dir = join(tempDir(), 'a', 'b')
    ensureDataDir(dir)
    expect(existsSync(dir)).toBe(true)
  })

  it('a file in the way: one line naming the directory and the fix', () => {
    const file = join(tempDir(), 'file')
    writeFileSync(file, '')
    const dir = join(file, 'data')
    expect(() => ensureDataDir(dir)).toThrow(ControlError)
    expect(() => ensureDataDir(dir)).toThrow(`data directory ${dir} is not writable (a file is in the way); choose another --data-dir or make it writable by this user (chown/chmod)`)
  })
})
