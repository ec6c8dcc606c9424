/**
 * The store-durability seam: PUBACK / PUBREC of a QoS 1/2 PUBLISH, PUBREL and PUBCOMP of QoS 2, SUBACK and CONNACK wait for
 * store.whenDurable when the operation advanced store.writeSeq; acks stay in order; a failed write is
 * refused (MQTT 5 0x97 on PUBACK/PUBREC, 0x80 on SUBACK/CONNACK; 3.1.1 closes); a degraded store
 * refuses new work that needs the disk. Socket-free: a ManualStore released by hand, over wire pairs.
 */
import type {IConnackPacket, IPubackPacket, ISubackPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import type {BrokerImpl} from '../../../src/broker/broker.js'
import {ManualStore} from '../../helpers/fakes.js'
import {closeAll, waitFor} from '../../helpers/mqtt.js'
import type {RawClient} from '../../helpers/raw.js'
import {startWire, type Wire} from '../../helpers/wire.js'

afterEach(closeAll)

async function setup(): Promise<{wire: Wire; store: ManualStore; broker: BrokerImpl}> {
  const store = new ManualStore()
  const wire = await startWire({}, {store})
  return {wire, store, broker: wire.broker}
}

/** A persistent subscriber on `filter` that then goes offline: messages on it now need the disk. */
async function offlinePersistentSubscriber(wire: Wire, store: ManualStore, filter: string): Promise<void> {
  const sub = wire.client({version: 5})
  const connecting = sub.connect({clientId: 'persistent', clean: false, properties: {sessionExpiryInterval: 3600}})
  await waitFor(() => store.pending > 0, 2000, 'CONNACK to wait for the store')
  store.release()
  expect((await connecting).reasonCode).toBe(0)
  sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: filter, qos: 1}]})
  await waitFor(() => store.pending > 0, 2000, 'SUBACK to wait for the store')
  store.release()
  await sub.next('suback')
  sub.sendPacket({cmd: 'disconnect'})
  await sub.waitClosed()
  await waitFor(() => wire.broker.clients.size === 0, 2000, 'the subscriber to be gone')
  store.release()
}

const connOf = (broker: BrokerImpl, clientId: string) => broker.clients.get(clientId)!

