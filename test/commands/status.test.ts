/**
 * `mqttctl status` through the real CLI: not running (exit 3), running (exit 0) with pid, uptime,
 * listeners, live connections / max, messages and memory, found by --data-dir, --config or env.
 */
import {spawnSync} from 'node:child_process'
import {runCommand} from '@oclif/test'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import mqtt, {type MqttClient} from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {hashPassword} from '../../src/broker/auth/password-hash.js'
import {freePort, ROOT, Sandbox, waitFor} from '../control/helpers.js'

const box = new Sandbox()
const clients: MqttClient[] = []
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)))
  await box.cleanup()
})

describe('status, nothing running', () => {
  it('says so with exit 3, in text and --json', async () => {
    const data = join(box.dir(), 'data')
    const text = await box.cli(['status', '--data-dir', data])
    expect(text.exitCode).toBe(3)
    expect(text.stdout.split('\n').map((l) => l.trim())).toEqual(['broker: not running', `data dir  ${data}`])
    const json = await box.cli(['status', '--data-dir', data, '--json'])
    expect(json.exitCode).toBe(3)
    expect(JSON.parse(json.stdout)).toMatchObject({running: false, pid: null, dataDir: data, listeners: [], stalePid: null})
  })

  it('names a stale pid file', async () => {
    const data = join(box.dir(), 'data')
    mkdirSync(data)
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    writeFileSync(join(data, 'broker.pid'), `${dead}\n`)
    const {stdout, exitCode} = await box.cli(['status', '--data-dir', data])
    expect(exitCode).toBe(3)
    expect(stdout.split('\n')[0]).toBe(`broker: not running (stale pid file: pid ${dead} is not running)`)
  })

  it('a bad --config is one line, exit 2', async () => {
    const file = join(box.dir(), 'broker.json')
    writeFileSync(file, '{"dataDir": 5}')
    // In process: a refusal before any broker is looked for.
    const {stderr, stdout, error} = await runCommand(['status', '--config', file], {root: ROOT}, {testNodeEnv: 'production'})
    process.exitCode = undefined
    expect(error?.oclif?.exit).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toBe(`Error: ${file}: dataDir = 5 is not allowed: expected a non-empty string\n`)
  })
})

describe('status of a detached broker', () => {
  it('pid, uptime, listeners, live connections / max, messages, memory; found by --data-dir, --config and MQTTCTL_DATA_DIR', async () => {
    const port = await freePort()
    const dir = box.dir()
    const data = join(dir, 'data')
    const started = await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, '--max-connections', '500', '--stats-interval', '1'])
    expect(started.exitCode).toBe(0)
    for (let i = 0; i < 2; i++) clients.push(await mqtt.connectAsync({host: '127.0.0.1', port, reconnectPeriod: 0, clientId: `status-${i}`}))
    await clients[0].publishAsync('a/b', 'x', {qos: 1})

    // $SYS figures are as of the broker's last statistics tick (every second here).
    const json = await waitFor('status to see 2 connections', async () => {
      const r = await box.cli(['status', '--data-dir', data, '--json'])
      expect(r.exitCode).toBe(0)
      const s = JSON.parse(r.stdout)
      return s.connections === 2 && s.messages.received >= 1 ? s : undefined
    })
    expect(json).toMatchObject({
      running: true,
      dataDir: data,
      listeners: [{host: '127.0.0.1', port, tls: false}],
      maxConnections: 500,
      logFile: join(data, 'broker.log'),
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      stalePid: null,
    })
    expect(json.pid).toBeGreaterThan(0)
    expect(json.uptimeSeconds).toBeGreaterThanOrEqual(0)
    expect(json.rssBytes).toBeGreaterThan(1_000_000)

    const text = await box.cli(['status', '--data-dir', data])
    expect(text.exitCode).toBe(0)
    const rows = text.stdout.split('\n').map((l) => l.trim().split(/\s{2,}/))
    expect(rows[0]).toEqual(['broker: running'])
    expect(rows).toContainEqual(['pid', String(json.pid)])
    expect(rows).toContainEqual(['listeners', `127.0.0.1:${port}`])
    // The two clients; plus this status call's own $SYS reader when a tick (every second here) lands
    // while it is connected: $SYS counts every connected client, as Mosquitto's does.
    expect(['2 / 500', '3 / 500']).toContain(rows.find((r) => r[0] === 'connections')?.[1])
    expect(rows).toContainEqual(['data dir', data])
    expect(rows.find((r) => r[0] === 'uptime')?.[1]).toMatch(/^(\d+m )?\d+s$/)
    expect(rows.find((r) => r[0] === 'memory (RSS)')?.[1]).toMatch(/^\d+(\.\d)? MB$/)
    expect(rows.find((r) => r[0] === 'messages')?.[1]).toMatch(/^\d+ received, \d+ sent$/)

    const file = join(dir, 'broker.json')
    writeFileSync(file, JSON.stringify({dataDir: data}))
    const byConfig = await box.cli(['status', '--config', file, '--json'])
    expect(JSON.parse(byConfig.stdout).pid).toBe(json.pid)
    const byEnv = await box.cli(['status', '--json'], {env: {MQTTCTL_DATA_DIR: data}})
    expect(JSON.parse(byEnv.stdout).pid).toBe(json.pid)
  })
})

