/** The runtime entry's logic in-process: argv/env -> listening broker -> broker.json -> graceful stop. */
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {parseMainArgs, runMain, usage} from '../../src/broker/process/run-main.js'
import type {BrokerState} from '../../src/broker/process/state.js'
import {freePort} from './helpers.js'

const dirs: string[] = []
const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mqttctl-main-'))
  dirs.push(d)
  return d
}

function run(argv: string[], env: Record<string, string> = {}) {
  const lines: string[] = []
  const abort = new AbortController()
  let onListening: (s: BrokerState) => void = () => {}
  const listening = new Promise<BrokerState>((resolve) => (onListening = resolve))
  const done = runMain(argv, env, {signal: abort.signal, handleSignals: false, write: (l) => lines.push(l.trimEnd().replace(/^\[[^\]]+\] /, '')), onListening})
  return {lines, abort, listening, done}
}

describe('parseMainArgs', () => {
  it('takes the same names as `mqttctl start`', () => {
    expect(parseMainArgs(['--config', 'b.json', '--port', '1884', '--data-dir', 'd', '--metrics'])).toMatchObject({config: 'b.json', port: '1884', 'data-dir': 'd', metrics: true})
  })

  it('unknown options and stray arguments: one line with what is allowed', () => {
    expect(() => parseMainArgs(['--prot', '1'])).toThrow(/^Unknown option --prot; allowed: --config, --port, --host, --data-dir/)
    expect(() => parseMainArgs(['start'])).toThrow('unexpected argument "start"; the broker takes only options (see --help)')
    expect(usage()).toContain('--max-connections N')
  })
})

describe('runMain', () => {
  it('listens, writes pid file and broker.json, serves clients, and stops gracefully with 0', async () => {
    const data = join(tempDir(), 'data')
    const port = await freePort()
    const r = run(['--host', '127.0.0.1', '--port', String(port), '--data-dir', data], {MQTTCTL_MAX_CONNECTIONS: '321'})
    const state = await r.listening
    expect(state).toMatchObject({pid: process.pid, listeners: [{host: '127.0.0.1', port, tls: false}], dataDir: data, maxConnections: 321, configFile: null})
    expect(JSON.parse(readFileSync(join(data, 'broker.json'), 'utf8'))).toEqual(state)
    expect(readFileSync(join(data, 'broker.pid'), 'utf8')).toBe(`${process.pid}\n`)
    const client = await mqtt.connectAsync({host: '127.0.0.1', port, reconnectPeriod: 0})
    await client.endAsync()

    r.abort.abort()
    expect(await r.done).toBe(0)
    expect(r.lines).toContain('INFO: stop requested: shutting down gracefully')
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
    expect(existsSync(join(data, 'broker.json'))).toBe(false)
  })

  it('config errors exit 2 before anything is created', async () => {
    const data = join(tempDir(), 'data')
    const r = run(['--data-dir', data, '--port', 'x'])
    expect(await r.done).toBe(2)
    expect(r.lines).toEqual(['ERROR: --port "x" is not allowed: expected an integer from 0 to 65,535'])
    expect(existsSync(data)).toBe(false)
  })

  it('port in use exits 1 with the fix and releases the pid file', async () => {
    const server = createServer()
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as {port: number}
    const data = join(tempDir(), 'data')
    const r = run(['--host', '127.0.0.1', '--port', String(port), '--data-dir', data])
    expect(await r.done).toBe(1)
    expect(r.lines.at(-1)).toBe(`ERROR: port ${port} is already in use on 127.0.0.1; stop the other broker or choose --port`)
    expect(existsSync(join(data, 'broker.pid'))).toBe(false)
  })

  it('a metrics port in use: the fix names --metrics-port, and the MQTT listener is closed again', async () => {
    const server = createServer()
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const metricsPort = (server.address() as {port: number}).port
    const port = await freePort()
    const r = run(['--host', '127.0.0.1', '--port', String(port), '--data-dir', join(tempDir(), 'data'), '--metrics', '--metrics-port', String(metricsPort)])
    expect(await r.done).toBe(1)
    expect(r.lines.at(-1)).toBe(`ERROR: port ${metricsPort} is already in use on 127.0.0.1; stop the other broker or choose --metrics-port`)
    await expect(mqtt.connectAsync({host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 2000})).rejects.toThrow()
  })
})
