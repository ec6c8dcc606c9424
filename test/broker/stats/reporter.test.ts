import {afterEach, describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG, type BrokerConfig} from '../../../src/config/index.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {BrokerStats} from '../../../src/broker/stats/counters.js'
import {type Reporter, startReporter} from '../../../src/broker/stats/reporter.js'
import {parsePrometheus} from './parse-prometheus.js'

interface Published {
  topic: string
  payload: string
  retain?: boolean
}

function fakeBroker(metrics = false) {
  const config: BrokerConfig = {...DEFAULT_CONFIG, maxConnections: 500, metrics: {enabled: metrics, host: '127.0.0.1', port: 0}}
  const stats = new BrokerStats()
  const logger = memoryLogger('info')
  const published: Published[] = []
  const publish = (topic: string, payload: Buffer | string, options?: {retain?: boolean}) =>
    published.push({topic, payload: payload.toString(), retain: options?.retain})
  return {config, stats, logger, publish, published}
}

const last = (published: Published[], topic: string) => published.filter((p) => p.topic === topic).at(-1)?.payload

describe('startReporter', () => {
  let reporter: Reporter | undefined
  afterEach(async () => {
    await reporter?.stop()
    reporter = undefined
  })

  it('publishes retained $SYS topics at start, without a log block', () => {
    const host = fakeBroker()
    host.stats.connectionsLive = 3
    reporter = startReporter(host)
    expect(host.published.every((p) => p.retain === true)).toBe(true)
    expect(last(host.published, '$SYS/broker/clients/connected')).toBe('3')
    expect(last(host.published, '$SYS/broker/mqttctl/clients/limit')).toBe('500')
    expect(host.published.at(-1)?.topic).toBe('$SYS/broker/mqttctl/timestamp')
    expect(host.logger.lines).toEqual([])
  })

  it("logs the guide's block on a tick and republishes only what changed", () => {
    const host = fakeBroker()
    reporter = startReporter(host)
    const first = host.published.length
    host.stats.messagesReceived = 100
    reporter.tick()
    const again = host.published.slice(first).map((p) => p.topic)
    expect(again).toContain('$SYS/broker/publish/messages/received')
    expect(again).toContain('$SYS/broker/uptime')
    expect(again).not.toContain('$SYS/broker/version')
    expect(last(host.published, '$SYS/broker/publish/messages/received')).toBe('100')
    const text = host.logger.lines.join('\n')
    expect(text).toMatch(/\] INFO: === MQTT Broker Statistics ===/)
    expect(text).toMatch(/\] INFO: Active Connections: 0 \/ 500/)
    expect(text).toMatch(/\] INFO: Total Messages: 100 \(in 100, out 0\)/)
    expect(text).toMatch(/\] INFO: Cache HIT: 100\.0 %/)
  })

  it('serves /metrics and /healthz when enabled, 404 otherwise, and closes on stop', async () => {
    const host = fakeBroker(true)
    host.stats.connectionsLive = 2
    host.stats.receivedByQos = [7, 0, 1]
    reporter = startReporter(host)
    const address = await reporter.metrics
    expect(address?.port).toBeGreaterThan(0)
    const base = `http://127.0.0.1:${address?.port}`

    const metrics = await fetch(`${base}/metrics`)
    expect(metrics.status).toBe(200)
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const parsed = parsePrometheus(await metrics.text())
    expect(parsed.get('mqtt_broker_connections')?.samples[0].value).toBe(2)
    expect(parsed.get('mqtt_broker_messages_received_total')?.samples.map((s) => s.value)).toEqual([7, 0, 1])

    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.text()).toBe('ok\n')
    expect((await fetch(`${base}/nope`)).status).toBe(404)

    await reporter.stop()
    await expect(fetch(`${base}/healthz`)).rejects.toThrow()
  })

  it('does not start an HTTP listener when metrics are disabled', async () => {
    reporter = startReporter(fakeBroker(false))
    expect(await reporter.metrics).toBeUndefined()
  })

  it('rejects metrics and logs when the port is taken', async () => {
    const a = fakeBroker(true)
    reporter = startReporter(a)
    const address = await reporter.metrics
    const b = fakeBroker(true)
    b.config.metrics.port = address!.port
    const second = startReporter(b)
    await expect(second.metrics).rejects.toThrow(/EADDRINUSE/)
    await second.stop()
    expect(b.logger.lines.join('\n')).toMatch(/ERROR: Metrics listener on 127\.0\.0\.1:\d+ failed/)
  })
})
