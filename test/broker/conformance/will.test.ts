/**
 * Will messages: published on an abnormal close (socket destroyed, protocol error), not after a
 * normal DISCONNECT; QoS and retain; MQTT 5 DISCONNECT 0x04, will delay interval, session expiry 0.
 */
import type {IConnectPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {clientId, closeAll, collect, connect, uniqueTopic, VERSIONS, type Version, waitFor} from '../../helpers/mqtt.js'
import {frame, RawClient} from '../../helpers/raw.js'
import {startTarget, type Target} from './target.js'

afterEach(closeAll)

type Will = NonNullable<IConnectPacket['will']>

/** A raw client connected with a will. */
async function willClient(target: Target, version: Version, will: Will, extra: Partial<IConnectPacket> = {}): Promise<RawClient> {
  const raw = await RawClient.open(target.port, {version})
  await raw.connect({clientId: clientId('will'), will, ...extra})
  return raw
}

/** A subscriber on `topic`; returns its inbox once SUBACK arrived. */
async function subscriber(target: Target, topic: string, qos: 0 | 1 | 2 = 1, version: Version = 4) {
  const sub = await connect(target.url, {version})
  const inbox = collect(sub)
  await sub.subscribeAsync(topic, {qos})
  return {sub, inbox}
}

/** Waits until only `n` clients are connected (the broker has processed the close). */
async function settled(target: Target, n: number): Promise<void> {
  await waitFor(() => target.broker.clientCount() === n, 5000, `clientCount() === ${n} (is ${target.broker.clientCount()})`)
}

describe.each(VERSIONS)('will (protocol version %i)', (version) => {
  it('is published when the socket is destroyed without DISCONNECT [MQTT-3.1.2-8]', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('will')
    const {inbox} = await subscriber(target, topic, 1)
    const raw = await willClient(target, version, {topic, payload: Buffer.from('gone'), qos: 1, retain: false})
    raw.destroy()
    const message = await inbox.waitPayload('gone')
    expect(message.topic).toBe(topic)
    expect(message.packet.qos).toBe(1)
  })

  it('is not published after a normal DISCONNECT [MQTT-3.1.2-10]', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('nowill')
    const {inbox} = await subscriber(target, topic, 1)
    const raw = await willClient(target, version, {topic, payload: Buffer.from('must not'), qos: 1, retain: false})
    raw.sendPacket({cmd: 'disconnect'})
    await raw.waitClosed()
    await settled(target, 1)
    const pub = await connect(target.url)
    await pub.publishAsync(topic, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })

  it('is published after a protocol error closes the connection', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('errwill')
    const {inbox} = await subscriber(target, topic, 1)
    const raw = await willClient(target, version, {topic, payload: Buffer.from('after error'), qos: 0, retain: false})
    raw.send(frame(0x36, [0x00, 0x01, 0x61, 0x00, 0x01])) // PUBLISH with QoS 3
    await raw.waitClosed()
    await inbox.waitPayload('after error')
  })

  it('with will retain, the will becomes the retained message [MQTT-3.1.2-17]', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('retwill')
    const live = await subscriber(target, topic, 1)
    const raw = await willClient(target, version, {topic, payload: Buffer.from('retained will'), qos: 1, retain: true})
    raw.destroy()
    await live.inbox.waitPayload('retained will')
    const later = await subscriber(target, topic, 1)
    const stored = await later.inbox.waitPayload('retained will')
    expect(stored.packet.retain).toBe(true)
  })
})

describe('will QoS', () => {
  it('a QoS 2 will reaches a QoS 2 subscriber at QoS 2 and a QoS 0 subscriber at QoS 0', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('willqos')
    const high = await subscriber(target, topic, 2)
    const low = await subscriber(target, topic, 0)
    const raw = await willClient(target, 4, {topic, payload: Buffer.from('q2 will'), qos: 2, retain: false})
    raw.destroy()
    expect((await high.inbox.waitPayload('q2 will')).packet.qos).toBe(2)
    expect((await low.inbox.waitPayload('q2 will')).packet.qos).toBe(0)
  })
})