describe('durability seam: acks wait for the store', () => {
  it('PUBACK of a QoS 1 message for a persistent session waits for whenDurable; PINGRESP after it stays behind it', async () => {
    const {wire, store, broker} = await setup()
    await offlinePersistentSubscriber(wire, store, 'd/#')
    const pub = wire.client({version: 5})
    await pub.connect({clientId: 'pub'}) // clean session: nothing to journal, CONNACK at once
    pub.sendPacket({cmd: 'publish', topic: 'd/1', payload: Buffer.from('x'), qos: 1, messageId: 10, retain: false, dup: false})
    pub.sendPacket({cmd: 'pingreq'})
    await waitFor(() => connOf(broker, 'pub').acksWaiting === 1 && broker.stats.packetsReceived >= 6, 2000, 'the PUBACK to wait')
    expect(pub.received('puback')).toEqual([])
    expect(pub.received('pingresp')).toEqual([])
    store.release()
    const puback = (await pub.next('puback')) as IPubackPacket
    expect(puback.messageId).toBe(10)
    await pub.next('pingresp')
    expect(pub.packets.map((p) => p.cmd)).toEqual(['connack', 'puback', 'pingresp'])
    expect(broker.store.getSession('persistent')!.queue!.length).toBe(1)
  })

  it('a QoS 1 message with only clean-session recipients is acknowledged at once (writeSeq did not move)', async () => {
    const {wire, store} = await setup()
    const sub = wire.client({version: 4})
    await sub.connect({clientId: 'clean-sub'})
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'c/#', qos: 1}]})
    await sub.next('suback')
    const pub = wire.client({version: 4})
    await pub.connect({clientId: 'pub'})
    pub.sendPacket({cmd: 'publish', topic: 'c/1', payload: Buffer.from('x'), qos: 1, messageId: 3, retain: false, dup: false})
    await pub.next('puback')
    await sub.next('publish')
    expect(store.writeSeq).toBe(0)
    expect(store.waits).toBe(0)
  })

  it('acks stay in order: a PUBACK that needs no disk waits behind one that does [MQTT-4.6.0-2]', async () => {
    const {wire, store, broker} = await setup()
    await offlinePersistentSubscriber(wire, store, 'd/#')
    const pub = wire.client({version: 4})
    await pub.connect({clientId: 'pub'})
    pub.sendPacket({cmd: 'publish', topic: 'd/1', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false})
    pub.sendPacket({cmd: 'publish', topic: 'nobody/1', payload: Buffer.from('y'), qos: 1, messageId: 2, retain: false, dup: false})
    await waitFor(() => connOf(broker, 'pub').acksWaiting === 2, 2000, 'both acks to wait')
    expect(pub.received('puback')).toEqual([])
    store.release()
    await pub.next('puback')
    await pub.next('puback')
    expect(pub.received('puback').map((p) => (p as IPubackPacket).messageId)).toEqual([1, 2])
  })

  it('a retained QoS 1 message needs the disk; whenDurable(err) answers MQTT 5 PUBACK 0x97', async () => {
    const {wire, store} = await setup()
    const pub = wire.client({version: 5})
    await pub.connect({clientId: 'pub'})
    pub.sendPacket({cmd: 'publish', topic: 'r/1', payload: Buffer.from('x'), qos: 1, messageId: 5, retain: true, dup: false})
    await waitFor(() => store.pending === 1, 2000, 'the PUBACK to wait')
    store.fail()
    const puback = (await pub.next('puback')) as IPubackPacket
    expect([puback.messageId, puback.reasonCode]).toEqual([5, 0x97])
    expect(wire.broker.stats.storeRefusals).toBe(1)
    pub.sendPacket({cmd: 'pingreq'})
    await pub.next('pingresp') // the connection goes on
  })

  it('whenDurable(err) closes a 3.1.1 publisher (it has no way to refuse a PUBLISH)', async () => {
    const {wire, store} = await setup()
    const pub = wire.client({version: 4})
    await pub.connect({clientId: 'pub'})
    pub.sendPacket({cmd: 'publish', topic: 'r/1', payload: Buffer.from('x'), qos: 1, messageId: 5, retain: true, dup: false})
    await waitFor(() => store.pending === 1, 2000, 'the PUBACK to wait')
    store.fail()
    await pub.waitClosed()
    expect(pub.received('puback')).toEqual([])
  })

  it('QoS 2: PUBREC waits; on failure MQTT 5 PUBREC 0x97 ends the exchange and frees the packet id', async () => {
    const {wire, store, broker} = await setup()
    await offlinePersistentSubscriber(wire, store, 'q2/#')
    const pub = wire.client({version: 5})
    await pub.connect({clientId: 'pub'})
    pub.sendPacket({cmd: 'publish', topic: 'q2/a', payload: Buffer.from('x'), qos: 2, messageId: 9, retain: false, dup: false})
    await waitFor(() => store.pending === 1, 2000, 'the PUBREC to wait')
    expect(pub.received('pubrec')).toEqual([])
    store.fail()
    const pubrec = await pub.next('pubrec')
    expect((pubrec as {reasonCode?: number}).reasonCode).toBe(0x97)
    expect(broker.clients.get('pub')!.session!.incoming).toBeUndefined()
    pub.sendPacket({cmd: 'publish', topic: 'q2/a', payload: Buffer.from('y'), qos: 2, messageId: 9, retain: false, dup: false})
    await waitFor(() => store.pending === 1, 2000, 'the second PUBREC to wait')
    store.release()
    expect(((await pub.next('pubrec')) as {reasonCode?: number}).reasonCode ?? 0).toBe(0)
  })

  it('QoS 2 to a persistent subscriber: PUBREL waits for "released" on disk; a failure closes the connection without it', async () => {
    const {wire, store} = await setup()
    const sub = wire.client({version: 5})
    const connecting = sub.connect({clientId: 'p2', clean: false, properties: {sessionExpiryInterval: 3600}})
    await waitFor(() => store.pending > 0, 2000, 'CONNACK to wait for the store')
    store.release()
    await connecting
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'q2/#', qos: 2}]})
    await waitFor(() => store.pending > 0, 2000, 'SUBACK to wait for the store')
    store.release()
    await sub.next('suback')
    const pub = wire.client({version: 5})
    await pub.connect({clientId: 'pub'})
    const exchange = async (messageId: number) => {
      pub.sendPacket({cmd: 'publish', topic: 'q2/a', payload: Buffer.from(String(messageId)), qos: 2, messageId, retain: false, dup: false})
      await waitFor(() => store.pending > 0, 2000, 'the PUBREC to wait')
      store.release()
      const delivered = (await sub.next('publish')) as {messageId: number}
      store.release()
      const had = sub.received('pubrel').length
      sub.sendPacket({cmd: 'pubrec', messageId: delivered.messageId})
      await waitFor(() => store.pending > 0, 2000, 'the PUBREL to wait')
      expect(sub.received('pubrel')).toHaveLength(had)
      return delivered.messageId
    }
    const first = await exchange(5)
    store.release()
    expect(((await sub.next('pubrel')) as {messageId: number}).messageId).toBe(first)
    await exchange(6)
    store.fail()
    await sub.waitClosed()
    expect(sub.received('pubrel')).toHaveLength(1)
  })

  it('QoS 2 from a persistent publisher: PUBCOMP waits for the packet id to leave the disk', async () => {
    const {wire, store} = await setup()
    const pub = wire.client({version: 4})
    const connecting = pub.connect({clientId: 'p2-pub', clean: false})
    await waitFor(() => store.pending > 0, 2000, 'CONNACK to wait for the store')
    store.release()
    await connecting
    pub.sendPacket({cmd: 'publish', topic: 'nobody/here', payload: Buffer.from('x'), qos: 2, messageId: 3, retain: false, dup: false})
    await waitFor(() => store.pending > 0, 2000, 'the PUBREC to wait')
    store.release()
    await pub.next('pubrec')
    pub.sendPacket({cmd: 'pubrel', messageId: 3})
    await waitFor(() => store.pending > 0, 2000, 'the PUBCOMP to wait')
    expect(pub.received('pubcomp')).toEqual([])
    store.release()
    expect(((await pub.next('pubcomp')) as {messageId: number}).messageId).toBe(3)
  })

  it('SUBACK of a persistent session waits; on failure MQTT 5 gets 0x80 per filter and the subscriptions are taken back', async () => {
    const {wire, store, broker} = await setup()
    const sub = wire.client({version: 5})
    const connecting = sub.connect({clientId: 's', clean: false, properties: {sessionExpiryInterval: 60}})
    await waitFor(() => store.pending === 1, 2000, 'CONNACK to wait')
    store.release()
    await connecting
    sub.sendPacket({cmd: 'subscribe', messageId: 2, subscriptions: [{topic: 'a/#', qos: 1}, {topic: 'b', qos: 0}]})
    await waitFor(() => store.pending === 1, 2000, 'SUBACK to wait')
    expect(sub.received('suback')).toEqual([])
    store.fail()
    const suback = (await sub.next('suback')) as ISubackPacket
    expect(suback.granted).toEqual([0x80, 0x80])
    expect(broker.subscriptions.size).toBe(0)
  })

  it('SUBACK failure closes a 3.1.1 client', async () => {
    const {wire, store} = await setup()
    const sub = wire.client({version: 4})
    const connecting = sub.connect({clientId: 's', clean: false})
    await waitFor(() => store.pending === 1, 2000, 'CONNACK to wait')
    store.release()
    await connecting
    sub.sendPacket({cmd: 'subscribe', messageId: 2, subscriptions: [{topic: 'a/#', qos: 1}]})
    await waitFor(() => store.pending === 1, 2000, 'SUBACK to wait')
    store.fail()
    await sub.waitClosed()
    expect(sub.received('suback')).toEqual([])
  })

  it('CONNACK of a new persistent session waits; a delivery to the client cannot overtake it [MQTT-3.2.0-1]', async () => {
    const {wire, store, broker} = await setup()
    const sub = wire.client({version: 5})
    sub.sendPacket(sub.connectPacket({clientId: 's', clean: false, properties: {sessionExpiryInterval: 60}}))
    await waitFor(() => store.pending === 1, 2000, 'CONNACK to wait')
    broker.subscriptions.add(broker.store.getSession('s')!, 'x', {qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0})
    broker.publish('x', 'early')
    expect(sub.packets).toEqual([])
    store.release()
    const connack = (await sub.next('connack')) as IConnackPacket
    expect(connack.reasonCode).toBe(0)
    await sub.next('publish')
    expect(sub.packets.map((p) => p.cmd)).toEqual(['connack', 'publish'])
  })

  it('CONNACK failure: MQTT 5 0x80, 3.1.1 return code 3, and no will', async () => {
    const {wire, store, broker} = await setup()
    const watcher = wire.client({version: 4})
    await watcher.connect({clientId: 'watcher'})
    watcher.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'will/#', qos: 0}]})
    await watcher.next('suback')
    for (const version of [5, 4] as const) {
      const c = wire.client({version})
      const connecting = c.connect({clientId: `p${version}`, clean: false, properties: version === 5 ? {sessionExpiryInterval: 60} : undefined, will: {topic: `will/${version}`, payload: Buffer.from('w'), qos: 0, retain: false}})
      await waitFor(() => store.pending === 1, 2000, 'CONNACK to wait')
      store.fail()
      const connack = await connecting
      expect(version === 5 ? connack.reasonCode : connack.returnCode).toBe(version === 5 ? 0x80 : 3)
      await c.waitClosed()
    }
    expect(broker.stats.storeRefusals).toBe(2)
    watcher.sendPacket({cmd: 'pingreq'})
    await watcher.next('pingresp')
    expect(watcher.received('publish')).toEqual([])
  })
})

