/**
 * SUBSCRIBE / UNSUBSCRIBE: wildcard matching, `$` topics, filter validation, SUBACK and UNSUBACK
 * codes (incl. denySubscribe), overlapping subscriptions and subscription replacement.
 */
import type {IPublishPacket, ISubackPacket, IUnsubackPacket} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, collect, connect, uniqueTopic, VERSIONS, type Version} from '../../helpers/mqtt.js'
import {frame, RawClient} from '../../helpers/raw.js'
import {startSharedTarget, TARGET, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget({denySubscribe: ['forbidden/#', 'secret']})
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

/** [filter, topics that match, topics that must not] — all below a unique root. */
const MATCHING: Array<[string, string[], string[]]> = [
  ['a/b', ['a/b'], ['a', 'a/b/c', 'a/bb', 'A/b', 'a/b/']],
  ['a/+', ['a/b', 'a/'], ['a', 'a/b/c']],
  ['+/b', ['a/b', '/b'], ['b', 'a/c', 'a/b/c']],
  ['a/#', ['a', 'a/b', 'a/b/c', 'a/'], ['ab', 'b/a']], // [MQTT-4.7.1-2]: "sport/#" matches "sport"
  ['a/+/c/#', ['a/b/c', 'a/b/c/d/e'], ['a/c', 'a/b/d']],
  ['+', ['x', ''], ['x/y']],
  ['+/+', ['x/y', '/'], ['x', 'x/y/z']],
  ['a/+/+', ['a/b/c', 'a//'], ['a/b', 'a/b/c/d']],
]

describe('wildcard matching [MQTT-4.7.1]', () => {
  it.each(MATCHING)('filter %j', async (filter, yes, no) => {
    const root = uniqueTopic('match')
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync([`${root}/${filter}`, `${root}-sentinel`], {qos: 0})
    const pub = await connect(target.url)
    for (const topic of [...yes, ...no]) await pub.publishAsync(`${root}/${topic}`, topic, {qos: 0})
    await pub.publishAsync(`${root}-sentinel`, '<sentinel>', {qos: 0})
    await inbox.waitPayload('<sentinel>')
    const got = inbox.messages.filter((m) => m.topic !== `${root}-sentinel`).map((m) => m.payload.toString())
    expect(got.sort()).toEqual([...yes].sort())
  })

  it('topic matching is case sensitive and treats spaces as ordinary characters [MQTT-4.7.3-4]', async () => {
    const root = uniqueTopic('case')
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync(`${root}/Hello World`, {qos: 0})
    const pub = await connect(target.url)
    await pub.publishAsync(`${root}/hello world`, 'lower', {qos: 0})
    await pub.publishAsync(`${root}/Hello World`, 'exact', {qos: 0})
    await inbox.waitPayload('exact')
    expect(inbox.payloads()).toEqual(['exact'])
  })
})

describe('$ topics [MQTT-4.7.2-1]', () => {
  it('"#", "+/…" and "+/#" do not match topics starting with $; "$SYS/#" does', async () => {
    const root = uniqueTopic('dollar').replace('/', '-')
    const all = await connect(target.url)
    const allInbox = collect(all)
    await all.subscribeAsync(['#', `+/${root}/x`, '+/#'], {qos: 0})
    const sys = await connect(target.url)
    const sysInbox = collect(sys)
    await sys.subscribeAsync(`$SYS/${root}/#`, {qos: 0})

    target.broker.publish(`$SYS/${root}/x`, 'sys')
    target.broker.publish(`${root}/after`, 'sentinel')
    await allInbox.waitPayload('sentinel')
    await sysInbox.waitPayload('sys')
    expect(allInbox.messages.map((m) => m.topic)).not.toContain(`$SYS/${root}/x`)
    expect(allInbox.payloads()).not.toContain('sys')
  })
})

/** Sends SUBSCRIBE with one filter and returns 'closed' or the SUBACK code. */
async function trySubscribe(version: Version, filter: string): Promise<'closed' | number> {
  const raw = await RawClient.open(target.port, {version})
  await raw.connect()
  raw.sendPacket({cmd: 'subscribe', messageId: 3, subscriptions: [{topic: filter, qos: 0}]})
  return raw.next('suback').then(
    (p) => (p as ISubackPacket).granted[0] as number,
    () => 'closed' as const, // closed before any SUBACK
  )
}

describe('topic filter validation', () => {
  const invalid = ['a/#/b', 'a#', 'a/b#', 'a+/b', 'a/+b', '#/a', '']
  it.each(VERSIONS.flatMap((version) => invalid.map((filter) => ({version, filter}))))(
    'v$version: invalid filter $filter is refused (SUBACK failure or connection closed) [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1]',
    async ({version, filter}) => {
      const outcome = await trySubscribe(version, filter)
      // Our broker answers SUBACK 0x8F (MQTT 5) / 0x80 (3.1, 3.1.1) and keeps the connection.
      if (TARGET === 'mqttctl') expect(outcome).toBe(version === 5 ? 0x8f : 0x80)
      else if (outcome !== 'closed') expect(outcome).toBeGreaterThanOrEqual(0x80)
    },
  )

  it('SUBSCRIBE without any topic filter closes the connection [MQTT-3.8.3-3]', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.send(frame(0x82, [0x00, 0x01]))
    await raw.waitClosed()
    expect(raw.received('suback')).toHaveLength(0)
  })

  it('3.1.1: requested QoS 3 closes the connection [MQTT-3.8.3-4]', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.send(frame(0x82, [0x00, 0x01, 0x00, 0x01, 0x61, 0x03]))
    await raw.waitClosed()
    expect(raw.received('suback')).toHaveLength(0)
  })

  it('3.1.1: reserved bits in the requested-QoS byte close the connection [MQTT-3.8.3-4]', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.send(frame(0x82, [0x00, 0x01, 0x00, 0x01, 0x61, 0x41]))
    await raw.waitClosed()
    expect(raw.received('suback')).toHaveLength(0)
  })
})

