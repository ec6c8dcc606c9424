/**
 * PUBLISH at QoS 0/1/2 in both directions: the acknowledgement flows, exactly-once for QoS 2,
 * QoS downgraded to the subscription's maximum, ordering and payload integrity.
 */
import type {IPublishPacket} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, collect, connect, uniqueTopic, VERSIONS} from '../../helpers/mqtt.js'
import {RawClient} from '../../helpers/raw.js'
import {startSharedTarget, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget()
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

const QOS = [0, 1, 2] as const
const matrix = VERSIONS.flatMap((version) => QOS.flatMap((pubQos) => QOS.map((subQos) => ({version, pubQos, subQos}))))

describe('QoS delivered = min(publish QoS, subscription QoS) [MQTT-3.8.4-6] [MQTT-3.3.5-1]', () => {
  it.each(matrix)('v$version: publish QoS $pubQos to a QoS $subQos subscription', async ({version, pubQos, subQos}) => {
    const topic = uniqueTopic('qos')
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    const granted = await sub.subscribeAsync(topic, {qos: subQos})
    expect(granted[0].qos).toBe(subQos)
    const pub = await connect(target.url, {version})
    await pub.publishAsync(topic, `q${pubQos}`, {qos: pubQos})
    const [message] = await inbox.waitCount(1)
    expect(message.topic).toBe(topic)
    expect(message.payload.toString()).toBe(`q${pubQos}`)
    expect(message.packet.qos).toBe(Math.min(pubQos, subQos))
  })
})

describe('inbound acknowledgements', () => {
  it.each([3, 4, 5] as const)('v%i: QoS 1 PUBLISH is answered by PUBACK with the same packet id [MQTT-4.3.2-2]', async (version) => {
    const raw = await RawClient.open(target.port, {version})
    await raw.connect()
    raw.sendPacket({cmd: 'publish', topic: uniqueTopic('ack1'), payload: Buffer.from('x'), qos: 1, messageId: 1234, dup: false, retain: false})
    const puback = await raw.next('puback')
    expect(puback.messageId).toBe(1234)
  })

  it.each([3, 4, 5] as const)('v%i: QoS 2 PUBLISH → PUBREC, PUBREL → PUBCOMP, all with the same packet id [MQTT-4.3.3-2]', async (version) => {
    const raw = await RawClient.open(target.port, {version})
    await raw.connect()
    raw.sendPacket({cmd: 'publish', topic: uniqueTopic('ack2'), payload: Buffer.from('x'), qos: 2, messageId: 777, dup: false, retain: false})
    expect((await raw.next('pubrec')).messageId).toBe(777)
    raw.sendPacket({cmd: 'pubrel', messageId: 777})
    expect((await raw.next('pubcomp')).messageId).toBe(777)
  })

  it('QoS 1 and 2 are acknowledged even when nobody subscribes', async () => {
    const pub = await connect(target.url)
    await pub.publishAsync(uniqueTopic('nobody'), 'x', {qos: 1})
    await pub.publishAsync(uniqueTopic('nobody'), 'x', {qos: 2})
    expect(pub.connected).toBe(true)
  })
})

describe('QoS 2 exactly once', () => {
  it.each([4, 5] as const)('v%i: a duplicate PUBLISH with the same id before PUBREL is delivered once [MQTT-4.3.3-2]', async (version) => {
    const topic = uniqueTopic('once')
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 2})
    const raw = await RawClient.open(target.port, {version})
    await raw.connect()
    const publish = {cmd: 'publish', topic, payload: Buffer.from('exactly-once'), qos: 2, messageId: 9, dup: false, retain: false} as const
    raw.sendPacket(publish)
    await raw.next('pubrec')
    raw.sendPacket({...publish, dup: true})
    expect((await raw.next('pubrec')).messageId).toBe(9)
    raw.sendPacket({cmd: 'pubrel', messageId: 9})
    await raw.next('pubcomp')
    // A second, distinct QoS 2 message on the same topic, then count.
    raw.sendPacket({...publish, payload: Buffer.from('sentinel'), messageId: 10})
    await raw.next('pubrec')
    raw.sendPacket({cmd: 'pubrel', messageId: 10})
    await raw.next('pubcomp')
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['exactly-once', 'sentinel'])
  })

  it('after PUBCOMP the same packet id starts a new message', async () => {
    const topic = uniqueTopic('reuse')
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 2})
    const raw = await RawClient.open(target.port)
    await raw.connect()
    for (const payload of ['first', 'second']) {
      raw.sendPacket({cmd: 'publish', topic, payload: Buffer.from(payload), qos: 2, messageId: 5, dup: false, retain: false})
      await raw.next('pubrec')
      raw.sendPacket({cmd: 'pubrel', messageId: 5})
      await raw.next('pubcomp')
    }
    await inbox.waitCount(2)
    expect(inbox.payloads()).toEqual(['first', 'second'])
  })
})

