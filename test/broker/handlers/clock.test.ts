/**
 * BrokerOptions.clock drives every protocol timer: keep alive, connect timeout, will delay, session
 * expiry and message expiry run on a ManualClock here, in milliseconds of real time.
 */
import type {IConnackPacket, IPublishPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {ManualClock} from '../../helpers/clock.js'
import {closeAll, waitFor} from '../../helpers/mqtt.js'
import {startWire} from '../../helpers/wire.js'

afterEach(closeAll)

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('injected clock', () => {
  it('keep alive: closed once 1.5 x keep alive passes without a packet, not before', async () => {
    const clock = new ManualClock(1_000_000)
    const wire = await startWire({}, {clock})
    const c = wire.client({version: 5})
    await c.connect({clientId: 'ka', keepalive: 10})
    clock.advance(14_000)
    await tick()
    expect(c.isClosed).toBe(false)
    await c.ping() // activity at 1_014_000: the deadline moves to 1_029_000
    clock.advance(14_000)
    await tick()
    expect(c.isClosed).toBe(false)
    clock.advance(2_000)
    const disconnect = await c.next('disconnect')
    expect((disconnect as {reasonCode?: number}).reasonCode).toBe(0x8d)
    await c.waitClosed()
  })

  it('connect timeout: a socket that sends no CONNECT is closed after limits.connectTimeout', async () => {
    const clock = new ManualClock(1_000_000)
    const wire = await startWire({limits: {connectTimeout: 5}}, {clock})
    const c = wire.client()
    await tick()
    clock.advance(4_000)
    await tick()
    expect(c.isClosed).toBe(false)
    clock.advance(2_000)
    await c.waitClosed()
  })

  it('will delay and session expiry: the will goes out after its delay, the session ends at its expiry', async () => {
    const clock = new ManualClock(1_000_000)
    const wire = await startWire({}, {clock})
    const watcher = wire.client({version: 5})
    await watcher.connect({clientId: 'w', keepalive: 0})
    watcher.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'will', qos: 0}]})
    await watcher.next('suback')
    const dying = wire.client({version: 5})
    await dying.connect({
      clientId: 'd',
      keepalive: 0,
      properties: {sessionExpiryInterval: 60},
      will: {topic: 'will', payload: Buffer.from('bye'), qos: 0, retain: false, properties: {willDelayInterval: 30}},
    })
    dying.destroy()
    await waitFor(() => wire.broker.clients.size === 1, 2000, 'the client to be gone')
    clock.advance(29_000)
    await tick()
    expect(watcher.received('publish')).toEqual([])
    clock.advance(2_000)
    expect(((await watcher.next('publish')) as IPublishPacket).payload.toString()).toBe('bye')
    expect(wire.broker.store.getSession('d')).toBeDefined()
    clock.advance(30_000)
    expect(wire.broker.store.getSession('d')).toBeUndefined()
    const back = wire.client({version: 5})
    expect(((await back.connect({clientId: 'd', clean: false, properties: {sessionExpiryInterval: 60}})) as IConnackPacket).sessionPresent).toBe(false)
  })

  it('message expiry: a queued message past its expiry is dropped, the forwarded interval counts the time spent', async () => {
    const clock = new ManualClock(1_000_000)
    const wire = await startWire({}, {clock})
    const sub = wire.client({version: 5})
    await sub.connect({clientId: 's', clean: false, properties: {sessionExpiryInterval: 600}})
    sub.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'm/#', qos: 1}]})
    await sub.next('suback')
    sub.sendPacket({cmd: 'disconnect'})
    await sub.waitClosed()
    await waitFor(() => wire.broker.clients.size === 0, 2000, 'the subscriber to be gone')
    const pub = wire.client({version: 5})
    await pub.connect({clientId: 'p'})
    pub.sendPacket({cmd: 'publish', topic: 'm/short', payload: Buffer.from('1'), qos: 1, messageId: 1, retain: false, dup: false, properties: {messageExpiryInterval: 10}})
    pub.sendPacket({cmd: 'publish', topic: 'm/long', payload: Buffer.from('2'), qos: 1, messageId: 2, retain: false, dup: false, properties: {messageExpiryInterval: 100}})
    await pub.next('puback')
    await pub.next('puback')
    clock.advance(20_000)
    const again = wire.client({version: 5})
    await again.connect({clientId: 's', clean: false, properties: {sessionExpiryInterval: 600}})
    const got = (await again.next('publish')) as IPublishPacket
    expect(got.topic).toBe('m/long')
    expect(got.properties?.messageExpiryInterval).toBe(80)
    expect(wire.broker.stats.messagesExpired).toBe(1)
  })
})