describe('SUBACK', () => {
  it.each(VERSIONS)('v%i: same packet id, one code per filter in order, granted QoS as requested [MQTT-3.8.4-2] [MQTT-3.8.4-5]', async (version) => {
    const root = uniqueTopic('suback')
    const raw = await RawClient.open(target.port, {version})
    await raw.connect()
    raw.sendPacket({
      cmd: 'subscribe',
      messageId: 4242,
      subscriptions: [
        {topic: `${root}/q2`, qos: 2},
        {topic: `${root}/q0`, qos: 0},
        {topic: `${root}/q1/#`, qos: 1},
      ],
    })
    const suback = (await raw.next('suback')) as ISubackPacket
    expect(suback.messageId).toBe(4242)
    expect(suback.granted).toEqual([2, 0, 1])
  })

  it.each([4, 5] as const)('v%i: denySubscribe filters get 0x80 (3.1.1) / 0x87 (5.0), others are granted', async (version) => {
    const root = uniqueTopic('deny')
    const raw = await RawClient.open(target.port, {version})
    await raw.connect()
    raw.sendPacket({
      cmd: 'subscribe',
      messageId: 7,
      subscriptions: [
        {topic: `${root}/ok`, qos: 1},
        {topic: 'forbidden/#', qos: 1},
        {topic: 'secret', qos: 0},
      ],
    })
    const suback = (await raw.next('suback')) as ISubackPacket
    const refused = version === 5 ? 0x87 : 0x80
    expect(suback.granted).toEqual([1, refused, refused])
  })

  it.each([4, 5] as const)('v%i: a refused subscription receives nothing', async (version) => {
    const root = uniqueTopic('denied')
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(`${root}/sentinel`, {qos: 0})
    // MQTT.js rejects a subscribe whose SUBACK carries a failure code.
    await expect(sub.subscribeAsync('forbidden/#', {qos: 0})).rejects.toThrow()
    const pub = await connect(target.url, {version})
    await pub.publishAsync(`forbidden/${root}`, 'leak', {qos: 0})
    await pub.publishAsync(`${root}/sentinel`, 'sentinel', {qos: 0})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })
})

