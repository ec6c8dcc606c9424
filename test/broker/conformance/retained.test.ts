/**
 * Retained messages: stored, replaced, deleted by an empty retained publish, sent on subscribe with
 * RETAIN=1, live copies with RETAIN=0; MQTT 5 retain handling 0/1/2 and retain-as-published.
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {closeAll, collect, connect, uniqueTopic, VERSIONS} from '../../helpers/mqtt.js'
import {startSharedTarget, type Target} from './target.js'

let target: Target
beforeAll(async () => {
  target = await startSharedTarget()
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

describe.each(VERSIONS)('retained (protocol version %i)', (version) => {
  it('a retained message is sent to a new subscriber with RETAIN=1 [MQTT-3.3.1-6] [MQTT-3.3.1-8]', async () => {
    const topic = uniqueTopic('ret')
    const pub = await connect(target.url, {version})
    await pub.publishAsync(topic, 'kept', {qos: 1, retain: true})
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const [message] = await inbox.waitCount(1)
    expect(message.payload.toString()).toBe('kept')
    expect(message.packet.retain).toBe(true)
  })

  it('a newer retained message replaces the old one [MQTT-3.3.1-5]', async () => {
    const topic = uniqueTopic('replace')
    const pub = await connect(target.url, {version})
    await pub.publishAsync(topic, 'old', {qos: 1, retain: true})
    await pub.publishAsync(topic, 'new', {qos: 1, retain: true})
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync([topic, `${topic}-sentinel`], {qos: 1})
    await pub.publishAsync(`${topic}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['new', 'sentinel'])
  })

  it('an empty retained publish deletes the retained message [MQTT-3.3.1-10] [MQTT-3.3.1-11]', async () => {
    const topic = uniqueTopic('delete')
    const pub = await connect(target.url, {version})
    await pub.publishAsync(topic, 'doomed', {qos: 1, retain: true})
    await pub.publishAsync(topic, '', {qos: 1, retain: true})
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync([topic, `${topic}-sentinel`], {qos: 1})
    await pub.publishAsync(`${topic}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })

  it('a live copy to an existing subscriber has RETAIN=0 [MQTT-3.3.1-9]', async () => {
    const topic = uniqueTopic('live')
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await connect(target.url, {version})
    await pub.publishAsync(topic, 'live', {qos: 1, retain: true})
    const [message] = await inbox.waitCount(1)
    expect(message.packet.retain).toBe(false)
  })

  it('retained messages are delivered at min(stored QoS, subscription QoS)', async () => {
    const root = uniqueTopic('retqos')
    const pub = await connect(target.url, {version})
    await pub.publishAsync(`${root}/two`, 'two', {qos: 2, retain: true})
    await pub.publishAsync(`${root}/one`, 'one', {qos: 1, retain: true})
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(`${root}/+`, {qos: 1})
    await inbox.waitCount(2)
    const qos = Object.fromEntries(inbox.messages.map((m) => [m.payload.toString(), m.packet.qos]))
    expect(qos).toEqual({two: 1, one: 1})
  })

  it('a wildcard subscription gets every matching retained message, and only those', async () => {
    const root = uniqueTopic('wild')
    const pub = await connect(target.url, {version})
    for (const leaf of ['a/1', 'a/2', 'a/3/deep', 'b/1']) await pub.publishAsync(`${root}/${leaf}`, leaf, {qos: 1, retain: true})
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync([`${root}/a/#`, `${root}-sentinel`], {qos: 1})
    await pub.publishAsync(`${root}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    await inbox.waitCount(4)
    expect(inbox.payloads().filter((p) => p !== 'sentinel').sort()).toEqual(['a/1', 'a/2', 'a/3/deep'])
  })

  it('subscribing again re-sends the retained message [MQTT-3.8.4-3]', async () => {
    const topic = uniqueTopic('resub')
    const pub = await connect(target.url, {version})
    await pub.publishAsync(topic, 'again', {qos: 0, retain: true})
    const sub = await connect(target.url, {version})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 0})
    await inbox.waitCount(1)
    await sub.subscribeAsync(topic, {qos: 0})
    await inbox.waitCount(2)
    expect(inbox.payloads()).toEqual(['again', 'again'])
  })
})

describe('retained from the broker itself', () => {
  it('broker.publish(…, {retain: true}) is stored and sent on subscribe', async () => {
    const topic = uniqueTopic('brokerret')
    target.broker.publish(topic, 'from broker', {qos: 1, retain: true})
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const [message] = await inbox.waitCount(1)
    expect(message.payload.toString()).toBe('from broker')
    expect(message.packet.retain).toBe(true)
  })
})

describe('MQTT 5 retain handling and retain-as-published', () => {
  async function retainedTopic(): Promise<string> {
    const topic = uniqueTopic('rh')
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'retained', {qos: 1, retain: true})
    return topic
  }

  it('retain handling 0: retained sent at every subscribe [MQTT-3.3.1-9]', async () => {
    const topic = await retainedTopic()
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1, rh: 0})
    await inbox.waitCount(1)
    await sub.subscribeAsync(topic, {qos: 1, rh: 0})
    await inbox.waitCount(2)
    expect(inbox.payloads()).toEqual(['retained', 'retained'])
  })

  it('retain handling 1: retained sent only when the subscription did not exist [MQTT-3.3.1-10]', async () => {
    const topic = await retainedTopic()
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync([topic, `${topic}-sentinel`], {qos: 1, rh: 1})
    await inbox.waitCount(1)
    await sub.subscribeAsync(topic, {qos: 1, rh: 1})
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(`${topic}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['retained', 'sentinel'])
  })

  it('retain handling 2: retained never sent on subscribe [MQTT-3.3.1-11]', async () => {
    const topic = await retainedTopic()
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync([topic, `${topic}-sentinel`], {qos: 1, rh: 2})
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(`${topic}-sentinel`, 'sentinel', {qos: 1})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })

  it('retain as published 1 keeps RETAIN=1 on live copies; 0 clears it [MQTT-3.3.1-12] [MQTT-3.3.1-13]', async () => {
    const root = uniqueTopic('rap')
    const keep = await connect(target.url, {version: 5})
    const keepInbox = collect(keep)
    await keep.subscribeAsync(`${root}/t`, {qos: 1, rap: true})
    const clear = await connect(target.url, {version: 5})
    const clearInbox = collect(clear)
    await clear.subscribeAsync(`${root}/t`, {qos: 1, rap: false})
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(`${root}/t`, 'live retained', {qos: 1, retain: true})
    await pub.publishAsync(`${root}/t`, 'live plain', {qos: 1, retain: false})
    await keepInbox.waitCount(2)
    await clearInbox.waitCount(2)
    expect(keepInbox.messages.map((m) => m.packet.retain)).toEqual([true, false])
    expect(clearInbox.messages.map((m) => m.packet.retain)).toEqual([false, false])
  })

  it('messages sent because of a new subscription keep RETAIN=1 whatever retain-as-published says', async () => {
    const topic = await retainedTopic()
    const sub = await connect(target.url, {version: 5})
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1, rap: false})
    const [message] = await inbox.waitCount(1)
    expect(message.packet.retain).toBe(true)
  })
})
