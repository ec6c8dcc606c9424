/**
 * MQTT 5 PUBLISH properties and per-subscription options: properties forwarded unchanged, message
 * expiry counted down and enforced, no-local, subscription identifiers, request/response and
 * request-problem information.
 */
import type {IConnackPacket, ISubackPacket} from 'mqtt-packet'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {clientId, closeAll, collect, connackOf, connect, uniqueTopic} from '../../helpers/mqtt.js'
import {RawClient} from '../../helpers/raw.js'
import {startSharedTarget, TARGET, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget({denySubscribe: ['v5-forbidden/#']})
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

describe('properties pass through unchanged [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20]', () => {
  it('user properties (order and repeats), content type, payload format, response topic, correlation data', async () => {
    const topic = uniqueTopic('props')
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await connect(target.url, {version: 5})
    const properties = {
      userProperties: {b: ['2', '1'], a: 'x'},
      contentType: 'application/json; charset=utf-8',
      payloadFormatIndicator: true,
      responseTopic: `${topic}/reply`,
      correlationData: Buffer.from([0, 255, 7, 42]),
    }
    await pub.publishAsync(topic, '{"ok":true}', {qos: 1, properties})
    const [message] = await inbox.waitCount(1)
    const got = message.packet.properties ?? {}
    expect(got.userProperties).toEqual(properties.userProperties)
    expect(got.contentType).toBe(properties.contentType)
    expect(got.payloadFormatIndicator).toBe(true)
    expect(got.responseTopic).toBe(properties.responseTopic)
    expect(Buffer.from(got.correlationData ?? []).equals(properties.correlationData)).toBe(true)
  })

  it('properties survive the retained store', async () => {
    const topic = uniqueTopic('retprops')
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'stored', {qos: 1, retain: true, properties: {contentType: 'text/plain', userProperties: {k: 'v'}}})
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const [message] = await inbox.waitCount(1)
    expect(message.packet.properties?.contentType).toBe('text/plain')
    expect(message.packet.properties?.userProperties).toEqual({k: 'v'})
  })

  it('request/response: a responder answers on the response topic with the correlation data', async () => {
    const root = uniqueTopic('rr')
    const responder = await connect(target.url, {version: 5})
    await responder.subscribeAsync(`${root}/request`, {qos: 1})
    responder.on('message', (_topic, payload, packet) => {
      const {responseTopic, correlationData} = packet.properties ?? {}
      if (responseTopic) void responder.publishAsync(responseTopic, `re: ${payload}`, {qos: 1, properties: {correlationData}})
    })
    const requester = await connect(target.url, {version: 5})
    const inbox = collect(requester)
    await requester.subscribeAsync(`${root}/response`, {qos: 1})
    await requester.publishAsync(`${root}/request`, 'ping', {
      qos: 1,
      properties: {responseTopic: `${root}/response`, correlationData: Buffer.from('req-1')},
    })
    const [reply] = await inbox.waitCount(1)
    expect(reply.payload.toString()).toBe('re: ping')
    expect(Buffer.from(reply.packet.properties?.correlationData ?? []).toString()).toBe('req-1')
  })
})