describe('UNSUBSCRIBE', () => {
  it.each(VERSIONS)('v%i: stops delivery; UNSUBACK carries the same packet id [MQTT-3.10.4-1] [MQTT-3.10.4-4]', async (version) => {
    const root = uniqueTopic('unsub')
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync([`${root}/+`, `${root}-sentinel`], {qos: 1})
    const pub = await connect(target.url, {version})
    await pub.publishAsync(`${root}/a`, 'before', {qos: 1})
    await inbox.waitPayload('before')
    await sub.unsubscribeAsync(`${root}/+`)
    await pub.publishAsync(`${root}/a`, 'after', {qos: 1})
    await pub.publishAsync(`${root}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['before', 'sentinel'])
  })

  it('3.1.1: UNSUBACK is sent even when nothing matched [MQTT-3.10.4-5]', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.sendPacket({cmd: 'unsubscribe', messageId: 99, unsubscriptions: [uniqueTopic('never')]})
    expect((await raw.next('unsuback')).messageId).toBe(99)
  })

  it('5.0: UNSUBACK reason codes: 0x00 removed, 0x11 no subscription existed', async () => {
    const root = uniqueTopic('unsub5')
    const raw = await RawClient.open(target.port, {version: 5})
    await raw.connect()
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: `${root}/x`, qos: 0}]})
    await raw.next('suback')
    raw.sendPacket({cmd: 'unsubscribe', messageId: 2, unsubscriptions: [`${root}/x`, `${root}/y`]})
    const unsuback = (await raw.next('unsuback')) as IUnsubackPacket
    expect(unsuback.messageId).toBe(2)
    expect(unsuback.granted).toEqual([0x00, 0x11])
  })

  it('3.1.1: UNSUBSCRIBE with flags 0 instead of 2 closes the connection [MQTT-3.10.1-1]', async () => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.send(frame(0xa0, [0x00, 0x01, 0x00, 0x01, 0x61]))
    await raw.waitClosed()
    expect(raw.received('unsuback')).toHaveLength(0)
  })
})

describe('overlapping subscriptions', () => {
  it.each([3, 4] as const)('v%i: one copy, at the highest QoS of the matching subscriptions [MQTT-3.3.5-1]', async (version) => {
    const root = uniqueTopic('overlap')
    const raw = await RawClient.open(target.port, {version})
    await raw.connect()
    raw.sendPacket({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        {topic: `${root}/#`, qos: 0},
        {topic: `${root}/+`, qos: 2},
        {topic: `${root}/a`, qos: 1},
      ],
    })
    await raw.next('suback')
    const pub = await connect(target.url)
    await pub.publishAsync(`${root}/a`, 'one copy', {qos: 2})
    await pub.publishAsync(`${root}/a/b`, 'sentinel', {qos: 0})
    await waitForPublish(raw, 'sentinel')
    const copies = raw.received('publish').filter((p) => payloadOf(p) === 'one copy') as IPublishPacket[]
    expect(copies).toHaveLength(1)
    expect(copies[0].qos).toBe(2)
  })

  it('5.0: one copy carrying every matching subscription identifier', async () => {
    const root = uniqueTopic('overlap5')
    const raw = await RawClient.open(target.port, {version: 5})
    await raw.connect()
    const subscriptions: Array<[string, number, 0 | 1 | 2]> = [
      [`${root}/#`, 11, 0],
      [`${root}/+`, 12, 2],
      [`${root}/a`, 13, 1],
    ]
    for (const [topic, id, qos] of subscriptions) {
      raw.sendPacket({cmd: 'subscribe', messageId: id, subscriptions: [{topic, qos}], properties: {subscriptionIdentifier: id}})
      await raw.next('suback')
    }
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(`${root}/a`, 'one copy', {qos: 2})
    await pub.publishAsync(`${root}/a/b`, 'sentinel', {qos: 0})
    await waitForPublish(raw, 'sentinel')
    const copies = raw.received('publish').filter((p) => payloadOf(p) === 'one copy') as IPublishPacket[]
    expect(copies).toHaveLength(1)
    expect(copies[0].qos).toBe(2)
    const ids = [copies[0].properties?.subscriptionIdentifier ?? []].flat()
    expect([...ids].sort()).toEqual([11, 12, 13])
  })

  it.each(VERSIONS)('v%i: subscribing again to the same filter replaces it (new QoS, still one copy) [MQTT-3.8.4-3]', async (version) => {
    const root = uniqueTopic('replace')
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(`${root}/t`, {qos: 0})
    await sub.subscribeAsync(`${root}/t`, {qos: 1})
    const pub = await connect(target.url, {version})
    await pub.publishAsync(`${root}/t`, 'replaced', {qos: 1})
    await pub.publishAsync(`${root}/t`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['replaced', 'sentinel'])
    expect(inbox.messages[0].packet.qos).toBe(1)
  })
})

function payloadOf(packet: unknown): string {
  return Buffer.from((packet as IPublishPacket).payload).toString()
}

async function waitForPublish(raw: RawClient, payload: string): Promise<void> {
  for (;;) {
    const packet = await raw.next('publish')
    const publish = packet as IPublishPacket
    if (publish.qos === 1) raw.sendPacket({cmd: 'puback', messageId: publish.messageId})
    if (publish.qos === 2) raw.sendPacket({cmd: 'pubrec', messageId: publish.messageId})
    if (payloadOf(packet) === payload) return
  }
}



