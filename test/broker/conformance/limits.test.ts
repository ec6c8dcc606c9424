/**
 * Broker limits under load: maxConnections, fan-out in batches (a broadcast to thousands of
 * subscribers does not stall other clients), slow consumers (bounded queues, drops counted), and the
 * offline queue bound.
 */
import type {IPublishPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {clientId, closeAll, collect, connackOf, connect, uniqueTopic, waitFor} from '../../helpers/mqtt.js'
import {codeOf, encode, RawClient} from '../../helpers/raw.js'
import {startTarget} from './target.js'

afterEach(closeAll)

describe('maxConnections', () => {
  it.each([
    [4, 0x03],
    [5, 0x97],
  ] as const)('v%i: the connection beyond the limit gets CONNACK 0x%s and the broker stays responsive', async (version, code) => {
    const target = await startTarget({maxConnections: 3})
    const held = await Promise.all([0, 1, 2].map(() => connect(target.url)))
    const extra = await RawClient.open(target.port, {version})
    const connack = await extra.connect()
    expect(codeOf(connack)).toBe(code)
    await extra.waitClosed()
    expect(target.broker.stats.connectionsRefused).toBeGreaterThanOrEqual(1)
    // Still serving the connected clients...
    await held[0].publishAsync('limits/still', 'ok', {qos: 1})
    // ...and a slot freed by a disconnect can be used again.
    await held[2].endAsync()
    await waitFor(() => target.broker.clientCount() === 2, 5000, 'the freed slot')
    const again = await connect(target.url, {version})
    expect(again.connected).toBe(true)
  })
})

describe('fan-out in batches (forwardBatchSize 100)', () => {
  it('2500 subscribers all get a broadcast while another client\'s ping round-trips', async () => {
    const target = await startTarget({forwardBatchSize: 100, maxConnections: 5000})
    const topic = uniqueTopic('fanout')
    const count = 2500
    const connectBytes = (n: number) =>
      Buffer.concat([
        encode({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: `fan-${n}`}),
        encode({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 0}]}),
      ])
    const subscribers: RawClient[] = []
    for (let start = 0; start < count; start += 250) {
      const batch = await Promise.all(Array.from({length: Math.min(250, count - start)}, () => RawClient.open(target.port)))
      batch.forEach((raw, i) => raw.send(connectBytes(start + i)))
      subscribers.push(...batch)
    }
    await waitFor(() => subscribers.every((s) => s.received('suback').length === 1), 20_000, `${count} SUBACKs`)

    const pinger = await RawClient.open(target.port)
    await pinger.connect()
    const publisher = await RawClient.open(target.port)
    await publisher.connect()
    for (let n = 0; n < 3; n++) {
      publisher.sendPacket({cmd: 'publish', topic, payload: Buffer.from(`broadcast-${n}`), qos: 0, dup: false, retain: false})
    }
    await pinger.ping(15_000) // completes while 7500 deliveries are being fanned out
    await waitFor(() => subscribers.every((s) => s.received('publish').length === 3), 30_000, 'every subscriber to get 3 broadcasts')
    for (const s of subscribers.slice(0, 50)) {
      expect(s.received('publish').map((p) => Buffer.from((p as IPublishPacket).payload).toString())).toEqual([
        'broadcast-0',
        'broadcast-1',
        'broadcast-2',
      ])
    }
  }, 60_000)
})

describe('slow consumer', () => {
  it('a subscriber that never reads: QoS 0 is dropped (counted), queues stay within limits, others are served', async () => {
    const limits = {maxQueuedMessages: 100, maxQueuedBytes: 256 * 1024}
    const target = await startTarget({limits})
    const topic = uniqueTopic('slow')
    const slow = await RawClient.open(target.port)
    await slow.connect()
    slow.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 0}]})
    await slow.next('suback')
    slow.socket.pause() // never read again: the kernel buffers fill, then the broker's queue

    const healthy = await connect(target.url)
    const healthyInbox = collect(healthy)
    await healthy.subscribeAsync(`${topic}-healthy`, {qos: 1})

    const publisher = await RawClient.open(target.port)
    await publisher.connect()
    const payload = Buffer.alloc(1024, 0x73)
    const one = encode({cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false})
    const burst = Buffer.concat(Array.from({length: 2000}, () => one)) // ~2 MB per burst
    for (let n = 0; n < 15; n++) {
      publisher.send(burst)
      await publisher.ping(15_000) // the broker has handled everything sent before the ping
    }
    expect(target.broker.stats.messagesDropped, 'QoS 0 dropped for the slow consumer').toBeGreaterThan(0)
    expect(target.broker.stats.messagesQueued, 'queued messages within maxQueuedMessages').toBeLessThanOrEqual(limits.maxQueuedMessages)

    await healthy.publishAsync(`${topic}-healthy`, 'still served', {qos: 1})
    await healthyInbox.waitPayload('still served')
    const fresh = await connect(target.url)
    await fresh.publishAsync(`${topic}-healthy`, 'fresh client', {qos: 1})
    await healthyInbox.waitPayload('fresh client')
  }, 60_000)

  it('an offline persistent session queues at most maxQueuedMessages; the excess is dropped and counted', async () => {
    const target = await startTarget({limits: {maxQueuedMessages: 10}})
    const topic = uniqueTopic('offq')
    const id = clientId('offq')
    const sub = await connect(target.url, {clientId: id, clean: false})
    await sub.subscribeAsync(topic, {qos: 1})
    await sub.endAsync()
    const pub = await connect(target.url)
    for (let n = 0; n < 30; n++) await pub.publishAsync(topic, `m${n}`, {qos: 1})
    expect(target.broker.stats.messagesQueued).toBeLessThanOrEqual(10)
    expect(target.broker.stats.messagesDropped).toBeGreaterThanOrEqual(20)
    const back = await connect(target.url, {clientId: id, clean: false})
    expect(connackOf(back).sessionPresent).toBe(true)
    const inbox = collect(back)
    await back.subscribeAsync(`${topic}-sentinel`, {qos: 1})
    await pub.publishAsync(`${topic}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    const queued = inbox.payloads().filter((p) => p !== 'sentinel')
    expect(queued.length).toBeGreaterThan(0)
    expect(queued.length).toBeLessThanOrEqual(10)
  })
})
