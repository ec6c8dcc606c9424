import {createServer} from 'node:net'
import mqtt, {type MqttClient} from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {type Reporter, startReporter} from '../../src/broker/stats/reporter.js'
import {runMonitor} from '../../src/monitor/run.js'
import {MonitorError, SysClient} from '../../src/monitor/sys-client.js'
import {type StartedBroker, startBroker} from '../helpers/broker.js'

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as {port: number}
  await new Promise((resolve) => server.close(resolve))
  return port
}

const nonTty = {write: () => true, isTTY: false, columns: 80}

describe('monitor against a live broker', () => {
  let started: StartedBroker | undefined
  let reporter: Reporter | undefined
  const clients: MqttClient[] = []

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)))
    await reporter?.stop()
    await started?.close()
    reporter = undefined
    started = undefined
  })

  async function brokerWithClients(n: number): Promise<StartedBroker> {
    started = await startBroker({maxConnections: 100})
    reporter = startReporter(started.broker)
    for (let i = 0; i < n; i++) clients.push(await mqtt.connectAsync(started.url, {clientId: `load-${i}`, reconnectPeriod: 0}))
    reporter.tick()
    return started
  }

  it('--once --json: the figures of the last statistics tick', async () => {
    const {url} = await brokerWithClients(3)
    await clients[0].publishAsync('a/b', 'hello', {qos: 1})
    reporter!.tick()
    const json = await runMonitor({url, timeoutSeconds: 5, once: true, json: true, color: false, out: nonTty})
    expect(json.url).toBe(url)
    expect(json.version).toMatch(/^mqttctl /)
    expect(json.connectionsLive).toBe(3)
    expect(json.connectionsMax).toBe(100)
    expect(json.messagesReceived).toBe(1)
    expect(json.receivedQos1).toBe(1)
    expect(json.cacheHitRatio).toBeGreaterThanOrEqual(0)
    expect(json.rssBytes).toBeGreaterThan(0)
    // The test process is more than the broker: its RSS may pass a tiny broker's plan.
    expect(json.warnings.filter((w: string) => !w.startsWith('memory'))).toEqual([])
    expect(Object.keys(json.rates)).toEqual(['messagesIn', 'messagesOut', 'bytesIn', 'bytesOut', 'connects'])
  })

  it('streams one plain line per broker update until stopped', async () => {
    const {url} = await brokerWithClients(1)
    const lines: string[] = []
    let stop!: () => void
    const stopSignal = new Promise<void>((resolve) => (stop = resolve))
    let second!: () => void
    const gotSecond = new Promise<void>((resolve) => (second = resolve))
    const running = runMonitor({
      url,
      timeoutSeconds: 5,
      once: false,
      json: false,
      color: false,
      out: nonTty,
      stopSignal,
      print: (line) => {
        lines.push(line)
        if (lines.length === 1) {
          clients[0].publish('x', 'y')
          // A tick after the publish has arrived: PINGs are not needed, the broker reads in order.
          void clients[0].publishAsync('x', 'z', {qos: 1}).then(() => reporter!.tick())
        } else second()
      },
    })
    await gotSecond
    stop()
    await running
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z connections 1\/100 msgs in 0 /)
    expect(lines[1]).toMatch(/connections 2\/100 msgs in 2 \([\d.,]+\/s\)/)
  })

  it('says so when nothing listens, well within --timeout', async () => {
    const url = `mqtt://127.0.0.1:${await closedPort()}`
    await expect(SysClient.connect({url, timeoutMs: 5000})).rejects.toThrow(MonitorError)
    await expect(SysClient.connect({url, timeoutMs: 5000})).rejects.toThrow(/cannot reach the broker at mqtt:\/\/127\.0\.0\.1:\d+: connection refused/)
  })

  it('says so when the broker publishes no $SYS within --timeout', async () => {
    started = await startBroker()
    await expect(SysClient.connect({url: started.url, timeoutMs: 500})).rejects.toThrow(/no \$SYS statistics arrived within 0.5 s/)
  })
})