describe('MQTT 5 will', () => {
  it('DISCONNECT with reason 0x04 (Disconnect with Will Message) publishes the will', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('will04')
    const {inbox} = await subscriber(target, topic, 1, 5)
    const raw = await willClient(target, 5, {topic, payload: Buffer.from('asked for'), qos: 1, retain: false})
    raw.sendPacket({cmd: 'disconnect', reasonCode: 0x04})
    await inbox.waitPayload('asked for')
  })

  it('DISCONNECT with reason 0x00 does not publish the will [MQTT-3.14.4-3]', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('will00')
    const {inbox} = await subscriber(target, topic, 1, 5)
    const raw = await willClient(target, 5, {topic, payload: Buffer.from('must not'), qos: 1, retain: false})
    raw.sendPacket({cmd: 'disconnect', reasonCode: 0x00})
    await raw.waitClosed()
    await settled(target, 1)
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })

  it('will properties reach the subscriber unchanged', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('willprops')
    const {inbox} = await subscriber(target, topic, 1, 5)
    const raw = await willClient(target, 5, {
      topic,
      payload: Buffer.from('{"state":"offline"}'),
      qos: 1,
      retain: false,
      properties: {
        contentType: 'application/json',
        payloadFormatIndicator: true,
        responseTopic: `${topic}/reply`,
        correlationData: Buffer.from([1, 2, 3]),
        userProperties: {device: 'sensor-7'},
      },
    })
    raw.destroy()
    const message = await inbox.waitPayload('{"state":"offline"}')
    const props = message.packet.properties ?? {}
    expect(props.contentType).toBe('application/json')
    expect(props.payloadFormatIndicator).toBe(true)
    expect(props.responseTopic).toBe(`${topic}/reply`)
    expect(Buffer.from(props.correlationData ?? []).equals(Buffer.from([1, 2, 3]))).toBe(true)
    expect(props.userProperties).toEqual({device: 'sensor-7'})
  })

  it('will delay 1 s: not published when the close is processed, published after the delay [MQTT-3.1.3-9]', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('delay')
    const {sub, inbox} = await subscriber(target, topic, 1, 5)
    const raw = await willClient(
      target,
      5,
      {topic, payload: Buffer.from('delayed'), qos: 1, retain: false, properties: {willDelayInterval: 1}},
      {clean: false, properties: {sessionExpiryInterval: 60}},
    )
    raw.destroy()
    await settled(target, 1)
    // A round trip through the subscriber's connection: a will published at close time would be here.
    await sub.publishAsync(`${topic}-rt`, 'rt', {qos: 1})
    expect(inbox.payloads()).not.toContain('delayed')
    await target.elapse(2100) // the delay, plus the deadline wheel's one-second granularity
    await inbox.waitPayload('delayed')
  })

  it('reconnecting within the will delay cancels the will [MQTT-3.1.3-9]', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('cancel')
    const {inbox} = await subscriber(target, topic, 1, 5)
    const id = clientId('cancel')
    const session = {clientId: id, clean: false, properties: {sessionExpiryInterval: 60}}
    const raw = await RawClient.open(target.port, {version: 5})
    await raw.connect({...session, will: {topic, payload: Buffer.from('cancelled'), qos: 1, retain: false, properties: {willDelayInterval: 2}}})
    raw.destroy()
    const back = await RawClient.open(target.port, {version: 5})
    await back.connect(session)
    await target.elapse(3500) // no event marks "the will delay passed without a will"
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })

  it('session expiry 0 ends the session at once, so a long will delay does not hold the will back', async () => {
    const target = await startTarget()
    const topic = uniqueTopic('expire0')
    const {inbox} = await subscriber(target, topic, 1, 5)
    const raw = await willClient(
      target,
      5,
      {topic, payload: Buffer.from('session over'), qos: 1, retain: false, properties: {willDelayInterval: 30}},
      {properties: {sessionExpiryInterval: 0}},
    )
    raw.destroy()
    // Well before the 30 s delay: the session ended, and the will goes with it [MQTT-3.1.2-8 5.0].
    await inbox.waitPayload('session over', 5000)
  })
})
