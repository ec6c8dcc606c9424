/** handlers/subscribe.ts and unsubscribe.ts over in-memory pairs: filter checks, deny list, retained delivery per retain handling, UNSUBACK codes. */
import type {ISubackPacket, IUnsubackPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {isDenied} from '../../../src/broker/handlers/subscribe.js'
import {handleUnsubscribe} from '../../../src/broker/handlers/unsubscribe.js'
import {closeAll} from '../../helpers/mqtt.js'
import {codeOf} from '../../helpers/raw.js'
import {startWire} from '../../helpers/wire.js'

afterEach(closeAll)

describe('SUBSCRIBE handler', () => {
  it('isDenied: a deny entry covers a filter it matches as a topic, shared or not', () => {
    expect(isDenied([], 'a')).toBe(false)
    expect(isDenied(['secret/#'], 'secret/x')).toBe(true)
    expect(isDenied(['secret/#'], '$share/g/secret/a/b')).toBe(true)
    expect(isDenied(['secret/#'], 'public/x')).toBe(false)
  })

  it('per filter: invalid 0x8F (3.1.1 0x80), denied 0x87 (3.1.1 0x80), granted QoS otherwise', async () => {
    const wire = await startWire({denySubscribe: ['secret/#']})
    for (const version of [5, 4] as const) {
      const c = wire.client({version})
      await c.connect({clientId: `s${version}`})
      c.sendPacket({cmd: 'subscribe', messageId: 9, subscriptions: [{topic: 'a/#/b', qos: 1}, {topic: 'secret/x', qos: 1}, {topic: 'ok/+', qos: 2}]})
      const suback = (await c.next('suback')) as ISubackPacket
      expect(suback.messageId).toBe(9)
      expect(suback.granted).toEqual(version === 5 ? [0x8f, 0x87, 2] : [0x80, 0x80, 2])
    }
  })

  it('protocol errors: subscription identifier 0 and No Local on a shared subscription (0x82)', async () => {
    const wire = await startWire()
    const a = wire.client({version: 5})
    await a.connect({clientId: 'a'})
    a.sendPacket({cmd: 'subscribe', messageId: 1, properties: {subscriptionIdentifier: 0}, subscriptions: [{topic: 't', qos: 0}]} as never)
    expect(codeOf(await a.next('disconnect'))).toBe(0x82)
    const b = wire.client({version: 5})
    await b.connect({clientId: 'b'})
    b.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '$share/g/t', qos: 0, nl: true}]})
    expect(codeOf(await b.next('disconnect'))).toBe(0x82)
  })

  it('retained messages after the SUBACK: retain handling 0 always, 1 only for a new subscription, 2 never; none for a shared subscription', async () => {
    const wire = await startWire()
    wire.broker.publish('r/1', 'kept', {retain: true})
    const c = wire.client({version: 5})
    await c.connect({clientId: 'c'})
    const subscribe = (messageId: number, topic: string, rh: 0 | 1 | 2) => c.sendPacket({cmd: 'subscribe', messageId, subscriptions: [{topic, qos: 1, rh}]})
    subscribe(1, 'r/#', 0)
    await c.next('suback')
    expect(((await c.next('publish')) as {retain: boolean}).retain).toBe(true)
    subscribe(2, 'r/+', 1)
    await c.next('suback')
    await c.next('publish')
    subscribe(3, 'r/+', 1) // exists now: nothing
    subscribe(4, 'r/1', 2)
    subscribe(5, '$share/g/r/1', 0)
    await c.next('suback')
    await c.next('suback')
    await c.next('suback')
    c.sendPacket({cmd: 'pingreq'})
    await c.next('pingresp')
    expect(c.received('publish')).toHaveLength(2)
    expect(c.packets.findIndex((p) => p.cmd === 'publish')).toBeGreaterThan(c.packets.findIndex((p) => p.cmd === 'suback'))
  })
})

describe('UNSUBSCRIBE handler', () => {
  it('is the function the dispatcher calls for UNSUBSCRIBE', () => {
    expect(typeof handleUnsubscribe).toBe('function')
  })

  it('MQTT 5: a reason per filter (0x00 removed, 0x11 none existed, 0x8F invalid); 3.1.1: a bare UNSUBACK; both remove from index and session', async () => {
    const wire = await startWire()
    for (const version of [5, 4] as const) {
      const c = wire.client({version})
      const id = `u${version}`
      await c.connect({clientId: id})
      c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'a/b', qos: 1}]})
      await c.next('suback')
      c.sendPacket({cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a/b', 'nope', 'bad/#/x']})
      const unsuback = (await c.next('unsuback')) as IUnsubackPacket
      expect(unsuback.messageId).toBe(2)
      if (version === 5) expect(unsuback.granted).toEqual([0x00, 0x11, 0x8f])
      expect(wire.broker.store.getSession(id)!.subscriptions.size).toBe(0)
    }
    expect(wire.broker.subscriptions.size).toBe(0)
  })
})
