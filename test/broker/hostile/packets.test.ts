/**
 * Issue 11, "Why": the packets that crashed, fooled or bloated the broker, each through a real
 * socket against a broker with the default configuration.
 */
import mqtt from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {forwardedPublishProperties} from '../../../src/broker/protocol/validate.js'
import {closeAll, waitFor} from '../../helpers/mqtt.js'
import {RawClient, codeOf, frame, mqttString, rawConnect} from '../../helpers/raw.js'
import {connected, hostileBroker, publishes, subscribed} from './helpers.js'

afterEach(closeAll)

/** The 10-byte MQTT 5 PUBLISH: a content type whose length runs past the end. */
const KILLER = Buffer.from([0x30, 0x08, 0x00, 0x01, 0x74, 0x03, 0x03, 0x00, 0x10, 0x41])

describe('hostile packets', () => {
  it('the 10-byte MQTT 5 PUBLISH with a string property past the end closes only its sender (0x81), with 150 subscribers', async () => {
    const h = await hostileBroker()
    const subs = await Promise.all(Array.from({length: 150}, () => subscribed(h.port, 5, 't')))
    const bad = await connected(h.port, 5)
    bad.send(KILLER)
    await bad.waitClosed()
    expect(codeOf(bad.received('disconnect')[0])).toBe(0x81)
    // Still alive and routing: a good publish reaches every subscriber, the bad one none.
    const good = await connected(h.port, 5)
    good.sendPacket({cmd: 'publish', topic: 't', payload: Buffer.from('ok'), qos: 0, retain: false, dup: false})
    await waitFor(() => subs.every((s) => publishes(s).length === 1), 5000, 'the good message everywhere')
    expect(subs.every((s) => publishes(s)[0].payload.toString() === 'ok')).toBe(true)
    expect(h.errors()).toEqual([])
  })

  it.each([
    ['session expiry', [0x11, 0, 0, 0, 5, 0x11, 0xff, 0xff, 0xff, 0xff]],
    ['receive maximum', [0x21, 0, 5, 0x21, 0, 6]],
    ['topic alias maximum', [0x22, 0, 5, 0x22, 0, 6]],
  ])('a CONNECT with %s twice is refused with CONNACK 0x82 and no session', async (_name, props) => {
    const h = await hostileBroker()
    const c = await RawClient.open(h.port, {version: 5})
    c.send(rawConnect({level: 5, properties: [props.length, ...props], payload: mqttString('dup-props')}))
    const ack = await c.next('connack')
    expect(codeOf(ack)).toBe(0x82)
    await c.waitClosed()
    expect(h.broker.stats.sessionsTotal).toBe(0)
  })

  it.each([
    ['topic alias', [0x23, 0, 1, 0x23, 0, 2]],
    ['message expiry', [0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2]],
  ])('a PUBLISH with %s twice is a protocol error (DISCONNECT 0x82), not routed', async (_name, props) => {
    const h = await hostileBroker()
    const sub = await subscribed(h.port, 5, 't')
    const c = await connected(h.port, 5)
    c.send(frame(0x30, [...mqttString('t'), props.length, ...props, 0x41]))
    await c.waitClosed()
    expect(codeOf(c.received('disconnect')[0])).toBe(0x82)
    await sub.ping()
    expect(publishes(sub)).toEqual([])
  })

  it('a QoS 1 PUBLISH with its packet id cut short is malformed: closed, not routed, nothing logged at error level', async () => {
    const h = await hostileBroker()
    const sub = await subscribed(h.port, 4, 't', 1)
    for (let i = 0; i < 20; i++) {
      const c = await connected(h.port, 4)
      c.send(frame(0x32, [...mqttString('t'), 0x00]))
      await c.waitClosed()
    }
    await sub.ping()
    expect(publishes(sub)).toEqual([])
    expect(h.errors()).toEqual([])
    expect(h.broker.stats.protocolErrors).toBeGreaterThanOrEqual(20)
  })

  it('user properties are forwarded in the order received (a, b, a) [MQTT-3.3.2-18]', async () => {
    const h = await hostileBroker()
    const sub = await subscribed(h.port, 5, 't')
    const pub = await connected(h.port, 5)
    const pair = (k: string, v: string): number[] => [0x26, ...mqttString(k), ...mqttString(v)]
    const props = [...pair('a', '1'), ...pair('b', '2'), ...pair('a', '3')]
    pub.send(frame(0x31, [...mqttString('t'), props.length, ...props, 0x41])) // retained too
    await waitFor(() => publishes(sub).length === 1, 5000, 'the message')
    expect(userPairs(sub.bytes)).toEqual(['a=1', 'b=2', 'a=3'])
    // The retained copy, sent on SUBSCRIBE, keeps the order as well.
    const late = await subscribed(h.port, 5, 't')
    await waitFor(() => publishes(late).length === 1, 5000, 'the retained message')
    expect(userPairs(late.bytes)).toEqual(['a=1', 'b=2', 'a=3'])
  })
})

