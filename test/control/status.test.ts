/** brokerStatus and readSys on their own (the CLI end to end: test/commands/status.test.ts). */
import {type ChildProcess, spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {brokerFiles} from '../../src/broker/process/state.js'
import {brokerStatus, readSys, rssOf} from '../../src/control/status.js'
import {freePort} from '../../src/net.js'

const root = mkdtempSync(join(tmpdir(), 'mqttctl-status-'))
let child: ChildProcess | undefined
afterAll(() => {
  child?.kill('SIGKILL')
  rmSync(root, {recursive: true, force: true})
})

describe('brokerStatus', () => {
  it('no broker: not running, everything unknown', async () => {
    const files = brokerFiles(mkdtempSync(join(root, 'data-')))
    const s = await brokerStatus(files)
    expect(s).toMatchObject({running: false, pid: null, dataDir: files.dataDir, startedAt: null, uptimeSeconds: null, listeners: [], connections: null, rssBytes: null, stalePid: null})
  })

  it('a live process named by broker.json: pid, uptime from startedAt, RSS; no plain listener, so no $SYS figures', async () => {
    child = spawn(process.execPath, ['-e', "setInterval(() => {}, 1000); console.log('ready')"], {stdio: ['ignore', 'pipe', 'ignore']})
    await new Promise((r) => child!.stdout!.once('data', r))
    const files = brokerFiles(mkdtempSync(join(root, 'data-')))
    const startedAt = '2026-01-01T00:00:00.000Z'
    writeFileSync(files.pidFile, `${child.pid}\n`)
    writeFileSync(files.stateFile, JSON.stringify({pid: child.pid, startedAt, listeners: [{host: '0.0.0.0', port: 8883, tls: true}], version: '9.9.9', configFile: null, dataDir: files.dataDir, maxConnections: 77, logLevel: 'info', metrics: null}))
    const s = await brokerStatus(files, {now: Date.parse(startedAt) + 90_500})
    expect(s).toMatchObject({running: true, pid: child.pid, startedAt, uptimeSeconds: 90, maxConnections: 77, version: '9.9.9', connections: null, stalePid: null})
    expect(s.rssBytes).toBeGreaterThan(0)
  })
})

describe('readSys and rssOf', () => {
  it('undefined when nothing answers MQTT on the port, within the timeout', async () => {
    expect(await readSys({host: '127.0.0.1', port: await freePort()}, 500)).toBeUndefined()
  })

  it('rssOf: bytes for a live process, null for no process', () => {
    expect(rssOf(process.pid)).toBeGreaterThan(1024 * 1024)
    expect(rssOf(2 ** 30)).toBeNull()
  })
})
