import {runCommand} from '@oclif/test'
import {existsSync, mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {findMosquitto, freePort, startMosquitto, type RunningBroker} from '../../src/bench/brokers.js'

const root = new URL('../..', import.meta.url).pathname
const opts = {testNodeEnv: 'production'} as const
const bin = findMosquitto(false)

describe('mqttctl bench: refusals (no broker needed)', () => {
  it('refuses a target outside loopback with exit 2 and says how to allow it', async () => {
    const {error} = await runCommand(['bench', 'conn', '--host', '10.1.2.3', '-c', '1', '-d', '1'], {root}, opts)
    expect(error?.oclif?.exit).toBe(2)
    const {stdout} = await runCommand(['bench', 'pub', '--url', 'mqtt://192.0.2.1:1883', '-d', '1', '--json'], {root}, opts)
    expect(JSON.parse(stdout).error).toMatchObject({exitCode: 2, message: expect.stringContaining('--allow-remote')})
  })

  it('refuses an unbounded run with exit 2', async () => {
    const {stdout} = await runCommand(['bench', 'pub', '-d', '0', '--json'], {root}, opts)
    expect(JSON.parse(stdout).error).toMatchObject({exitCode: 2, message: expect.stringContaining('stop by itself')})
  })

  it.each([
    // Found by QA: these were accepted and silently ignored, or ended in a stack trace (exit 1).
    [['bench', 'suite', '-p', '1884'], '--port does not apply to bench suite; it is for conn, pub, sub, pubsub, fanout, latency'],
    [['bench', 'calibrate', '-c', '10'], '--clients does not apply to bench calibrate; it is for conn, pub, sub, pubsub, fanout, latency'],
    [['bench', 'conn', '--probe', '-d', '1'], '--probe does not apply to bench conn; it is for fanout'],
    [['bench', 'sub', '--subscribers', '2', '-d', '1'], '--subscribers does not apply to bench sub; it is for pubsub, latency'],
    [['bench', 'pub', '--rounds', '2', '-d', '1'], '--rounds does not apply to bench pub; it is for suite'],
    [['bench', 'pub', '--url', 'notaurl', '-d', '1'], '--url "notaurl" is not a URL; allowed: mqtt://[user:pass@]host[:port] or mqtts://…'],
    [['bench', 'pub', '--tls', '--ca', '/nonexistent/ca.pem', '-d', '1'], '--ca "/nonexistent/ca.pem" cannot be read (ENOENT); allowed: a readable PEM file'],
    [['bench', 'pub', '--broker-pid', '999999999', '-d', '1'], '--broker-pid 999999999: no such process; give the pid of the broker under test (e.g. from `mqttctl status`)'],
  ])('%j: one line, exit 2', async (args, message) => {
    const {stdout, error} = await runCommand([...args, '--json'], {root}, opts)
    expect(error?.oclif?.exit).toBe(2)
    expect(JSON.parse(stdout)).toEqual({error: {message, exitCode: 2}})
  })

  it('rejects an unknown mode', async () => {
    const {error} = await runCommand(['bench', 'flood'], {root}, opts)
    expect(error?.oclif?.exit).toBe(2)
  })
})

describe('mqttctl bench against Mosquitto', () => {
  let broker: RunningBroker
  beforeAll(async () => {
    if (!bin) throw new Error('these tests need Debian\'s mosquitto broker (apt-get install mosquitto); .ci/run installs it')
    broker = await startMosquitto(bin, {port: await freePort()})
  })
  afterAll(async () => broker?.stop())

  it('pubsub --json: the result shape, every message delivered, exit 0', async () => {
    const {stdout, error} = await runCommand(['bench', 'pubsub', '-p', String(broker.port), '-c', '3', '-n', '3000', '-d', '10', '--broker-pid', String(broker.pid), '--json'], {root}, opts)
    expect(error).toBeUndefined()
    const r = JSON.parse(stdout)
    expect(r).toMatchObject({mode: 'pubsub', clients: 3, subscribers: 3, qos: 0, size: 64, workers: 1})
    expect(r.messages).toEqual({sent: 3000, received: 3000, expected: 3000, lost: 0, acked: 0})
    expect(Object.keys(r.latencyMs)).toEqual(['count', 'p50', 'p95', 'p99', 'max', 'mean'])
    expect(Object.keys(r.rates)).toEqual(['sentPerSecond', 'receivedPerSecond', 'measuredSeconds'])
    expect(r.connect).toMatchObject({attempted: 6, connected: 6, failed: 0})
    expect(typeof r.generator.cpuPercent).toBe('number')
    expect(r.broker.pid).toBe(broker.pid)
  })

  it('human summary for fanout', async () => {
    const {stdout, error} = await runCommand(['bench', 'fanout', '-p', String(broker.port), '-c', '20', '-n', '3', '-i', '0', '-d', '10'], {root}, opts)
    expect(error).toBeUndefined()
    expect(stdout).toMatch(/broadcasts +3 sent, 3 reached every subscriber, 0 did not/)
    expect(stdout).toMatch(/generator CPU/)
  })

  it('exit 1 when connections fail', async () => {
    const {stdout, error} = await runCommand(['bench', 'conn', '-p', String(await freePort()), '-c', '2', '-d', '1', '--json'], {root}, opts)
    expect(JSON.parse(stdout).connect).toMatchObject({connected: 0, failed: 2})
    expect(error?.oclif?.exit).toBe(1)
  })

  it('suite --quick with Mosquitto alone writes RESULTS.md and results.json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mqttctl-bench-suite-'))
    const {error} = await runCommand(['bench', 'suite', '--quick', '--rounds', '1', '--only', 'pairs,latency', '--mosquitto-only', '--out', out, '--json'], {root}, opts)
    expect(error).toBeUndefined()
    expect(existsSync(join(out, 'RESULTS.md'))).toBe(true)
    const md = readFileSync(join(out, 'RESULTS.md'), 'utf8')
    expect(md).toMatch(/Mosquitto alone|skipped/)
    expect(md).toMatch(/### pairs/)
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'))
    expect(json.runs.map((r: {scenario: string}) => r.scenario)).toEqual(['pairs', 'latency'])
    expect(json.runs.every((r: {metrics: {lost: number}}) => r.metrics.lost === 0)).toBe(true)
  }, 60_000)
})
