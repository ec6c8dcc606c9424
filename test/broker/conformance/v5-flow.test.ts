/**
 * MQTT 5 flow control: topic aliases both ways, maximum packet size both ways, receive maximum both
 * ways, and the CONNACK properties that announce the broker's limits.
 */
import type {IConnackPacket, IDisconnectPacket, IPublishPacket} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, collect, connect, uniqueTopic} from '../../helpers/mqtt.js'
import {codeOf, RawClient} from '../../helpers/raw.js'
import {startSharedTarget, TARGET, type Target} from './target.js'

const LIMITS = {topicAliasMaximum: 4, maxPacketSize: 2048, receiveMaximum: 3}

let target: Target
beforeAll(async () => {
  target = await startSharedTarget({limits: LIMITS})
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

function publish(topic: string, payload: string | Buffer, extra: Partial<IPublishPacket> = {}): IPublishPacket {
  return {cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, dup: false, retain: false, ...extra}
}

async function rawV5(connect: Record<string, unknown> = {}): Promise<{raw: RawClient; connack: IConnackPacket}> {
  const raw = await RawClient.open(target.port, {version: 5})
  const connack = await raw.connect(connect)
  expect(codeOf(connack)).toBe(0)
  return {raw, connack}
}

/** Waits for close; if the broker sent DISCONNECT first, returns its reason code. */
async function closedWith(raw: RawClient): Promise<number | undefined> {
  await raw.waitClosed()
  return codeOf(raw.received('disconnect')[0] as IDisconnectPacket | undefined)
}

describe('CONNACK announces the limits', () => {
  it('topic alias maximum, maximum packet size and receive maximum from limits', async () => {
    const {connack} = await rawV5()
    expect(connack.properties?.topicAliasMaximum).toBe(LIMITS.topicAliasMaximum)
    expect(connack.properties?.maximumPacketSize).toBe(LIMITS.maxPacketSize)
    expect(connack.properties?.receiveMaximum).toBe(LIMITS.receiveMaximum)
  })
})

describe('topic aliases from the client', () => {
  it('an alias set with a topic, then used with an empty topic, reaches subscribers under the full topic', async () => {
    const topic = uniqueTopic('alias')
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 0})
    const {raw} = await rawV5()
    raw.sendPacket(publish(topic, 'first', {properties: {topicAlias: 1}}))
    raw.sendPacket(publish('', 'second', {properties: {topicAlias: 1}}))
    await inbox.waitCount(2)
    expect(inbox.messages.map((m) => [m.topic, m.payload.toString()])).toEqual([
      [topic, 'first'],
      [topic, 'second'],
    ])
    for (const m of inbox.messages) expect(m.packet.properties?.topicAlias).toBeUndefined() // sub allowed none
  })

  it('an alias can be re-mapped to another topic', async () => {
    const root = uniqueTopic('remap')
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(`${root}/+`, {qos: 0})
    const {raw} = await rawV5()
    raw.sendPacket(publish(`${root}/a`, '1', {properties: {topicAlias: 2}}))
    raw.sendPacket(publish(`${root}/b`, '2', {properties: {topicAlias: 2}}))
    raw.sendPacket(publish('', '3', {properties: {topicAlias: 2}}))
    await inbox.waitCount(3)
    expect(inbox.messages.map((m) => m.topic)).toEqual([`${root}/a`, `${root}/b`, `${root}/b`])
  })

  it('an alias above the announced maximum: DISCONNECT 0x94 Topic Alias invalid [MQTT-3.3.2-9]', async () => {
    const {raw} = await rawV5()
    raw.sendPacket(publish(uniqueTopic('big'), 'x', {properties: {topicAlias: LIMITS.topicAliasMaximum + 1}}))
    expect(await closedWith(raw)).toBe(0x94)
  })

  it('alias 0 closes the connection (DISCONNECT 0x94, or 0x82/0x81 if one is sent) [MQTT-3.3.2-8]', async () => {
    const {raw} = await rawV5()
    // mqtt-packet refuses alias 0; hand-build: PUBLISH "a/b", properties: 0x23 (topic alias) 0x0000.
    raw.send([0x30, 2 + 3 + 1 + 3 + 1, 0x00, 0x03, 0x61, 0x2f, 0x62, 3, 0x23, 0x00, 0x00, 0x78])
    const code = await closedWith(raw)
    if (TARGET === 'mqttctl') expect(code).toBe(0x94)
    else if (code !== undefined) expect([0x94, 0x82, 0x81]).toContain(code)
  })

  it('an empty topic with an alias never set is a protocol error (0x82) [MQTT-3.3.4]', async () => {
    const {raw} = await rawV5()
    raw.sendPacket(publish('', 'x', {properties: {topicAlias: 3}}))
    expect(await closedWith(raw)).toBe(0x82)
  })
})

