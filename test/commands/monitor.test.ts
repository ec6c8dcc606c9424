import {runCommand} from '@oclif/test'
import mqtt, {type MqttClient} from 'mqtt'
import {createServer} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type Reporter, startReporter} from '../../src/broker/stats/reporter.js'
import {type StartedBroker, startBroker} from '../helpers/broker.js'

const root = new URL('../..', import.meta.url).pathname
const opts = {testNodeEnv: 'production'} as const

describe('mqttctl monitor', () => {
  let started: StartedBroker
  let reporter: Reporter
  const clients: MqttClient[] = []

  beforeAll(async () => {
    started = await startBroker({maxConnections: 10})
    reporter = startReporter(started.broker)
    for (let i = 0; i < 3; i++) clients.push(await mqtt.connectAsync(started.url, {clientId: `c${i}`, reconnectPeriod: 0}))
    for (let i = 0; i < 100; i++) clients[i % 3].publish('t/1', 'x')
    await clients[0].publishAsync('t/1', 'x', {qos: 1})
    await clients[1].publishAsync('t/1', 'x', {qos: 1})
    await clients[2].publishAsync('t/1', 'x', {qos: 1})
    reporter.tick()
  })

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)))
    await reporter.stop()
    await started.close()
  })

  it('--once --json prints one JSON line with the figures', async () => {
    const {stdout, stderr, error} = await runCommand(['monitor', '--url', started.url, '--once', '--json'], {root}, opts)
    expect(error).toBeUndefined()
    expect(stderr).toBe('')
    const lines = stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    const json = JSON.parse(lines[0])
    expect(json.connectionsLive).toBe(3)
    expect(json.connectionsMax).toBe(10)
    expect(json.messagesReceived).toBeGreaterThanOrEqual(100)
    // The test process is more than the broker: its RSS may pass a tiny broker's plan.
    expect(json.warnings.filter((w: string) => !w.startsWith('memory'))).toEqual([])
  })

  it('--once prints the dashboard, with a warning once connections pass 80 % of the limit', async () => {
    const more: MqttClient[] = []
    for (let i = 0; i < 6; i++) more.push(await mqtt.connectAsync(started.url, {clientId: `more${i}`, reconnectPeriod: 0}))
    reporter.tick()
    const {stdout, error} = await runCommand(['monitor', '--url', started.url, '--once', '--no-color'], {root}, opts)
    await Promise.all(more.map((c) => c.endAsync(true)))
    reporter.tick()
    expect(error).toBeUndefined()
    expect(stdout).toMatch(/^mqttctl monitor · mqtt:\/\/127\.0\.0\.1:\d+ · mqttctl /)
    expect(stdout).toMatch(/Connections {2}9 \/ 10 +90\.0 %/)
    expect(stdout).toMatch(/! connections at 90\.0 % of the limit \(9 \/ 10\)/)
  })

  it('exits 1 with a clear message when the broker cannot be reached', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const {port} = server.address() as {port: number}
    await new Promise((resolve) => server.close(resolve))

    const {stderr, error} = await runCommand(['monitor', '--url', `mqtt://127.0.0.1:${port}`, '--timeout', '2'], {root}, opts)
    expect(error?.oclif?.exit).toBe(1)
    expect(stderr).toBe(`Error: cannot reach the broker at mqtt://127.0.0.1:${port}: connection refused (is it running, on that port?)\n`)

    const json = await runCommand(['monitor', '--url', `mqtt://127.0.0.1:${port}`, '--json'], {root}, opts)
    expect(json.error?.oclif?.exit).toBe(1)
    expect(JSON.parse(json.stdout)).toEqual({error: {message: expect.stringMatching(/^cannot reach the broker/), exitCode: 1}})
  })

  it.each([
    [['--timeout', '0'], '--timeout "0" is too small; allowed: a whole number of seconds from 1 to 3,600'],
    [['--timeout', 'abc'], '--timeout "abc" is not a number; allowed: a whole number of seconds from 1 to 3,600 (e.g. 50000, 50,000 or 50k)'],
    [['--interval', '1.5'], '--interval "1.5" is not a whole number; allowed: a whole number of seconds from 1 to 86,400'],
    [['--once', '--interval', '5'], '--once and --interval are not allowed together; give one of them'],
    [['--url', 'foo'], '--url "foo" is not allowed; allowed: mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (e.g. mqtt://127.0.0.1:1883)'],
    [['--url', 'http://127.0.0.1:1883'], /^--url "http:\/\/127.0.0.1:1883" is not allowed; allowed: mqtt:\/\//],
    [['--bogus'], /^Nonexistent flag: --bogus; allowed flags: --url, .*--json$/],
  ])('bad flag %j: one line naming it and what is allowed, exit 2, before connecting', async (args, message) => {
    const {stdout, stderr, error} = await runCommand(['monitor', ...args], {root}, opts)
    expect(error?.oclif?.exit).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.endsWith('\n')).toBe(true)
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(stderr.trimEnd().replace(/^Error: /, '')).toMatch(message)
  })
})