describe('durability seam: a degraded store refuses new work that needs the disk', () => {
  it('QoS 1 to a persistent recipient: MQTT 5 PUBACK 0x97, 3.1.1 closed; QoS 0 and clean-only QoS 1 go on', async () => {
    const {wire, store, broker} = await setup()
    await offlinePersistentSubscriber(wire, store, 'd/#')
    store.degraded = true
    const v5 = wire.client({version: 5})
    await v5.connect({clientId: 'p5'})
    v5.sendPacket({cmd: 'publish', topic: 'd/1', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false})
    expect(((await v5.next('puback')) as IPubackPacket).reasonCode).toBe(0x97)
    v5.sendPacket({cmd: 'publish', topic: 'nobody', payload: Buffer.from('x'), qos: 1, messageId: 2, retain: false, dup: false})
    expect(((await v5.next('puback')) as IPubackPacket).reasonCode ?? 0).toBe(0)
    v5.sendPacket({cmd: 'publish', topic: 'd/1', payload: Buffer.from('x'), qos: 0, retain: false, dup: false})
    v5.sendPacket({cmd: 'pingreq'})
    await v5.next('pingresp')
    expect(broker.stats.messagesReceived).toBe(3)
    const v4 = wire.client({version: 4})
    await v4.connect({clientId: 'p4'})
    v4.sendPacket({cmd: 'publish', topic: 'd/1', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false})
    await v4.waitClosed()
    expect(broker.store.getSession('persistent')!.queue).toBeUndefined()
    expect(broker.stats.storeRefusals).toBe(2)
  })

  it('a persistent session is refused at CONNECT (MQTT 5 0x80, 3.1.1 return code 3) and its SUBSCRIBE too; clean sessions connect', async () => {
    const {wire, store} = await setup()
    const p = wire.client({version: 5})
    const connecting = p.connect({clientId: 'keep', clean: false, properties: {sessionExpiryInterval: 60}})
    await waitFor(() => store.pending === 1, 2000, 'CONNACK to wait')
    store.release()
    await connecting
    store.degraded = true
    p.sendPacket({cmd: 'subscribe', messageId: 4, subscriptions: [{topic: 'a', qos: 1}]})
    expect(((await p.next('suback')) as ISubackPacket).granted).toEqual([0x80])
    expect((await wire.client({version: 5}).connect({clientId: 'k5', clean: false, properties: {sessionExpiryInterval: 60}})).reasonCode).toBe(0x80)
    expect((await wire.client({version: 4}).connect({clientId: 'k4', clean: false})).returnCode).toBe(3)
    expect((await wire.client({version: 4}).connect({clientId: 'c4', clean: true})).returnCode).toBe(0)
  })
})

export type {RawClient}
