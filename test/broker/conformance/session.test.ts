/**
 * Sessions: take-over by client id, clean session (3.1 / 3.1.1), clean start and session expiry (5.0),
 * the session present flag, and re-delivery of unacknowledged QoS 1/2 messages with DUP on resume.
 */
import type {IClientOptions, IPublishPacket} from 'mqtt'
import type {IConnackPacket, IPubrelPacket} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {
  clientId,
  closeAll,
  collect,
  connackOf,
  connect,
  uniqueTopic,
  VERSIONS,
  type Version,
  waitClose,
} from '../../helpers/mqtt.js'
import {codeOf, RawClient} from '../../helpers/raw.js'
import {startSharedTarget, startTarget, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget()
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

/** MQTT.js options for a session that outlives the connection. */
function persistent(version: Version): IClientOptions {
  return version === 5 ? {clean: false, properties: {sessionExpiryInterval: 300}} : {clean: false}
}

/** Raw CONNECT fields for a session that outlives the connection. */
function rawPersistent(version: Version, id: string) {
  return version === 5 ? {clientId: id, clean: false, properties: {sessionExpiryInterval: 300}} : {clientId: id, clean: false}
}

describe('session take-over', () => {
  it.each(VERSIONS)('v%i: a second connection with the same client id closes the first [MQTT-3.1.4-2]', async (version) => {
    const id = clientId('take')
    const first = await RawClient.open(target.port, {version})
    expect(codeOf(await first.connect({clientId: id}))).toBe(0)
    const second = await connect(target.url, {version, clientId: id})
    await first.waitClosed()
    expect(second.connected).toBe(true)
    if (version === 5) {
      // MQTT 5 [MQTT-3.1.4-3]: the existing client is sent DISCONNECT 0x8E Session taken over.
      expect(codeOf(first.received('disconnect')[0]), first.describe()).toBe(0x8e)
    }
  })

  it.each(VERSIONS)('v%i: the new connection takes over the session (subscriptions, session present)', async (version) => {
    const id = clientId('takes')
    const topic = uniqueTopic('take')
    const first = await connect(target.url, {version, clientId: id, ...persistent(version)})
    await first.subscribeAsync(topic, {qos: 1})
    const second = await connect(target.url, {version, clientId: id, ...persistent(version)})
    await waitClose(first)
    if (version !== 3) expect(connackOf(second).sessionPresent).toBe(true)
    const inbox = collect(second)
    const publisher = await connect(target.url)
    await publisher.publishAsync(topic, 'to-the-new-owner', {qos: 1})
    const [message] = await inbox.waitCount(1)
    expect(message.payload.toString()).toBe('to-the-new-owner')
    expect(message.packet.qos).toBe(1)
  })
})

describe('clean session (3.1, 3.1.1)', () => {
  it.each([3, 4] as const)('v%i: a persistent session keeps subscriptions and queues QoS 1 while offline', async (version) => {
    const id = clientId('persist')
    const topic = uniqueTopic('persist')
    const sub = await connect(target.url, {version, clientId: id, clean: false})
    if (version === 4) expect(connackOf(sub).sessionPresent, 'new session [MQTT-3.2.2-3]').toBe(false)
    await sub.subscribeAsync(topic, {qos: 1})
    await sub.endAsync()
    const publisher = await connect(target.url)
    for (const n of [1, 2, 3]) await publisher.publishAsync(topic, `offline-${n}`, {qos: 1})
    const resumed = await connect(target.url, {version, clientId: id, clean: false, manualConnect: false})
    if (version === 4) expect(connackOf(resumed).sessionPresent, 'resumed session [MQTT-3.2.2-2]').toBe(true)
    const inbox = collect(resumed)
    await inbox.waitCount(3)
    expect(inbox.payloads()).toEqual(['offline-1', 'offline-2', 'offline-3'])
  })

  it('3.1.1: cleanSession=1 discards the previous session and reports session present 0 [MQTT-3.1.2-6] [MQTT-3.2.2-1]', async () => {
    const id = clientId('clean')
    const topic = uniqueTopic('clean')
    const sub = await connect(target.url, {clientId: id, clean: false})
    await sub.subscribeAsync(`${topic}/old`, {qos: 1})
    await sub.endAsync()
    const clean = await connect(target.url, {clientId: id, clean: true})
    expect(connackOf(clean).sessionPresent).toBe(false)
    await clean.endAsync()
    // The clean session ended with its connection, so a persistent reconnect starts afresh.
    const again = await connect(target.url, {clientId: id, clean: false})
    expect(connackOf(again).sessionPresent).toBe(false)
    const inbox = collect(again)
    await again.subscribeAsync(`${topic}/sentinel`, {qos: 1})
    const publisher = await connect(target.url)
    await publisher.publishAsync(`${topic}/old`, 'must not arrive', {qos: 1})
    await publisher.publishAsync(`${topic}/sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })
})

describe('clean start and session expiry (5.0)', () => {
  it('session expiry 0: the session ends with the connection (session present 0 on return)', async () => {
    const id = clientId('exp0')
    const first = await connect(target.url, {version: 5, clientId: id, clean: false, properties: {sessionExpiryInterval: 0}})
    await first.subscribeAsync(uniqueTopic('exp0'), {qos: 1})
    await first.endAsync()
    const second = await connect(target.url, {version: 5, clientId: id, clean: false, properties: {sessionExpiryInterval: 0}})
    expect(connackOf(second).sessionPresent).toBe(false)
  })

  it('clean start 0 + session expiry 300: session present 1 and queued QoS 1 messages delivered [MQTT-3.1.2-5]', async () => {
    const id = clientId('exp300')
    const topic = uniqueTopic('exp300')
    const first = await connect(target.url, {version: 5, clientId: id, ...persistent(5)})
    expect(connackOf(first).sessionPresent).toBe(false)
    await first.subscribeAsync(topic, {qos: 1})
    await first.endAsync()
    const publisher = await connect(target.url, {version: 5})
    await publisher.publishAsync(topic, 'kept', {qos: 1})
    const second = await connect(target.url, {version: 5, clientId: id, ...persistent(5)})
    expect(connackOf(second).sessionPresent).toBe(true)
    const inbox = collect(second)
    await inbox.waitPayload('kept')
  })

  it('clean start 1 discards an existing session [MQTT-3.1.2-4]', async () => {
    const id = clientId('cs1')
    const topic = uniqueTopic('cs1')
    const first = await connect(target.url, {version: 5, clientId: id, ...persistent(5)})
    await first.subscribeAsync(topic, {qos: 1})
    await first.endAsync()
    const second = await connect(target.url, {version: 5, clientId: id, clean: true, properties: {sessionExpiryInterval: 300}})
    expect(connackOf(second).sessionPresent).toBe(false)
    const inbox = collect(second)
    await second.subscribeAsync(`${topic}/sentinel`, {qos: 1})
    const publisher = await connect(target.url, {version: 5})
    await publisher.publishAsync(topic, 'old subscription', {qos: 1})
    await publisher.publishAsync(`${topic}/sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })

  it('the session is discarded once its expiry interval (1 s) has passed', async () => {
    const id = clientId('exp1')
    const first = await connect(target.url, {version: 5, clientId: id, clean: false, properties: {sessionExpiryInterval: 1}})
    await first.subscribeAsync(uniqueTopic('exp1'), {qos: 1})
    await first.endAsync()
    await target.elapse(2600) // no event announces an expiry (1 s + the wheel's 1 s granularity + margin)
    const second = await connect(target.url, {version: 5, clientId: id, clean: false, properties: {sessionExpiryInterval: 1}})
    expect(connackOf(second).sessionPresent).toBe(false)
  })

  it('DISCONNECT may shorten the session expiry to 0, ending the session [MQTT-3.14.2-2 context]', async () => {
    const id = clientId('dexp')
    const first = await connect(target.url, {version: 5, clientId: id, ...persistent(5)})
    await first.subscribeAsync(uniqueTopic('dexp'), {qos: 1})
    await first.endAsync({reasonCode: 0, properties: {sessionExpiryInterval: 0}})
    const second = await connect(target.url, {version: 5, clientId: id, ...persistent(5)})
    expect(connackOf(second).sessionPresent).toBe(false)
  })

  it('a session expiry above limits.maxSessionExpiry is capped and the granted value announced in CONNACK', async () => {
    const own = await startTarget({limits: {maxSessionExpiry: 10}})
    const raw = await RawClient.open(own.port, {version: 5})
    const connack: IConnackPacket = await raw.connect({clientId: clientId('cap'), clean: false, properties: {sessionExpiryInterval: 100}})
    expect(codeOf(connack)).toBe(0)
    expect(connack.properties?.sessionExpiryInterval).toBe(10)
  })
})

describe('re-delivery on resume [MQTT-4.4.0-1]', () => {
  it.each(VERSIONS)('v%i: an unacknowledged QoS 1 PUBLISH is re-sent with DUP=1 and the same packet id', async (version) => {
    const id = clientId('redel1')
    const topic = uniqueTopic('redel1')
    const sub = await RawClient.open(target.port, {version})
    await sub.connect(rawPersistent(version, id))
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 1}]})
    await sub.next('suback')
    const publisher = await connect(target.url)
    await publisher.publishAsync(topic, 'unacked', {qos: 1})
    const first = (await sub.next('publish')) as IPublishPacket
    expect(first.dup).toBe(false)
    sub.destroy() // never PUBACKed

    const resumed = await RawClient.open(target.port, {version})
    const connack = await resumed.connect(rawPersistent(version, id))
    if (version !== 3) expect(connack.sessionPresent).toBe(true)
    const again = (await resumed.next('publish')) as IPublishPacket
    expect(again.dup).toBe(true)
    expect(again.messageId).toBe(first.messageId)
    expect(again.qos).toBe(1)
    expect(again.topic).toBe(topic)
    expect(Buffer.from(again.payload).toString()).toBe('unacked')
  })

  it.each([4, 5] as const)('v%i: a QoS 2 PUBLISH never PUBRECed is re-sent with DUP=1', async (version) => {
    const id = clientId('redel2')
    const topic = uniqueTopic('redel2')
    const sub = await RawClient.open(target.port, {version})
    await sub.connect(rawPersistent(version, id))
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 2}]})
    await sub.next('suback')
    const publisher = await connect(target.url)
    await publisher.publishAsync(topic, 'no-pubrec', {qos: 2})
    const first = (await sub.next('publish')) as IPublishPacket
    sub.destroy()

    const resumed = await RawClient.open(target.port, {version})
    await resumed.connect(rawPersistent(version, id))
    const again = (await resumed.next('publish')) as IPublishPacket
    expect(again.dup).toBe(true)
    expect(again.qos).toBe(2)
    expect(again.messageId).toBe(first.messageId)
  })

  it.each([4, 5] as const)('v%i: after PUBREC without PUBCOMP the broker re-sends PUBREL, not the PUBLISH', async (version) => {
    const id = clientId('redelrel')
    const topic = uniqueTopic('redelrel')
    const sub = await RawClient.open(target.port, {version})
    await sub.connect(rawPersistent(version, id))
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos: 2}]})
    await sub.next('suback')
    const publisher = await connect(target.url)
    await publisher.publishAsync(topic, 'pubrec-sent', {qos: 2})
    const first = (await sub.next('publish')) as IPublishPacket
    sub.sendPacket({cmd: 'pubrec', messageId: first.messageId})
    await sub.next('pubrel')
    sub.destroy() // PUBCOMP never sent

    const resumed = await RawClient.open(target.port, {version})
    await resumed.connect(rawPersistent(version, id))
    const pubrel = (await resumed.next('pubrel')) as IPubrelPacket
    expect(pubrel.messageId).toBe(first.messageId)
    resumed.sendPacket({cmd: 'pubcomp', messageId: first.messageId})
    await resumed.ping()
    expect(resumed.received('publish'), resumed.describe()).toHaveLength(0)
  })

  it('3.1.1: a QoS 2 PUBLISH re-sent after reconnect (same id, before PUBREL) is delivered once [MQTT-4.3.3-2]', async () => {
    const id = clientId('inq2')
    const topic = uniqueTopic('inq2')
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 2})
    const pub = await RawClient.open(target.port)
    await pub.connect({clientId: id, clean: false})
    const publish = {cmd: 'publish', topic, payload: Buffer.from('once'), qos: 2, messageId: 42, dup: false, retain: false} as const
    pub.sendPacket(publish)
    await pub.next('pubrec')
    pub.destroy()

    const again = await RawClient.open(target.port)
    await again.connect({clientId: id, clean: false})
    again.sendPacket({...publish, dup: true})
    expect((await again.next('pubrec')).messageId).toBe(42)
    again.sendPacket({cmd: 'pubrel', messageId: 42})
    expect((await again.next('pubcomp')).messageId).toBe(42)
    again.sendPacket({cmd: 'publish', topic, payload: Buffer.from('sentinel'), qos: 2, messageId: 43, dup: false, retain: false})
    await again.next('pubrec')
    again.sendPacket({cmd: 'pubrel', messageId: 43})
    await again.next('pubcomp')
    await inbox.waitPayload('sentinel')
    await inbox.waitPayload('once')
    // Method A (deliver on PUBLISH) or B (on PUBREL) may order them differently; the count is what matters.
    expect([...inbox.payloads()].sort()).toEqual(['once', 'sentinel'])
  })
})