describe('topic aliases to the client', () => {
  it('a client that allows none never gets a Topic Alias [MQTT-3.3.2-10]', async () => {
    const topic = uniqueTopic('noalias')
    const {raw} = await rawV5()
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 0}]})
    await raw.next('suback')
    const pub = await connect(target.url, {version: 5})
    for (let n = 0; n < 3; n++) await pub.publishAsync(topic, `m${n}`, {qos: 0})
    for (let n = 0; n < 3; n++) {
      const p = (await raw.next('publish')) as IPublishPacket
      expect(p.topic).toBe(topic)
      expect(p.properties?.topicAlias).toBeUndefined()
    }
  })

  it('a client that allows 2 aliases gets none above 2, and every empty topic refers to a known alias', async () => {
    const root = uniqueTopic('toalias')
    const {raw} = await rawV5({properties: {topicAliasMaximum: 2}})
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `${root}/+`, qos: 0}]})
    await raw.next('suback')
    const pub = await connect(target.url, {version: 5})
    const sent: string[] = []
    for (let round = 0; round < 3; round++) {
      for (const leaf of ['a', 'b', 'c']) {
        sent.push(`${root}/${leaf}`)
        await pub.publishAsync(`${root}/${leaf}`, leaf, {qos: 0})
      }
    }
    const aliases = new Map<number, string>()
    const resolved: string[] = []
    for (let n = 0; n < sent.length; n++) {
      const p = (await raw.next('publish')) as IPublishPacket
      const alias = p.properties?.topicAlias
      if (alias !== undefined) {
        expect(alias).toBeGreaterThanOrEqual(1)
        expect(alias).toBeLessThanOrEqual(2)
        if (p.topic) aliases.set(alias, p.topic)
      }
      const topic = p.topic || (alias !== undefined ? aliases.get(alias) : undefined)
      expect(topic, `PUBLISH ${n} has neither topic nor a known alias`).toBeDefined()
      resolved.push(topic as string)
    }
    expect(resolved).toEqual(sent)
  })

  it('MQTT.js with topicAliasMaximum receives the right topics', async () => {
    const root = uniqueTopic('jsalias')
    const sub = await connect(target.url, {version: 5, properties: {topicAliasMaximum: 10}})
    const inbox = collect(sub)
    await sub.subscribeAsync(`${root}/#`, {qos: 1})
    const pub = await connect(target.url, {version: 5})
    for (let n = 0; n < 6; n++) await pub.publishAsync(`${root}/${n % 2}`, String(n), {qos: 1})
    await inbox.waitCount(6)
    expect(inbox.messages.map((m) => m.topic)).toEqual([0, 1, 0, 1, 0, 1].map((n) => `${root}/${n}`))
  })
})

describe('maximum packet size', () => {
  it('the broker does not send a packet larger than the client\'s maximum; it drops it [MQTT-3.1.2-24] [MQTT-3.1.2-25]', async () => {
    const topic = uniqueTopic('maxpkt')
    const {raw} = await rawV5({properties: {maximumPacketSize: 256}})
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 1}]})
    await raw.next('suback')
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, Buffer.alloc(600, 0x61), {qos: 1})
    await pub.publishAsync(topic, 'small', {qos: 1})
    const p = (await raw.next('publish')) as IPublishPacket
    expect(Buffer.from(p.payload).toString()).toBe('small')
    // Every byte the broker sent fits: no single packet above 256 bytes.
    expect(raw.received('publish')).toHaveLength(1)
    expect(raw.isClosed).toBe(false)
  })

  it('5.0: a packet at the broker\'s maximum passes; one byte more gets DISCONNECT 0x95', async () => {
    const topic = uniqueTopic('limit')
    const header = 1 + 2 /* type byte + a 2-byte remaining length */
    const overhead = 2 + Buffer.byteLength(topic) + 1 /* property length */
    const fits = publish(topic, Buffer.alloc(LIMITS.maxPacketSize - header - overhead, 0x62))
    const {raw} = await rawV5()
    raw.sendPacket(fits)
    await raw.ping()
    raw.sendPacket(publish(topic, Buffer.alloc(LIMITS.maxPacketSize - header - overhead + 1, 0x62)))
    expect(await closedWith(raw)).toBe(0x95)
  })

  it('3.1.1: a packet above the broker\'s maximum closes the connection', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.sendPacket(publish(uniqueTopic('big311'), Buffer.alloc(LIMITS.maxPacketSize + 10)))
    await raw.waitClosed()
  })
})

describe('receive maximum', () => {
  it('the broker never has more unacknowledged QoS 1 PUBLISHes in flight than the client\'s receive maximum [MQTT-3.3.4-7]', async () => {
    const topic = uniqueTopic('rmax')
    const {raw} = await rawV5({properties: {receiveMaximum: 2}})
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 1}]})
    await raw.next('suback')
    const pub = await connect(target.url, {version: 5})
    for (let n = 0; n < 5; n++) await pub.publishAsync(topic, `m${n}`, {qos: 1})
    const first = (await raw.next('publish')) as IPublishPacket
    const second = (await raw.next('publish')) as IPublishPacket
    await raw.ping() // everything the broker meant to send before the ping has arrived
    expect(raw.received('publish'), 'in flight before any PUBACK').toHaveLength(2)
    raw.sendPacket({cmd: 'puback', messageId: first.messageId})
    const third = (await raw.next('publish')) as IPublishPacket
    expect(Buffer.from(third.payload).toString()).toBe('m2')
    raw.sendPacket({cmd: 'puback', messageId: second.messageId})
    raw.sendPacket({cmd: 'puback', messageId: third.messageId})
    const rest = [(await raw.next('publish')) as IPublishPacket, (await raw.next('publish')) as IPublishPacket]
    expect(rest.map((p) => Buffer.from(p.payload).toString())).toEqual(['m3', 'm4'])
  })

  it('a client exceeding the broker\'s receive maximum gets DISCONNECT 0x93 [MQTT-3.3.4-9]', async () => {
    const topic = uniqueTopic('rmaxin')
    const {raw} = await rawV5()
    // QoS 2 stays unacknowledged until PUBCOMP: never send PUBREL.
    for (let id = 1; id <= LIMITS.receiveMaximum + 1; id++) raw.sendPacket(publish(topic, `q2-${id}`, {qos: 2, messageId: id}))
    expect(await closedWith(raw)).toBe(0x93)
    expect(raw.received('pubrec')).toHaveLength(LIMITS.receiveMaximum)
  })
})