describe('message expiry', () => {
  it('the expiry interval is counted down by the time the message waited [MQTT-3.3.2-6]', async () => {
    const topic = uniqueTopic('countdown')
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'aging', {qos: 1, retain: true, properties: {messageExpiryInterval: 60}})
    await target.elapse(2100) // the message waits in the broker for a measurable time
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const [message] = await inbox.waitCount(1)
    const left = message.packet.properties?.messageExpiryInterval
    expect(left).toBeDefined()
    expect(left).toBeLessThanOrEqual(58)
    expect(left).toBeGreaterThan(0)
  })

  it('a live message keeps its expiry interval', async () => {
    const topic = uniqueTopic('fresh')
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'fresh', {qos: 1, properties: {messageExpiryInterval: 3600}})
    const [message] = await inbox.waitCount(1)
    expect(message.packet.properties?.messageExpiryInterval).toBeGreaterThanOrEqual(3599)
  })

  it('an expired message queued for an offline session is not delivered [MQTT-3.3.2-5]', async () => {
    const topic = uniqueTopic('expired')
    const id = clientId('expq')
    const session = {clientId: id, clean: false, properties: {sessionExpiryInterval: 300}}
    const sub = await connect(target.url, {version: 5, ...session})
    await sub.subscribeAsync(topic, {qos: 1})
    await sub.endAsync()
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'short-lived', {qos: 1, properties: {messageExpiryInterval: 1}})
    await pub.publishAsync(topic, 'long-lived', {qos: 1, properties: {messageExpiryInterval: 3600}})
    await target.elapse(2200) // past the 1 s expiry
    const back = await connect(target.url, {version: 5, ...session})
    expect(connackOf(back).sessionPresent).toBe(true)
    const inbox = collect(back)
    await inbox.waitPayload('long-lived')
    expect(inbox.payloads()).toEqual(['long-lived'])
  })

  it('an expired retained message is no longer sent on subscribe', async () => {
    const topic = uniqueTopic('expret')
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'gone soon', {qos: 1, retain: true, properties: {messageExpiryInterval: 1}})
    await target.elapse(2200)
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync([topic, `${topic}-sentinel`], {qos: 1})
    await pub.publishAsync(`${topic}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })
})

describe('subscription options', () => {
  it('no-local: a client does not receive its own publications [MQTT-3.8.3-3]', async () => {
    const topic = uniqueTopic('nolocal')
    const client = await connect(target.url, {version: 5})
    const inbox = collect(client)
    await client.subscribeAsync(topic, {qos: 1, nl: true})
    await client.publishAsync(topic, 'own', {qos: 1})
    const other = await connect(target.url, {version: 5})
    await other.publishAsync(topic, 'other', {qos: 1})
    await inbox.waitPayload('other')
    expect(inbox.payloads()).toEqual(['other'])
  })

  it('without no-local a client does receive its own publications', async () => {
    const topic = uniqueTopic('local')
    const client = await connect(target.url, {version: 5})
    const inbox = collect(client)
    await client.subscribeAsync(topic, {qos: 1, nl: false})
    await client.publishAsync(topic, 'own', {qos: 1})
    await inbox.waitPayload('own')
  })

  it('a subscription identifier is returned on matching PUBLISH packets [MQTT-3.3.4-3]', async () => {
    const topic = uniqueTopic('subid')
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1, properties: {subscriptionIdentifier: 4321}})
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'with id', {qos: 1})
    const [message] = await inbox.waitCount(1)
    expect([message.packet.properties?.subscriptionIdentifier].flat()).toEqual([4321])
  })

  it('a subscription identifier sent by a publisher is never forwarded [MQTT-3.3.4-6]', async () => {
    const topic = uniqueTopic('subid-inject')
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const raw = await RawClient.open(target.port, {version: 5})
    await raw.connect()
    raw.sendPacket({cmd: 'publish', topic, payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: {subscriptionIdentifier: 99}})
    // [MQTT-3.3.4-6]: a client must not send one; the broker may close (protocol error) or drop it,
    // but never forward it.
    await raw.ping().catch(() => {})
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    for (const m of inbox.messages) expect(m.packet.properties?.subscriptionIdentifier).toBeUndefined()
  })
})

describe('request response / problem information', () => {
  it('without Request Response Information the CONNACK has no Response Information [MQTT-3.1.2-28]', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    const connack: IConnackPacket = await raw.connect({properties: {requestResponseInformation: false}})
    expect(connack.properties?.responseInformation).toBeUndefined()
  })

  it('with Request Response Information the CONNACK is accepted; Response Information, if any, is a string', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    const connack: IConnackPacket = await raw.connect({properties: {requestResponseInformation: true}})
    expect(connack.reasonCode ?? 0).toBe(0)
    const info = connack.properties?.responseInformation
    // Our broker offers no response information scheme [MQTT-3.1.2-28]: none is sent.
    if (TARGET === 'mqttctl') expect(info).toBeUndefined()
    else if (info !== undefined) expect(typeof info).toBe('string')
  })

  it('Request Problem Information 0: no reason string or user properties on SUBACK [MQTT-3.1.2-29]', async () => {
    const raw = await RawClient.open(target.port, {version: 5})
    await raw.connect({properties: {requestProblemInformation: false}})
    raw.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'v5-forbidden/x', qos: 0}]})
    const suback = (await raw.next('suback')) as ISubackPacket
    expect(suback.granted).toEqual([0x87])
    expect(suback.properties?.reasonString).toBeUndefined()
    expect(suback.properties?.userProperties).toBeUndefined()
  })
})

