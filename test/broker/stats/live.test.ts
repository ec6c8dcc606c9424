/**
 * A real broker under load from MQTT.js clients: every figure moves as the load says, and the
 * statistics log, $SYS topics and Prometheus text agree.
 */
import mqtt, {type MqttClient} from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {memoryLogger} from '../../../src/broker/log.js'
import {type Reporter, startReporter} from '../../../src/broker/stats/reporter.js'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {parsePrometheus} from './parse-prometheus.js'

async function connect(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, {clientId, reconnectPeriod: 0, protocolVersion: 4})
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  return client
}

/** Latest $SYS payloads seen by `client`, and a way to wait for one to satisfy a test. */
function sysReader(client: MqttClient) {
  const topics = new Map<string, string>()
  const waiters = new Set<() => void>()
  client.on('message', (topic, payload) => {
    topics.set(topic, payload.toString())
    for (const w of waiters) w()
  })
  return {
    topics,
    until(topic: string, ok: (value: number) => boolean): Promise<number> {
      return new Promise((resolve) => {
        const check = () => {
          const v = topics.get(topic)
          if (v !== undefined && ok(Number.parseFloat(v))) {
            waiters.delete(check)
            resolve(Number.parseFloat(v))
          }
        }
        waiters.add(check)
        check()
      })
    },
  }
}

describe('statistics of a live broker', () => {
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

  it('3 clients and 100 QoS 1 messages show in the log, $SYS and Prometheus alike', async () => {
    const logger = memoryLogger('info')
    started = await startBroker({metrics: {enabled: true, host: '127.0.0.1', port: 0}, maxConnections: 50}, {logger})
    reporter = startReporter(started.broker)
    const metrics = await reporter.metrics

    const [watcher, publisher, subscriber] = await Promise.all(['watcher', 'publisher', 'subscriber'].map((id) => connect(started!.url, id)))
    clients.push(watcher, publisher, subscriber)
    const sys = sysReader(watcher)
    await watcher.subscribeAsync('$SYS/#', {qos: 0})
    await subscriber.subscribeAsync('load/+', {qos: 1})

    let delivered = 0
    const all = new Promise<void>((resolve) =>
      subscriber.on('message', () => {
        if (++delivered === 100) resolve()
      }),
    )
    const payload = Buffer.alloc(100, 'x')
    await Promise.all(Array.from({length: 100}, (_, i) => publisher.publishAsync(`load/${i % 5}`, payload, {qos: 1})))
    await all

    reporter.tick()
    expect(await sys.until('$SYS/broker/clients/connected', (v) => v === 3)).toBe(3)
    expect(await sys.until('$SYS/broker/publish/messages/received', (v) => v >= 100)).toBeGreaterThanOrEqual(100)
    expect(await sys.until('$SYS/broker/publish/messages/sent', (v) => v >= 100)).toBeGreaterThanOrEqual(100)
    expect(await sys.until('$SYS/broker/mqttctl/publish/received/qos1', (v) => v >= 100)).toBeGreaterThanOrEqual(100)
    expect(await sys.until('$SYS/broker/bytes/received', (v) => v >= 100 * 100)).toBeGreaterThanOrEqual(100 * 100)
    expect(await sys.until('$SYS/broker/bytes/sent', (v) => v >= 100 * 100)).toBeGreaterThanOrEqual(100 * 100)
    expect(await sys.until('$SYS/broker/subscriptions/count', (v) => v >= 2)).toBeGreaterThanOrEqual(2)
    expect(await sys.until('$SYS/broker/mqttctl/clients/limit', (v) => v === 50)).toBe(50)
    expect(await sys.until('$SYS/broker/mqttctl/connections/total', (v) => v >= 3)).toBeGreaterThanOrEqual(3)
    expect(sys.topics.get('$SYS/broker/uptime')).toMatch(/^\d+ seconds$/)
    expect(sys.topics.get('$SYS/broker/version')).toMatch(/^mqttctl /)

    const log = logger.lines.join('\n')
    expect(log).toMatch(/INFO: === MQTT Broker Statistics ===/)
    expect(log).toMatch(/INFO: Active Connections: 3 \/ 50/)
    expect(log).toMatch(/INFO: Total Messages: [\d,]+ \(in (\d{3}|\d,\d{3}), out/)
    expect(log).toMatch(/INFO: Cache HIT: [\d.]+ %/)
    expect(log).toMatch(/INFO: Orphan Clients: 0/)

    const res = await fetch(`http://127.0.0.1:${metrics!.port}/metrics`)
    const prom = parsePrometheus(await res.text())
    const value = (name: string, labels: Record<string, string> = {}) =>
      prom.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value
    expect(value('mqtt_broker_connections')).toBe(3)
    expect(value('mqtt_broker_connections_max')).toBe(50)
    expect(value('mqtt_broker_messages_received_total', {qos: '1'})).toBeGreaterThanOrEqual(100)
    expect(value('mqtt_broker_messages_sent_total', {qos: '1'})).toBeGreaterThanOrEqual(100)
    expect(value('mqtt_broker_bytes_received_total')).toBeGreaterThanOrEqual(100 * 100)
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(value('mqtt_broker_messages_received_total', {qos: '1'})).toBe(Number(sys.topics.get('$SYS/broker/mqttctl/publish/received/qos1')))
    expect((await fetch(`http://127.0.0.1:${metrics!.port}/healthz`)).status).toBe(200)
  })

  it('a client that leaves a persistent session behind is an orphan', async () => {
    started = await startBroker()
    reporter = startReporter(started.broker)
    const watcher = await connect(started.url, 'watcher')
    clients.push(watcher)
    const sys = sysReader(watcher)
    await watcher.subscribeAsync('$SYS/broker/clients/#', {qos: 0})

    const leaver = mqtt.connect(started.url, {clientId: 'leaver', clean: false, reconnectPeriod: 0, protocolVersion: 4})
    await new Promise((resolve) => leaver.once('connect', resolve))
    await leaver.subscribeAsync('keep/me', {qos: 1})
    await leaver.endAsync()

    reporter.tick()
    expect(await sys.until('$SYS/broker/clients/disconnected', (v) => v >= 1)).toBe(1)
    expect(await sys.until('$SYS/broker/clients/connected', (v) => v === 1)).toBe(1)
    expect(await sys.until('$SYS/broker/clients/maximum', (v) => v >= 2)).toBe(2)
  })
})
