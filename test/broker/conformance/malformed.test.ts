/**
 * Hand-built bad bytes over raw sockets. Each case must close only the offending connection, leave
 * other clients working, and count a protocol error; a seeded fuzz loop must not crash the broker.
 */
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {closeAll, collect, connect, type Inbox, type MqttClient, uniqueTopic} from '../../helpers/mqtt.js'
import {frame, mqttString, RawClient, rawConnect, seededRandom} from '../../helpers/raw.js'
import {startSharedTarget, type Target} from './target.js'

const MAX_PACKET = 1024

let target: Target
let bystander: MqttClient
let bystanderInbox: Inbox
let bystanderTopic: string
beforeAll(async () => {
  target = await startSharedTarget({limits: {maxPacketSize: MAX_PACKET}})
})
afterAll(async () => {
  await target.close()
})
afterEach(closeAll)

/** Cases sent after a valid CONNECT (3.1.1). */
const AFTER_CONNECT: Array<[string, Buffer]> = [
  ['remaining length with 5 continuation bytes [MQTT-2.2.3]', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])],
  ['SUBSCRIBE with fixed-header flags 0 instead of 2 [MQTT-3.8.1-1]', frame(0x80, [0x00, 0x01, ...mqttString('a/b'), 0x00])],
  ['PUBREL with fixed-header flags 0 instead of 2 [MQTT-3.6.1-1]', frame(0x60, [0x00, 0x01])],
  ['PUBLISH with QoS 3 [MQTT-3.3.1-4]', frame(0x36, [...mqttString('a/b'), 0x00, 0x01, 0x78])],
  ['PUBLISH QoS 1 with packet id 0 [MQTT-2.3.1-1]', frame(0x32, [...mqttString('a/b'), 0x00, 0x00, 0x78])],
  ['PUBLISH topic with invalid UTF-8 (ED A0 80, a surrogate) [MQTT-1.5.3-1]', frame(0x30, [...mqttString([0x61, 0xed, 0xa0, 0x80]), 0x78])],
  ['PUBLISH topic containing U+0000 [MQTT-1.5.3-2]', frame(0x30, [...mqttString([0x61, 0x00, 0x62]), 0x78])],
  ['PUBLISH topic with a + wildcard [MQTT-3.3.2-2]', frame(0x30, [...mqttString('a/+'), 0x78])],
  ['PUBLISH topic with a # wildcard [MQTT-3.3.2-2]', frame(0x30, [...mqttString('a/#'), 0x78])],
  ['PUBLISH with an empty topic [MQTT-4.7.3-1]', frame(0x30, [...mqttString(''), 0x78])],
  ['packet larger than limits.maxPacketSize', frame(0x30, [...mqttString('a/b'), ...Buffer.alloc(MAX_PACKET + 100, 0x61)])],
  ['a second CONNECT [MQTT-3.1.0-2]', rawConnect({payload: mqttString('again')})],
  ['reserved packet type 0', Buffer.from([0x00, 0x00])],
  ['PINGREQ with flags set', Buffer.from([0xc1, 0x00])],
]

/** Cases sent as the first bytes on a connection. */
const FIRST: Array<[string, Buffer]> = [
  ['PUBLISH before CONNECT [MQTT-3.1.0-1]', frame(0x30, [...mqttString('a/b'), 0x78])],
  ['CONNECT with protocol level 9 [MQTT-3.1.2-2]', rawConnect({level: 9})],
  ['CONNECT with the reserved flag set [MQTT-3.1.2-3]', rawConnect({flags: 0x03})],
  ['CONNECT with an invalid UTF-8 client id [MQTT-1.5.3-1]', rawConnect({payload: mqttString([0x61, 0xed, 0xa0, 0x80])})],
]

async function expectOnlyThatConnectionClosed(raw: RawClient, before: number): Promise<void> {
  await raw.waitClosed()
  expect(target.broker.stats.protocolErrors, 'stats.protocolErrors').toBeGreaterThan(before)
  // The bystander still publishes and receives.
  const marker = `alive-${Math.random()}`
  await bystander.publishAsync(bystanderTopic, marker, {qos: 1})
  await bystanderInbox.waitPayload(marker)
}

describe('malformed and illegal packets', () => {
  beforeEach(async () => {
    bystander = await connect(target.url) // closed by closeAll after each test
    bystanderInbox = collect(bystander)
    bystanderTopic = uniqueTopic('bystander')
    await bystander.subscribeAsync(bystanderTopic, {qos: 1})
  })

  it.each(AFTER_CONNECT)('after CONNECT: %s', async (_name, bytes) => {
    const raw = await RawClient.open(target.port)
    await raw.connect()
    const before = target.broker.stats.protocolErrors
    raw.send(bytes)
    await expectOnlyThatConnectionClosed(raw, before)
    expect(raw.received('puback').length + raw.received('suback').length + raw.received('pubcomp').length).toBe(0)
  })

  it.each(FIRST)('first packet: %s', async (_name, bytes) => {
    const before = target.broker.stats.protocolErrors
    const raw = await RawClient.open(target.port)
    raw.send(bytes)
    await expectOnlyThatConnectionClosed(raw, before)
    for (const connack of raw.received('connack')) expect((connack as {returnCode?: number}).returnCode).not.toBe(0)
  })

  it('a wildcard-topic PUBLISH is not delivered to a matching subscriber', async () => {
    const root = uniqueTopic('wildpub')
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync(`${root}/#`, {qos: 0})
    const raw = await RawClient.open(target.port)
    await raw.connect()
    raw.send(frame(0x30, [...mqttString(`${root}/+`), 0x78]))
    await raw.waitClosed()
    const pub = await connect(target.url)
    await pub.publishAsync(`${root}/sentinel`, 'sentinel', {qos: 0})
    await inbox.waitPayload('sentinel')
    expect(inbox.payloads()).toEqual(['sentinel'])
  })
})

describe('seeded fuzz', () => {
  it('300 random byte strings after a valid CONNECT never crash the broker; a fresh client is still served', async () => {
    const random = seededRandom(0x5eed)
    const cases = Array.from({length: 300}, () => {
      const length = 1 + Math.floor(random() * 64)
      return Buffer.from(Array.from({length}, () => Math.floor(random() * 256)))
    })
    for (let start = 0; start < cases.length; start += 50) {
      await Promise.all(
        cases.slice(start, start + 50).map(async (bytes) => {
          const raw = await RawClient.open(target.port)
          await raw.connect({keepalive: 0})
          raw.send(bytes)
          // Half-close: the broker reads the garbage, then our FIN, and must close its side.
          raw.socket.end()
          await raw.waitClosed()
        }),
      )
    }
    const topic = uniqueTopic('after-fuzz')
    const sub = await connect(target.url)
    const inbox = collect(sub)
    await sub.subscribeAsync(topic, {qos: 1})
    const pub = await connect(target.url, {version: 5})
    await pub.publishAsync(topic, 'still alive', {qos: 1})
    await inbox.waitPayload('still alive')
  }, 60_000)
})
