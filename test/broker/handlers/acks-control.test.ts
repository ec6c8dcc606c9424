/**
 * handlers/acks.ts (PUBACK/PUBREC/PUBREL/PUBCOMP), handlers/control.ts (PINGREQ, DISCONNECT, AUTH) and
 * dispatch.ts (packet order rules) over in-memory pairs.
 */
import type {IPublishPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {handlePuback} from '../../../src/broker/handlers/acks.js'
import {handlePingreq} from '../../../src/broker/handlers/control.js'
import {dispatch} from '../../../src/broker/dispatch.js'
import {closeAll} from '../../helpers/mqtt.js'
import {codeOf, type RawClient} from '../../helpers/raw.js'
import {startWire, type Wire} from '../../helpers/wire.js'

afterEach(closeAll)

async function receiver(wire: Wire, id: string, qos: 1 | 2, receiveMaximum?: number): Promise<RawClient> {
  const r = wire.client({version: 5})
  await r.connect({clientId: id, properties: receiveMaximum === undefined ? undefined : {receiveMaximum}})
  r.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'a', qos}]})
  await r.next('suback')
  return r
}

describe('ack handlers', () => {
  it('exported for the dispatcher', () => {
    expect([typeof handlePuback, typeof handlePingreq, typeof dispatch]).toEqual(['function', 'function', 'function'])
  })

  it('PUBACK frees the in-flight slot and the queue moves on (client receive maximum 1)', async () => {
    const wire = await startWire()
    const r = await receiver(wire, 'r', 1, 1)
    for (const p of ['1', '2', '3']) wire.broker.publish('a', p, {qos: 1})
    const first = (await r.next('publish')) as IPublishPacket
    const session = wire.broker.store.getSession('r')!
    expect([session.inflight?.size, session.queue?.length]).toEqual([1, 2])
    r.sendPacket({cmd: 'puback', messageId: first.messageId})
    const second = (await r.next('publish')) as IPublishPacket
    expect(second.payload.toString()).toBe('2')
    r.sendPacket({cmd: 'puback', messageId: 9999}) // unknown id: ignored
    r.sendPacket({cmd: 'pingreq'})
    await r.next('pingresp')
    expect(session.inflight?.size).toBe(1)
  })

  it('QoS 2 outbound: PUBREC -> PUBREL -> PUBCOMP; an unknown PUBREC gets PUBREL 0x92; an error PUBREC ends it without PUBREL [MQTT-4.3.3-4]', async () => {
    const wire = await startWire()
    const r = await receiver(wire, 'r2', 2)
    wire.broker.publish('a', 'x', {qos: 2})
    const p = (await r.next('publish')) as IPublishPacket
    r.sendPacket({cmd: 'pubrec', messageId: p.messageId})
    expect(((await r.next('pubrel')) as {messageId: number}).messageId).toBe(p.messageId)
    expect(wire.broker.store.getSession('r2')!.inflight!.get(p.messageId!)!.released).toBe(true)
    r.sendPacket({cmd: 'pubcomp', messageId: p.messageId})
    r.sendPacket({cmd: 'pubrec', messageId: 777})
    expect(codeOf(await r.next('pubrel'))).toBe(0x92)
    expect(wire.broker.store.getSession('r2')!.inflight).toBeUndefined()
    wire.broker.publish('a', 'y', {qos: 2})
    const q = (await r.next('publish')) as IPublishPacket
    r.sendPacket({cmd: 'pubrec', messageId: q.messageId, reasonCode: 0x80})
    r.sendPacket({cmd: 'pingreq'})
    await r.next('pingresp')
    expect(r.unread('pubrel')).toEqual([])
    expect(wire.broker.store.getSession('r2')!.inflight).toBeUndefined()
  })

  it('QoS 2 inbound: PUBREL answers PUBCOMP and frees the id; an unknown id gets PUBCOMP 0x92 (MQTT 5), a plain PUBCOMP (3.1.1)', async () => {
    const wire = await startWire()
    for (const version of [5, 4] as const) {
      const c = wire.client({version})
      await c.connect({clientId: `in${version}`})
      c.sendPacket({cmd: 'publish', topic: 'z', payload: Buffer.from('x'), qos: 2, messageId: 5, retain: false, dup: false})
      await c.next('pubrec')
      c.sendPacket({cmd: 'pubrel', messageId: 5})
      expect(codeOf(await c.next('pubcomp')) ?? 0).toBe(0)
      c.sendPacket({cmd: 'pubrel', messageId: 5})
      expect(codeOf(await c.next('pubcomp')) ?? 0).toBe(version === 5 ? 0x92 : 0)
      expect(wire.broker.clients.get(`in${version}`)!.session!.incoming).toBeUndefined()
    }
  })
})

describe('control handlers and dispatch rules', () => {
  it('DISCONNECT 0x00 drops the will; 0x04 publishes it; MQTT 5 may shorten the session expiry, not raise it from 0 (0x82)', async () => {
    const wire = await startWire()
    const watcher = await receiver(wire, 'w', 1)
    const will = {topic: 'a', payload: Buffer.from('will'), qos: 1 as const, retain: false}
    const polite = wire.client({version: 5})
    await polite.connect({clientId: 'polite', will})
    polite.sendPacket({cmd: 'disconnect', reasonCode: 0})
    await polite.waitClosed()
    const withWill = wire.client({version: 5})
    await withWill.connect({clientId: 'ww', will})
    withWill.sendPacket({cmd: 'disconnect', reasonCode: 0x04})
    expect(((await watcher.next('publish')) as IPublishPacket).payload.toString()).toBe('will')
    const keep = wire.client({version: 5})
    await keep.connect({clientId: 'keep', clean: false, properties: {sessionExpiryInterval: 300}})
    keep.sendPacket({cmd: 'disconnect', reasonCode: 0, properties: {sessionExpiryInterval: 10}})
    await keep.waitClosed()
    expect(wire.broker.store.getSession('keep')!.expiryInterval).toBe(10)
    const zero = wire.client({version: 5})
    await zero.connect({clientId: 'zero'})
    zero.sendPacket({cmd: 'disconnect', reasonCode: 0, properties: {sessionExpiryInterval: 10}})
    expect(codeOf(await zero.next('disconnect'))).toBe(0x82)
  })

  it('AUTH without an authentication method is a protocol error [MQTT-4.12.0-7]; PINGREQ is answered', async () => {
    const wire = await startWire()
    const c = wire.client({version: 5})
    await c.connect({clientId: 'a'})
    await c.ping()
    c.sendPacket({cmd: 'auth', reasonCode: 0x18, properties: {authenticationMethod: 'x'}} as never)
    expect(codeOf(await c.next('disconnect'))).toBe(0x82)
  })

  it('CONNECT first [MQTT-3.1.0-1] and only once [MQTT-3.1.0-2]; server-to-client packets from a client are protocol errors', async () => {
    const wire = await startWire()
    const early = wire.client({version: 4})
    early.sendPacket({cmd: 'pingreq'})
    await early.waitClosed()
    expect(early.packets).toEqual([])
    const twice = wire.client({version: 5})
    await twice.connect({clientId: 't'})
    twice.sendPacket(twice.connectPacket({clientId: 't'}))
    expect(codeOf(await twice.next('disconnect'))).toBe(0x82)
    const odd = wire.client({version: 5})
    await odd.connect({clientId: 'o'})
    odd.sendPacket({cmd: 'suback', messageId: 1, granted: [0]} as never)
    expect(codeOf(await odd.next('disconnect'))).toBe(0x82)
  })
})
