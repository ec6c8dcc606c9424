/**
 * Issue 11: one limits.maxMemory episode end to end, through real sockets, on a ManualClock with an
 * injected memory probe (no real memory pressure): over the ceiling the broker refuses new connections
 * and new QoS 1/2 work with 0x97 and sheds QoS 0 towards a client with unsent bytes while a reading
 * client keeps getting everything; the episode is logged once; under 90 % it recovers by itself.
 */
import type {IConnackPacket, IPubackPacket, IPubrecPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import type {BrokerImpl} from '../../../src/broker/broker.js'
import {SAMPLE_MS} from '../../../src/broker/limits/overload.js'
import {ManualClock} from '../../helpers/clock.js'
import {closeAll, waitFor} from '../../helpers/mqtt.js'
import {RawClient} from '../../helpers/raw.js'
import {connected, hostileBroker, publishes, subscribed} from './helpers.js'

afterEach(closeAll)

const MB = 1024 * 1024
const CEILING = 512 * MB

describe('hostile: memory ceiling episode', () => {
  it('over limits.maxMemory: 0x97 for connections and QoS 1/2, QoS 0 shed to the stalled client only, one log line each way, recovery by itself', async () => {
    const clock = new ManualClock()
    const h = await hostileBroker({limits: {maxMemory: CEILING}}, {clock})
    const impl = h.broker as unknown as BrokerImpl
    let memory = 100 * MB
    impl.limits.overload.rss = () => memory

    const stalled = await subscribed(h.port, 4, 'flood', 0, {clientId: 'stalled'})
    stalled.socket.pause()
    const reader = await subscribed(h.port, 4, 'flood', 0)
    const pub5 = await connected(h.port, 5)
    const pub4 = await connected(h.port, 4)
    // Fill what the kernel absorbs towards the stalled client, until the broker holds unsent bytes for it.
    const conn = impl.clients.get('stalled')!
    const payload = Buffer.alloc(64 * 1024, 1)
    let sent = 0
    while (conn.pendingBytes === 0 && sent < 400) {
      for (let i = 0; i < 10; i++) pub4.sendPacket({cmd: 'publish', topic: 'flood', payload, qos: 0, retain: false, dup: false})
      sent += 10
      await waitFor(() => publishes(reader).length === sent, 15_000, `${sent} at the reader`)
    }
    expect(conn.pendingBytes).toBeGreaterThan(0)
    const warnsBefore = h.lines.length

    // Over the ceiling: the next sample starts an episode.
    memory = CEILING + MB
    clock.advance(SAMPLE_MS)
    expect(h.broker.stats.overloaded).toBe(1)
    expect(h.broker.stats.overloadEpisodes).toBe(1)
    clock.advance(5 * SAMPLE_MS) // still over: no second line, no second episode
    expect(h.broker.stats.overloadEpisodes).toBe(1)
    expect(h.lines.slice(warnsBefore).filter((l) => l.includes('limits.maxMemory'))).toHaveLength(1)

    const refused5 = await RawClient.open(h.port, {version: 5})
    expect(((await refused5.connect()) as IConnackPacket).reasonCode).toBe(0x97)
    const refused4 = await RawClient.open(h.port, {version: 4})
    expect(((await refused4.connect()) as IConnackPacket).returnCode).toBe(3)

    pub5.sendPacket({cmd: 'publish', topic: 'flood', payload: Buffer.from('q1'), qos: 1, messageId: 1, retain: false, dup: false})
    expect(((await pub5.next('puback')) as IPubackPacket).reasonCode).toBe(0x97)
    pub5.sendPacket({cmd: 'publish', topic: 'flood', payload: Buffer.from('q2'), qos: 2, messageId: 2, retain: false, dup: false})
    expect(((await pub5.next('pubrec')) as IPubrecPacket).reasonCode).toBe(0x97)

    // QoS 0 still flows to the reader; towards the stalled client (unsent bytes) it is shed, counted.
    const held = conn.pendingBytes
    const dropped = h.broker.stats.messagesDropped
    for (let i = 0; i < 20; i++) pub4.sendPacket({cmd: 'publish', topic: 'flood', payload: Buffer.from(`z${i}`), qos: 0, retain: false, dup: false})
    await waitFor(() => publishes(reader).length === sent + 20, 15_000, 'the 20 QoS 0 at the reader')
    expect(h.broker.stats.messagesDropped - dropped).toBe(20)
    expect(conn.pendingBytes).toBeLessThanOrEqual(held)
    // The refused QoS 1/2 were not routed.
    expect(publishes(reader).some((p) => p.payload.toString() === 'q1' || p.payload.toString() === 'q2')).toBe(false)

    // Under 90 % of the ceiling: the next sample ends the episode, one line; everything is accepted again.
    memory = CEILING * 0.95
    clock.advance(SAMPLE_MS)
    expect(h.broker.stats.overloaded).toBe(1) // hysteresis: 95 % is not low enough
    memory = CEILING * 0.5
    clock.advance(SAMPLE_MS)
    expect(h.broker.stats.overloaded).toBe(0)
    expect(h.lines.slice(warnsBefore).filter((l) => l.includes('limits.maxMemory'))).toHaveLength(2)
    const welcome = await RawClient.open(h.port, {version: 5})
    expect(((await welcome.connect()) as IConnackPacket).reasonCode).toBe(0)
    pub5.sendPacket({cmd: 'publish', topic: 'flood', payload: Buffer.from('q1 again'), qos: 1, messageId: 3, retain: false, dup: false})
    expect(((await pub5.next('puback')) as IPubackPacket).reasonCode ?? 0).toBe(0)
    await waitFor(() => publishes(reader).some((p) => p.payload.toString() === 'q1 again'), 5000, 'the QoS 1 routed again')
    expect(h.broker.stats.overloadEpisodes).toBe(1)
    expect(h.errors()).toEqual([])
  })
})
