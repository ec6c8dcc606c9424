import {afterEach, describe, expect, it} from 'vitest'
import {type StartedBroker, startBroker} from '../../helpers/broker.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {ManualClock} from '../../helpers/clock.js'
import {RawClient} from '../../helpers/raw.js'

let broker: StartedBroker | undefined
const raws: RawClient[] = []
async function raw(version = 4): Promise<RawClient> {
  const r = await RawClient.open(broker!.port, {version: version as 3 | 4 | 5})
  raws.push(r)
  return r
}

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy()
  await broker?.close()
  broker = undefined
})

describe('protocol rules', () => {
  it('closes a connection whose first packet is not CONNECT', async () => {
    broker = await startBroker()
    const c = await raw()
    c.sendPacket({cmd: 'pingreq'})
    await c.waitClosed()
    expect(c.unread()).toEqual([])
  })

  it('a second CONNECT closes the connection (v5: DISCONNECT 0x82)', async () => {
    broker = await startBroker()
    const c = await raw(5)
    await c.connect({clientId: 'twice'})
    c.sendPacket({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'twice', clean: true, keepalive: 0})
    const d = await c.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x82)
    await c.waitClosed()
  })

  it('answers an unknown protocol level with CONNACK 1', async () => {
    broker = await startBroker()
    const c = await raw()
    // CONNECT, protocol "MQTT" level 6
    c.send(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x06, 0x02, 0x00, 0x00, 0x00, 0x00]))
    const ack = await c.next('connack')
    expect((ack as {returnCode: number}).returnCode).toBe(1)
    await c.waitClosed()
  })

  it('refuses an empty client id without clean session (3.1.1: CONNACK 2)', async () => {
    broker = await startBroker()
    const c = await raw()
    c.send(Buffer.from([0x10, 0x0c, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00]))
    const ack = await c.next('connack')
    expect((ack as {returnCode: number}).returnCode).toBe(2)
  })

  it('survives garbage bytes and stays responsive', async () => {
    broker = await startBroker()
    for (const bytes of [[0xff, 0xff, 0xff, 0xff, 0xff], [0x10, 0xff, 0xff, 0xff, 0xff, 0x7f], [0x30, 0x03, 0x00, 0x05, 0x61], [0x00]]) {
      const c = await raw()
      c.send(Buffer.from(bytes))
      c.socket.end()
    }
    const ok = await raw()
    const ack = await ok.connect({clientId: 'alive'})
    expect((ack as {returnCode: number}).returnCode).toBe(0)
  })

  it('v5: a malformed packet after CONNECT gets DISCONNECT 0x81; invalid UTF-8 in a topic too', async () => {
    broker = await startBroker()
    const c = await raw(5)
    await c.connect({clientId: 'bad-utf8'})
    // PUBLISH QoS 0, topic "a\xff", no properties, payload "x"
    c.send(Buffer.from([0x30, 0x07, 0x00, 0x02, 0x61, 0xff, 0x00, 0x78, 0x78]))
    const d = await c.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x81)
    expect(broker.broker.stats.protocolErrors).toBe(1)
  })

  it('v5: a packet above the maximum packet size gets DISCONNECT 0x95', async () => {
    broker = await startBroker({limits: {maxPacketSize: 128}})
    const c = await raw(5)
    const ack = await c.connect({clientId: 'big'})
    expect((ack as {properties?: {maximumPacketSize?: number}}).properties?.maximumPacketSize).toBe(128)
    c.sendPacket({cmd: 'publish', topic: 't', payload: Buffer.alloc(500), qos: 0, retain: false, dup: false})
    const d = await c.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x95)
  })

  it('v5: PUBLISH with a wildcard topic gets DISCONNECT 0x90', async () => {
    broker = await startBroker()
    const c = await raw(5)
    await c.connect({clientId: 'wild'})
    c.sendPacket({cmd: 'publish', topic: 'a/+', payload: Buffer.from('x'), qos: 0, retain: false, dup: false})
    const d = await c.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x90)
  })

  it('v5: AUTH without enhanced authentication is a protocol error; an auth method in CONNECT gets 0x8C', async () => {
    broker = await startBroker()
    const a = await raw(5)
    const ack = await a.connect({clientId: 'auth', properties: {authenticationMethod: 'SCRAM-SHA-1'}})
    expect((ack as {reasonCode: number}).reasonCode).toBe(0x8c)
    const b = await raw(5)
    await b.connect({clientId: 'auth2'})
    b.sendPacket({cmd: 'auth', reasonCode: 0x18, properties: {authenticationMethod: 'x'}} as never)
    const d = await b.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x82)
  })

  it('v5: more unacknowledged QoS 2 than the receive maximum gets DISCONNECT 0x93', async () => {
    broker = await startBroker({limits: {receiveMaximum: 2}})
    const c = await raw(5)
    const ack = await c.connect({clientId: 'flood'})
    expect((ack as {properties?: {receiveMaximum?: number}}).properties?.receiveMaximum).toBe(2)
    for (let id = 1; id <= 3; id++) c.sendPacket({cmd: 'publish', topic: 'q', payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false})
    const d = await c.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x93)
  })

  it('QoS 2 exactly once: a duplicate PUBLISH before PUBREL is not routed twice', async () => {
    broker = await startBroker()
    const sub = await raw()
    await sub.connect({clientId: 'sub'})
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'eo', qos: 0}]})
    await sub.next('suback')
    const c = await raw()
    await c.connect({clientId: 'pub'})
    const p = {cmd: 'publish', topic: 'eo', payload: Buffer.from('x'), qos: 2, messageId: 7, retain: false, dup: false} as const
    c.sendPacket(p)
    await c.next('pubrec')
    c.sendPacket({...p, dup: true})
    await c.next('pubrec')
    c.sendPacket({cmd: 'pubrel', messageId: 7})
    await c.next('pubcomp')
    c.sendPacket({cmd: 'pingreq'})
    await c.next('pingresp')
    expect(broker.broker.stats.messagesSent).toBe(1)
  })

  it('closes a socket that never sends CONNECT after the connect timeout', async () => {
    broker = await startBroker({limits: {connectTimeout: 1}})
    const c = await raw()
    await c.waitClosed()
    expect(c.unread()).toEqual([])
  })

  it('closes a client silent for 1.5x its keep alive (v5: DISCONNECT 0x8D)', async () => {
    const clock = new ManualClock()
    broker = await startBroker({}, {clock})
    const c = await raw(5)
    await c.connect({clientId: 'sleepy', keepalive: 1})
    clock.advance(2600) // 1.5 s, plus the deadline wheel's one-second granularity
    const d = await c.next('disconnect')
    expect((d as {reasonCode: number}).reasonCode).toBe(0x8d)
  })

  it('announces a lower maximum keep alive to v5 clients as server keep alive', async () => {
    broker = await startBroker({limits: {maxKeepAlive: 30}})
    const c = await raw(5)
    const ack = await c.connect({clientId: 'ka', keepalive: 600})
    expect((ack as {properties?: {serverKeepAlive?: number}}).properties?.serverKeepAlive).toBe(30)
  })

  it('refuses connections beyond maxConnections (3.1.1: CONNACK 3, v5: 0x97) and logs it', async () => {
    const logger = memoryLogger('info')
    broker = await startBroker({maxConnections: 1}, {logger})
    const a = await raw()
    await a.connect({clientId: 'one'})
    const b = await raw()
    expect(((await b.connect({clientId: 'two'})) as {returnCode: number}).returnCode).toBe(3)
    const c = await raw(5)
    expect(((await c.connect({clientId: 'three'})) as {reasonCode: number}).reasonCode).toBe(0x97)
    expect(logger.lines.some((l) => /WARN: Connection limit reached/.test(l))).toBe(true)
    expect(broker.broker.stats.connectionsRefused).toBe(2)
    a.sendPacket({cmd: 'pingreq'})
    await a.next('pingresp')
  })

  it('SUBACK 0x80 for a denied or invalid filter', async () => {
    broker = await startBroker({denySubscribe: ['secret/#']})
    const c = await raw()
    await c.connect({clientId: 's'})
    c.sendPacket({cmd: 'subscribe', messageId: 3, subscriptions: [{topic: 'secret/x', qos: 1}, {topic: 'a/#/b', qos: 1}, {topic: 'ok/+', qos: 2}]})
    const ack = await c.next('suback')
    expect((ack as {granted: number[]}).granted).toEqual([0x80, 0x80, 2])
  })
})