/** User properties of the last PUBLISH in a received byte stream, read raw (mqtt-packet regroups by key). */
function userPairs(bytes: Buffer): string[] {
  let last: Buffer | undefined
  for (let i = 0; i < bytes.length; ) {
    let len = 0
    let mul = 1
    let j = i + 1
    for (;;) {
      const b = bytes[j++]
      len += (b & 0x7f) * mul
      mul *= 128
      if (b < 0x80) break
    }
    if (bytes[i] >> 4 === 3) last = bytes.subarray(i, j + len)
    i = j + len
  }
  const got = forwardedPublishProperties(last!)!
  const seen: string[] = []
  for (let i = 0; i < got.length; ) {
    expect(got[i++]).toBe(0x26)
    const k = got.toString('utf8', i + 2, i + 2 + got.readUInt16BE(i))
    i += 2 + got.readUInt16BE(i)
    const v = got.toString('utf8', i + 2, i + 2 + got.readUInt16BE(i))
    i += 2 + got.readUInt16BE(i)
    seen.push(`${k}=${v}`)
  }
  return seen
}

describe('hostile packets (2)', () => {

  it('clients cannot publish to $ topics: not routed, not retained; MQTT 5 QoS 1 gets PUBACK 0x87', async () => {
    const h = await hostileBroker()
    const sub = await subscribed(h.port, 4, '$SYS/#')
    const pub = await connected(h.port, 5)
    pub.sendPacket({cmd: 'publish', topic: '$SYS/broker/uptime', payload: Buffer.from('forged'), qos: 1, messageId: 5, retain: true, dup: false})
    expect(codeOf(await pub.next('puback'))).toBe(0x87)
    pub.sendPacket({cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('forged'), qos: 0, retain: true, dup: false})
    await pub.ping()
    await sub.ping()
    expect(publishes(sub)).toEqual([])
    expect(h.broker.stats.retainedMessages).toBe(0)
  })

  it('denySubscribe decides on overlap: "#" and "+/data" never deliver "secret/data"', async () => {
    const h = await hostileBroker({denySubscribe: ['secret/#']})
    const all = await subscribed(h.port, 4, '#')
    const plus = await subscribed(h.port, 5, '+/data')
    const direct = await connected(h.port, 4)
    direct.sendPacket({cmd: 'subscribe', messageId: 2, subscriptions: [{topic: 'secret/data', qos: 0}]})
    expect((await direct.next('suback')) as mqtt.ISubackPacket).toMatchObject({granted: [0x80]})
    const pub = await connected(h.port, 4)
    pub.sendPacket({cmd: 'publish', topic: 'secret/data', payload: Buffer.from('s'), qos: 0, retain: true, dup: false})
    pub.sendPacket({cmd: 'publish', topic: 'open/data', payload: Buffer.from('o'), qos: 0, retain: false, dup: false})
    await waitFor(() => publishes(all).length >= 1 && publishes(plus).length >= 1, 5000, 'open/data')
    await all.ping()
    await plus.ping()
    expect(publishes(all).map((p) => p.topic)).toEqual(['open/data'])
    expect(publishes(plus).map((p) => p.topic)).toEqual(['open/data'])
    // Nor as a retained message to a later overlapping subscription.
    const late = await subscribed(h.port, 4, '+/+')
    await late.ping()
    expect(publishes(late)).toEqual([])
  })

  it('SUBSCRIBE with "#" 5,000 times and 2,000 retained messages: counted once, each retained message sent once', async () => {
    const h = await hostileBroker()
    const pub = await connected(h.port, 4)
    for (let i = 0; i < 2000; i++) pub.sendPacket({cmd: 'publish', topic: `r/${i}`, payload: Buffer.from('x'), qos: 0, retain: true, dup: false})
    await pub.ping()
    await waitFor(() => h.broker.stats.retainedMessages === 2000, 5000, 'retained stored')
    const c = await connected(h.port, 4)
    const rss = process.memoryUsage().rss
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: Array.from({length: 5000}, () => ({topic: '#', qos: 0}))})
    const ack = (await c.next('suback', 15_000)) as mqtt.ISubackPacket
    expect(ack.granted.length).toBe(5000)
    await waitFor(() => publishes(c).length >= 2000, 15_000, '2,000 retained messages')
    await c.ping()
    expect(publishes(c).length).toBe(2000)
    expect(h.broker.stats.subscriptions).toBe(1)
    expect(process.memoryUsage().rss - rss).toBeLessThan(100 * 1024 * 1024)
  })

  it('shared subscription: a QoS 2 message already sent to a member stays with that member (no duplicate to another)', async () => {
    const h = await hostileBroker()
    const a = await subscribed(h.port, 5, '$share/g/q2', 2, {clientId: 'member-a', clean: false, properties: {sessionExpiryInterval: 300}})
    const b = await subscribed(h.port, 5, '$share/g/q2', 2, {clientId: 'member-b'})
    const pub = await connected(h.port, 5)
    // Two messages: round robin gives one to each member; a never answers with PUBREC.
    for (const n of [1, 2]) pub.sendPacket({cmd: 'publish', topic: 'q2', payload: Buffer.from(String(n)), qos: 2, messageId: n, retain: false, dup: false})
    await waitFor(() => publishes(a).length === 1 && publishes(b).length === 1, 5000, 'one message each')
    const aGot = publishes(a)[0].payload.toString()
    a.destroy()
    await waitFor(() => h.broker.stats.sessionsOrphan === 1, 5000, 'a offline')
    await b.ping()
    expect(publishes(b).length).toBe(1) // nothing moved to b
    // a comes back: its session re-sends the message with DUP.
    const back = await RawClient.open(h.port, {version: 5})
    await back.connect({clientId: 'member-a', clean: false, properties: {sessionExpiryInterval: 300}})
    const again = (await back.next('publish')) as mqtt.IPublishPacket
    expect(again.payload.toString()).toBe(aGot)
    expect(again.dup).toBe(true)
  })
})
