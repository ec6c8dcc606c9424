import mqtt from 'mqtt'
import {afterEach, describe, expect, it} from 'vitest'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {closeAll, collect, connect, trackClient} from '../../helpers/mqtt.js'

let broker: StartedBroker | undefined

afterEach(async () => {
  await closeAll()
  await broker?.close()
  broker = undefined
})

describe('will', () => {
  it('is published on an abnormal close, with its QoS and retain', async () => {
    broker = await startBroker()
    const watcher = await connect(broker.url, {clientId: 'w'})
    const got = collect(watcher)
    await watcher.subscribeAsync('will/#', {qos: 1})
    const dying = await connect(broker.url, {clientId: 'dying', will: {topic: 'will/dying', payload: Buffer.from('gone'), qos: 1, retain: true}})
    dying.stream.destroy()
    const [m] = await got.waitCount(1)
    expect([m.topic, String(m.payload), m.packet.qos]).toEqual(['will/dying', 'gone', 1])
    expect(broker.broker.stats.retainedMessages).toBe(1)
  })

  it('is not published after a normal DISCONNECT, but is with MQTT 5 reason 0x04', async () => {
    broker = await startBroker()
    const watcher = await connect(broker.url, {clientId: 'w'})
    const got = collect(watcher)
    await watcher.subscribeAsync('will/#')
    const polite = await connect(broker.url, {clientId: 'polite', will: {topic: 'will/polite', payload: Buffer.from('x'), qos: 0, retain: false}})
    await polite.endAsync()
    const v5 = await connect(broker.url, {protocolVersion: 5, clientId: 'v5', will: {topic: 'will/v5', payload: Buffer.from('y'), qos: 0, retain: false}})
    await v5.endAsync(false, {reasonCode: 0x04})
    const [m] = await got.waitCount(1)
    expect(m.topic).toBe('will/v5')
    expect(got.messages).toHaveLength(1)
  })

  it('MQTT 5 will delay: sent at once when the session ends first (expiry 0)', async () => {
    broker = await startBroker()
    const watcher = await connect(broker.url, {clientId: 'w'})
    const got = collect(watcher)
    await watcher.subscribeAsync('will/#')
    const c = await connect(broker.url, {
      protocolVersion: 5,
      clientId: 'delayed',
      properties: {sessionExpiryInterval: 0},
      will: {topic: 'will/delayed', payload: Buffer.from('z'), qos: 0, retain: false, properties: {willDelayInterval: 3600}},
    })
    c.stream.destroy()
    const [m] = await got.waitCount(1)
    expect(m.topic).toBe('will/delayed')
  })
})

describe('retained', () => {
  it('stores, replaces, deletes on empty payload, and sends on subscribe', async () => {
    broker = await startBroker()
    const pub = await connect(broker.url, {clientId: 'p'})
    await pub.publishAsync('r/1', 'first', {retain: true, qos: 1})
    await pub.publishAsync('r/1', 'second', {retain: true, qos: 1})
    await pub.publishAsync('r/2', 'other', {retain: true, qos: 1})
    await pub.publishAsync('r/2', '', {retain: true, qos: 1})
    expect(broker.broker.stats.retainedMessages).toBe(1)
    const sub = await connect(broker.url, {clientId: 's'})
    const got = collect(sub)
    await sub.subscribeAsync('r/#', {qos: 1})
    const [m] = await got.waitCount(1)
    expect([m.topic, String(m.payload), m.packet.retain]).toEqual(['r/1', 'second', true])
  })

  it('MQTT 5 retain handling 2 sends nothing; retain-as-published keeps the flag on live messages', async () => {
    broker = await startBroker()
    const pub = await connect(broker.url, {clientId: 'p', protocolVersion: 5})
    await pub.publishAsync('k', 'kept', {retain: true, qos: 1})
    const sub = await connect(broker.url, {clientId: 's', protocolVersion: 5})
    const got = collect(sub)
    await sub.subscribeAsync('k', {qos: 1, rh: 2, rap: true})
    await pub.publishAsync('k', 'live', {retain: true, qos: 1})
    const [m] = await got.waitCount(1)
    expect([String(m.payload), m.packet.retain]).toEqual(['live', true])
    expect(got.messages).toHaveLength(1)
  })

  it('3.1.1 clears RETAIN on live forwarded messages', async () => {
    broker = await startBroker()
    const sub = await connect(broker.url, {clientId: 's'})
    const got = collect(sub)
    await sub.subscribeAsync('k')
    const pub = mqtt.connect(broker.url, {clientId: 'p', reconnectPeriod: 0})
    trackClient(pub)
    await pub.publishAsync('k', 'live', {retain: true})
    const [m] = await got.waitCount(1)
    expect(m.packet.retain).toBe(false)
  })
})
