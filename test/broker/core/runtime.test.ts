import {afterEach, describe, expect, it} from 'vitest'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import type {BrokerImpl} from '../../../src/broker/broker.js'
import {Deadlines, type Timed} from '../../../src/broker/timers.js'
import {ManualClock} from '../../helpers/clock.js'
import {RawClient} from '../../helpers/raw.js'

let broker: StartedBroker | undefined
const raws: RawClient[] = []

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy()
  await broker?.close()
  broker = undefined
})

describe('runtime', () => {
  it('fans a broadcast out in batches of forwardBatchSize, yielding between them', async () => {
    broker = await startBroker({forwardBatchSize: 100})
    const impl = broker.broker as BrokerImpl
    // 2,000 offline persistent sessions subscribed to one topic.
    for (let i = 0; i < 2000; i++) {
      const s = impl.store.createSession(`c${i}`, 3600)
      s.disconnectedAt = Date.now()
      impl.subscriptions.add(s, 'all', {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0})
    }
    broker.broker.publish('all', 'hello', {qos: 1})
    expect(impl.stats.messagesQueued).toBe(100) // only the first batch ran synchronously
    while (impl.fanout.pending > 0) await new Promise((r) => setImmediate(r))
    expect(impl.stats.messagesQueued).toBe(2000)
    expect(impl.stats.matchCacheMisses).toBe(1)
    broker.broker.publish('all', 'again', {qos: 0})
    expect(impl.stats.matchCacheHits).toBe(1)
  })

  it('bounds a slow consumer: QoS 0 dropped and counted, QoS 1 queued up to maxQueuedMessages', async () => {
    broker = await startBroker({limits: {maxQueuedBytes: 64 * 1024, maxQueuedMessages: 10}})
    const slow = await RawClient.open(broker.port, {version: 5})
    raws.push(slow)
    await slow.connect({clientId: 'slow', properties: {receiveMaximum: 1}})
    slow.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'big', qos: 1}]})
    await slow.next('suback')
    slow.socket.pause() // stops reading: the broker's socket backs up
    const payload = Buffer.alloc(32 * 1024)
    for (let i = 0; i < 200; i++) broker.broker.publish('big', payload, {qos: 0})
    for (let i = 0; i < 30; i++) broker.broker.publish('big', payload, {qos: 1})
    const stats = broker.broker.stats
    expect(stats.messagesDropped).toBeGreaterThan(0)
    expect(stats.messagesQueued).toBeLessThanOrEqual(10)
    const impl = broker.broker as BrokerImpl
    expect(impl.clients.get('slow')!.pendingBytes).toBeLessThan(64 * 1024 + 3 * payload.length)
  })

  it('keeps connection counters accurate across connect and close', async () => {
    broker = await startBroker()
    const a = await RawClient.open(broker.port)
    raws.push(a)
    await a.connect({clientId: 'a'})
    expect(broker.broker.stats.connectionsLive).toBe(1)
    a.sendPacket({cmd: 'disconnect'})
    await a.waitClosed()
    expect(broker.broker.stats.connectionsLive).toBe(0)
    expect(broker.broker.stats.connectionsTotal).toBe(1)
    expect(broker.broker.stats.sessionsTotal).toBe(0)
  })

  it('v5 clients get DISCONNECT 0x8B on close()', async () => {
    broker = await startBroker()
    const c = await RawClient.open(broker.port, {version: 5})
    raws.push(c)
    await c.connect({clientId: 'bye'})
    const closing = broker.close()
    const d = await c.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x8b)
    await closing
  })

  it('listen() rejects with EADDRINUSE and closes what it opened', async () => {
    broker = await startBroker()
    const err = await startBroker({listeners: [{host: '127.0.0.1', port: 0}, {host: '127.0.0.1', port: broker.port}]}).catch((e: NodeJS.ErrnoException) => e)
    expect((err as NodeJS.ErrnoException).code).toBe('EADDRINUSE')
  })
})

describe('Deadlines', () => {
  it('fires due items once, re-files items whose deadline moved, arms nothing when empty', () => {
    const clock = new ManualClock(10_000)
    const fired: string[] = []
    type Item = Timed & {name: string}
    const wheel = new Deadlines<Item>((item) => fired.push(item.name), clock)
    const a: Item = {name: 'a', deadline: 0, bucket: 0}
    const b: Item = {name: 'b', deadline: 0, bucket: 0}
    wheel.schedule(a, 11_000)
    wheel.schedule(b, 11_000)
    wheel.schedule(b, 15_000) // later: stays filed, checked lazily
    expect(clock.pending).toBe(1) // one timer for the earliest bucket, not one per item
    clock.advance(999)
    expect(fired).toEqual([])
    clock.advance(1) // 11_000: the wheel's own timer runs the due bucket
    expect(fired).toEqual(['a'])
    clock.advance(4_000) // 15_000
    expect(fired).toEqual(['a', 'b'])
    expect(wheel.size).toBe(0)
    expect(clock.pending).toBe(0)
    wheel.clear()
  })
})
