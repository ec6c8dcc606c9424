/** handlers/publish.ts over in-memory pairs: aliases, property and flag checks, QoS 2 duplicates, receive maximum, retain. */
import type {IPublishPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {handlePublish} from '../../../src/broker/handlers/publish.js'
import {closeAll} from '../../helpers/mqtt.js'
import {codeOf, type RawClient} from '../../helpers/raw.js'
import {startWire, type Wire} from '../../helpers/wire.js'

afterEach(closeAll)

const pub = (topic: string, payload: string, extra: Record<string, unknown> = {}) => ({cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false, ...extra})

async function subscriber(wire: Wire, filter: string): Promise<RawClient> {
  const s = wire.client({version: 5})
  await s.connect({clientId: `sub-${filter}`})
  s.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: filter, qos: 2}]})
  await s.next('suback')
  return s
}

describe('PUBLISH handler', () => {
  it('is the function the dispatcher calls for PUBLISH', () => {
    expect(typeof handlePublish).toBe('function')
  })

  it('topic aliases: set, then used with an empty topic; unknown alias 0x82, alias above the maximum 0x94', async () => {
    const wire = await startWire({limits: {topicAliasMaximum: 4}})
    const sub = await subscriber(wire, 'al/#')
    const c = wire.client({version: 5})
    await c.connect({clientId: 'p'})
    c.sendPacket(pub('al/x', '1', {properties: {topicAlias: 2}}))
    c.sendPacket(pub('', '2', {properties: {topicAlias: 2}}))
    await sub.next('publish')
    expect(((await sub.next('publish')) as IPublishPacket).topic).toBe('al/x')
    c.sendPacket(pub('', '3', {properties: {topicAlias: 3}}))
    expect(codeOf(await c.next('disconnect'))).toBe(0x82)
    const d = wire.client({version: 5})
    await d.connect({clientId: 'q'})
    d.sendPacket(pub('al/y', '4', {properties: {topicAlias: 5}}))
    expect(codeOf(await d.next('disconnect'))).toBe(0x94)
  })

  it('a wildcard topic or DUP on QoS 0 close the connection (0x90 / 0x81); so does a subscription identifier from a client [MQTT-3.3.4-6]', async () => {
    const wire = await startWire()
    for (const [packet, codes] of [
      [pub('t/+', 'x'), [0x90]],
      [pub('t', 'x', {dup: true}), [0x81]],
      // The frame validator (protocol/validate.ts) may see it first (0x81); the handler says 0x82.
      [pub('t', 'x', {properties: {subscriptionIdentifier: 3}}), [0x81, 0x82]],
    ] as const) {
      const c = wire.client({version: 5})
      await c.connect({clientId: `c${codes[0]}`})
      c.sendPacket(packet)
      expect(codes).toContain(codeOf(await c.next('disconnect')))
    }
    expect(wire.broker.stats.protocolErrors).toBe(3)
  })

  it('QoS 2: a repeated packet id awaiting PUBREL is answered again but routed once; past the receive maximum 0x93', async () => {
    const wire = await startWire({limits: {receiveMaximum: 2}})
    const sub = await subscriber(wire, 'q2')
    const c = wire.client({version: 5})
    await c.connect({clientId: 'p'})
    c.sendPacket(pub('q2', 'once', {qos: 2, messageId: 1}))
    c.sendPacket(pub('q2', 'once', {qos: 2, messageId: 1, dup: true}))
    await c.next('pubrec')
    await c.next('pubrec')
    c.sendPacket({cmd: 'pingreq'})
    await c.next('pingresp')
    expect(sub.received('publish')).toHaveLength(1)
    c.sendPacket(pub('q2', 'two', {qos: 2, messageId: 2}))
    await c.next('pubrec')
    c.sendPacket(pub('q2', 'three', {qos: 2, messageId: 3}))
    expect(codeOf(await c.next('disconnect'))).toBe(0x93)
  })

  it('RETAIN stores the message with its own bytes; an empty retained payload deletes it', async () => {
    const wire = await startWire()
    const c = wire.client({version: 4})
    await c.connect({clientId: 'r'})
    c.sendPacket(pub('keep', 'v1', {retain: true, qos: 1, messageId: 1}))
    await c.next('puback')
    const stored = wire.broker.store.matchRetained('keep', wire.broker.clock.now())
    expect(stored.map((m) => m.payload.toString())).toEqual(['v1'])
    expect(stored[0].payload.buffer.byteLength).toBe(2)
    expect(wire.broker.stats.retainedMessages).toBe(1)
    c.sendPacket(pub('keep', '', {retain: true, qos: 1, messageId: 2}))
    await c.next('puback')
    expect(wire.broker.store.retainedCount).toBe(0)
  })
})
