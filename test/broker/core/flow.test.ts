/**
 * Flow control: a publisher flooding broadcasts larger than forwardBatchSize is paused while they
 * queue (fanout.ts) and resumed after; a flooding publisher is paused at its read budget until the
 * turn's flush (connection.ts). Either way nothing is lost and per-publisher order is kept.
 */
import mqttPacket from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import type {BrokerImpl} from '../../../src/broker/broker.js'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {RawClient} from '../../helpers/raw.js'

let broker: StartedBroker | undefined
const raws: RawClient[] = []

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy()
  await broker?.close()
  broker = undefined
})

async function client(id: string): Promise<RawClient> {
  const c = await RawClient.open(broker!.port)
  raws.push(c)
  await c.connect({clientId: id})
  return c
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
}

describe('flow control', () => {
  it('delivers a flood of batched broadcasts completely and in order', async () => {
    broker = await startBroker({forwardBatchSize: 5})
    const subs = await Promise.all(Array.from({length: 20}, (_, i) => client(`s${i}`)))
    for (const s of subs) {
      s.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'all', qos: 0}]})
      await s.next('suback')
    }
    const pub = await client('p')
    const N = 1000
    const frames = Array.from({length: N}, (_, i) => mqttPacket.generate({cmd: 'publish', topic: 'all', payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false}))
    pub.send(Buffer.concat(frames)) // one write: far more queued broadcasts than the pause threshold
    const received = (s: RawClient): string[] => s.unread().filter((p) => p.cmd === 'publish').map((p) => String((p as mqttPacket.IPublishPacket).payload))
    await until(() => subs.every((s) => received(s).length === N))
    for (const s of subs) expect(received(s)).toEqual(frames.map((_, i) => String(i)))
    const impl = broker.broker as BrokerImpl
    expect(impl.fanout.pending).toBe(0)
    expect(impl.clients.get('p')!.paused).toBe(0) // resumed
  })

  it('a queued broadcast holds back later messages on its topic only [MQTT-4.6.0-6]', async () => {
    broker = await startBroker({forwardBatchSize: 5})
    const subs = await Promise.all(Array.from({length: 20}, (_, i) => client(`b${i}`)))
    for (const s of subs) {
      s.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'big', qos: 0}]})
      await s.next('suback')
    }
    const other = await client('other')
    other.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'small', qos: 0}]})
    await other.next('suback')
    const impl = broker.broker as BrokerImpl
    const otherConn = impl.clients.get('other')!

    impl.publish('big', '1') // 20 subscribers in batches of 5: queued after the first batch
    expect(impl.fanout.pending).toBe(1)
    impl.publish('small', 'x') // another topic: delivered now, not after the broadcast
    expect(otherConn.out).toBeDefined()
    expect(impl.fanout.pending).toBe(1)
    impl.publish('big', '2') // the same topic: queued behind the first
    expect(impl.fanout.pending).toBe(2)

    const received = (s: RawClient): string[] => s.unread().filter((p) => p.cmd === 'publish').map((p) => String((p as mqttPacket.IPublishPacket).payload))
    await until(() => subs.every((s) => received(s).length === 2) && received(other).length === 1)
    for (const s of subs) expect(received(s)).toEqual(['1', '2'])
    expect(received(other)).toEqual(['x'])
    expect(impl.fanout.pending).toBe(0)
  })

  it('a publisher past its read budget keeps being read after the flush (nothing lost)', async () => {
    broker = await startBroker()
    const sub = await client('sub')
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'x/#', qos: 0}]})
    await sub.next('suback')
    const pub = await client('pub')
    const payload = Buffer.alloc(1000, 1)
    const N = 500 // ~500 KB: several read budgets
    pub.send(Buffer.concat(Array.from({length: N}, (_, i) => mqttPacket.generate({cmd: 'publish', topic: `x/${i}`, payload, qos: 0, retain: false, dup: false}))))
    await until(() => sub.unread().filter((p) => p.cmd === 'publish').length === N)
    const topics = sub.unread().filter((p) => p.cmd === 'publish').map((p) => (p as mqttPacket.IPublishPacket).topic)
    expect(topics).toEqual(Array.from({length: N}, (_, i) => `x/${i}`))
    expect(broker.broker.stats.messagesDropped).toBe(0)
  })
})