describe('outbound flows (broker → subscriber)', () => {
  it.each([4, 5] as const)('v%i: QoS 2 to a subscriber: PUBLISH, PUBREC → PUBREL, PUBCOMP (same id) [MQTT-4.3.3-1]', async (version) => {
    const topic = uniqueTopic('out2')
    const raw = await RawClient.open(target.port, {version})
    await raw.connect()
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 2}]})
    await raw.next('suback')
    const pub = await connect(target.url, {version})
    await pub.publishAsync(topic, 'two', {qos: 2})
    const publish = (await raw.next('publish')) as IPublishPacket
    expect(publish.qos).toBe(2)
    expect(publish.dup).toBe(false)
    expect(publish.messageId).toBeGreaterThan(0) // [MQTT-2.3.1-1]
    raw.sendPacket({cmd: 'pubrec', messageId: publish.messageId})
    const pubrel = await raw.next('pubrel')
    expect(pubrel.messageId).toBe(publish.messageId)
    raw.sendPacket({cmd: 'pubcomp', messageId: publish.messageId})
    await pub.publishAsync(topic, 'three', {qos: 2})
    const next = (await raw.next('publish')) as IPublishPacket
    expect(Buffer.from(next.payload).toString()).toBe('three')
  })

  it.each([4, 5] as const)('v%i: QoS 1 to a subscriber carries a non-zero packet id; PUBACK releases it', async (version) => {
    const topic = uniqueTopic('out1')
    const raw = await RawClient.open(target.port, {version})
    await raw.connect()
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 1}]})
    await raw.next('suback')
    const pub = await connect(target.url, {version})
    for (let n = 0; n < 5; n++) {
      await pub.publishAsync(topic, `m${n}`, {qos: 1})
      const publish = (await raw.next('publish')) as IPublishPacket
      expect(publish.qos).toBe(1)
      expect(publish.messageId).toBeGreaterThan(0)
      expect(Buffer.from(publish.payload).toString()).toBe(`m${n}`)
      raw.sendPacket({cmd: 'puback', messageId: publish.messageId})
    }
  })

  it('QoS 0 to a subscriber has no packet id and DUP 0 [MQTT-2.3.1-5] [MQTT-3.3.1-2]', async () => {
    const topic = uniqueTopic('out0')
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 2}]})
    await raw.next('suback')
    const pub = await connect(target.url)
    await pub.publishAsync(topic, 'zero', {qos: 0})
    const publish = (await raw.next('publish')) as IPublishPacket
    expect(publish.qos).toBe(0)
    expect(publish.dup).toBe(false)
    expect(publish.messageId ?? 0).toBe(0)
  })
})

describe('ordering and payloads', () => {
  it.each([4, 5] as const)('v%i: 200 QoS 1 messages from one publisher arrive in order [MQTT-4.6.0-6]', async (version) => {
    const topic = uniqueTopic('order')
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await connect(target.url, {version})
    await Promise.all(Array.from({length: 200}, (_, n) => pub.publishAsync(topic, String(n), {qos: 1})))
    await inbox.waitCount(200)
    expect(inbox.payloads()).toEqual(Array.from({length: 200}, (_, n) => String(n)))
  })

  it.each(VERSIONS)('v%i: binary, empty and 256 KiB payloads arrive byte for byte', async (version) => {
    const topic = uniqueTopic('payload')
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await connect(target.url, {version})
    const binary = Buffer.from(Array.from({length: 256}, (_, n) => n))
    const big = Buffer.alloc(256 * 1024, 0x5a)
    await pub.publishAsync(topic, binary, {qos: 1})
    await pub.publishAsync(topic, Buffer.alloc(0), {qos: 1})
    await pub.publishAsync(topic, big, {qos: 1})
    await inbox.waitCount(3)
    expect(inbox.messages[0].payload.equals(binary)).toBe(true)
    expect(inbox.messages[1].payload.length).toBe(0)
    expect(inbox.messages[2].payload.equals(big)).toBe(true)
  })

  it('broker.publish() reaches subscribers at the requested QoS', async () => {
    const topic = uniqueTopic('internal')
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    target.broker.publish(topic, 'from the broker', {qos: 1})
    const [message] = await inbox.waitCount(1)
    expect(message.payload.toString()).toBe('from the broker')
    expect(message.packet.qos).toBe(1)
  })
})