describe('status figures are as of the last $SYS tick, and say so', () => {
  it('clients connected since the last tick are not counted yet: the age and the refresh interval are shown', async () => {
    // Found by QA: right after clients connected status showed "connections 0 / 10,000" under a
    // help text promising live figures.
    const port = await freePort()
    const data = join(box.dir(), 'data')
    expect((await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, '--stats-interval', '3600'])).exitCode).toBe(0)
    for (let i = 0; i < 3; i++) clients.push(await mqtt.connectAsync({host: '127.0.0.1', port, reconnectPeriod: 0, clientId: `stale-${i}`}))

    const json = JSON.parse((await box.cli(['status', '--data-dir', data, '--json'])).stdout)
    expect(json.connections).toBe(0)
    expect(json.statsIntervalSeconds).toBe(3600)
    expect(json.figuresAgeSeconds).toBeGreaterThanOrEqual(0)
    expect(json.figuresAgeSeconds).toBeLessThan(60)

    const text = await box.cli(['status', '--data-dir', data])
    const rows = text.stdout.split('\n').map((l) => l.trim().split(/\s{2,}/))
    expect(rows).toContainEqual(['connections', '0 / 10,000'])
    expect(rows.find((r) => r[0] === 'figures')?.[1]).toMatch(/^\d+ s old \(the broker updates them every 3600 s\)$/)
    for (const line of text.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80)
  })
})

describe('status of a broker with a password file', () => {
  it('reads $SYS as -u/-P (or MQTTCTL_USERNAME/MQTTCTL_PASSWORD); without them the figures are unknown', async () => {
    const port = await freePort()
    const data = join(box.dir(), 'data')
    const pw = join(box.dir(), 'passwd')
    writeFileSync(pw, `ops:${hashPassword(Buffer.from('ops-secret'), 1000)}\n`, {mode: 0o600})
    // One $SYS tick, at start (0 connections): a later tick while one of these status calls is
    // connected would count its reader (seen here as connections 1 under load).
    expect((await box.cli(['start', '--detach', '--host', '127.0.0.1', '--port', String(port), '--data-dir', data, '--password-file', pw, '--stats-interval', '3600'])).exitCode).toBe(0)

    const anonymous = JSON.parse((await box.cli(['status', '--data-dir', data, '--json'])).stdout)
    expect(anonymous).toMatchObject({running: true, connections: null, messages: {received: null, sent: null}})
    const byFlags = JSON.parse((await box.cli(['status', '--data-dir', data, '--json', '-u', 'ops', '-P', 'ops-secret'])).stdout)
    expect(byFlags).toMatchObject({running: true, connections: 0, maxConnections: 10_000})
    const byEnv = JSON.parse((await box.cli(['status', '--data-dir', data, '--json'], {env: {MQTTCTL_USERNAME: 'ops', MQTTCTL_PASSWORD: 'ops-secret'}})).stdout)
    expect(byEnv).toMatchObject({running: true, connections: 0})
    const wrong = JSON.parse((await box.cli(['status', '--data-dir', data, '--json', '-u', 'ops', '-P', 'nope'])).stdout)
    expect(wrong.connections).toBeNull()
  })
})
