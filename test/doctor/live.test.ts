import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer as createHttp} from 'node:http'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG} from '../../src/config/index.js'
import type {BrokerState} from '../../src/broker/process/state.js'
import {runDoctor} from '../../src/doctor/index.js'
import {checkDataDir, checkMonitoring, checkPort, checkTls, DISK_BASE} from '../../src/doctor/live.js'
import {checkLoad} from '../../src/doctor/load.js'
import {type StartedBroker, startBroker} from '../helpers/broker.js'

const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  while (closers.length) await closers.pop()!()
})

async function occupy(): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  closers.push(() => new Promise((r) => server.close(r)))
  return (server.address() as {port: number}).port
}

const stateFor = (port: number, extra: Partial<BrokerState> = {}): BrokerState => ({
  pid: process.pid,
  startedAt: new Date().toISOString(),
  listeners: [{host: '127.0.0.1', port, tls: false}],
  version: '0.1.0',
  configFile: null,
  dataDir: '/tmp',
  maxConnections: 10_000,
  logLevel: 'info',
  metrics: null,
  ...extra,
})

describe('doctor: live checks', () => {
  it('a port: free passes; held by another process fails; held by our broker (broker.json, live pid) passes', async () => {
    const port = await occupy()
    const listener = {host: '127.0.0.1', port}
    expect(await checkPort(listener, undefined)).toMatchObject({status: 'fail', detail: `127.0.0.1:${port} is in use by another process`, fix: expect.stringContaining(`sport = :${port}`)})
    expect(await checkPort(listener, stateFor(port))).toMatchObject({status: 'pass', detail: `served by our broker (pid ${process.pid}, version 0.1.0)`})
    expect((await checkPort(listener, stateFor(port, {pid: 2 ** 22 + 12345}))).status).toBe('fail')
    await closers.pop()!()
    expect((await checkPort(listener, undefined)).status).toBe('pass')
  })

  it('TLS: none warns, unreadable files fail', () => {
    expect(checkTls(DEFAULT_CONFIG).status).toBe('warn')
    expect(checkTls({...DEFAULT_CONFIG, listeners: [{host: '0.0.0.0', port: 8883, tls: {cert: '/nonexistent/c.pem', key: '/nonexistent/k.pem'}}]})).toMatchObject({status: 'fail', detail: 'cannot read /nonexistent/c.pem, /nonexistent/k.pem'})
  })

  it('data directory: writable with space passes, with more sessions than the disk holds fails, read-only fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mqttctl-doctor-data-'))
    expect(checkDataDir(join(dir, 'data'), 1_000)).toMatchObject({status: 'pass', detail: expect.stringContaining('does not exist yet')})
    expect(checkDataDir(dir, 1_000).detail).toContain(`${dir} is writable`)
    expect(checkDataDir(dir, Number.MAX_SAFE_INTEGER / 1e4).status).toBe('fail')
    expect(DISK_BASE).toBeGreaterThan(0)
    const proc = checkDataDir('/proc/1/doctor-data', 10)
    expect(proc.status).toBe('fail')
  })

  it('monitoring: disabled warns; healthz answering 200 passes; a dead endpoint fails', async () => {
    expect((await checkMonitoring(DEFAULT_CONFIG, undefined)).status).toBe('warn')
    const http = createHttp((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end('ok'))
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise((r) => {
      http.closeAllConnections()
      http.close(r)
    }))
    const port = (http.address() as {port: number}).port
    const config = {...DEFAULT_CONFIG, metrics: {enabled: true, host: '127.0.0.1', port}}
    expect(await checkMonitoring(config, stateFor(1883, {metrics: {host: '127.0.0.1', port}}))).toMatchObject({status: 'pass', detail: `http://127.0.0.1:${port}/healthz answers 200`})
    expect((await checkMonitoring(config, undefined)).status).toBe('warn')
    const dead = await occupy()
    await closers.pop()!()
    expect(await checkMonitoring(config, stateFor(1883, {metrics: {host: '127.0.0.1', port: dead}}), 500)).toMatchObject({status: 'fail', detail: expect.stringContaining('does not answer')})
  })
})

describe('doctor --load-test', () => {
  let broker: StartedBroker
  it('20 clients through a real broker pass; no broker fails', async () => {
    broker = await startBroker()
    closers.push(() => broker.close())
    const check = await checkLoad({host: '127.0.0.1', port: broker.port})
    expect(check).toMatchObject({status: 'pass', detail: expect.stringMatching(/^20\/20 connected, 1000\/1000 messages delivered/)})
    expect((await checkLoad(undefined)).status).toBe('fail')
  })

  it('runDoctor finds the running broker from broker.json and loads it', async () => {
    broker = await startBroker()
    closers.push(() => broker.close())
    const dir = mkdtempSync(join(tmpdir(), 'mqttctl-doctor-run-'))
    writeFileSync(join(dir, 'broker.json'), JSON.stringify(stateFor(broker.port, {dataDir: dir})))
    const configFile = join(dir, 'broker.conf.json')
    writeFileSync(configFile, JSON.stringify({listeners: [{host: '127.0.0.1', port: broker.port}], dataDir: dir}))
    const report = await runDoctor({configFile, loadTest: true, cwd: dir})
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]))
    expect(byId[`port-${broker.port}`]).toMatchObject({status: 'pass', detail: expect.stringContaining('served by our broker')})
    expect(byId['load-test'].status).toBe('pass')
    expect(report.config).toBe(configFile)
    expect(report.devices).toBeNull()
    expect(report.tier).toBe('small')
  })
})
