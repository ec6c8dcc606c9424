/**
 * Issue 11: every structure a client can grow has a limit; at the limit that client gets the
 * specified reason code, a counter moves, and nobody else notices.
 */
import net from 'node:net'
import type mqtt from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import {DEFAULT_CONFIG} from '../../../src/config/index.js'
import {ManualClock} from '../../helpers/clock.js'
import {closeAll, track, waitFor} from '../../helpers/mqtt.js'
import {RawClient, codeOf} from '../../helpers/raw.js'
import {connected, hostileBroker, publishes, subscribed} from './helpers.js'

afterEach(closeAll)

/** Opens n sockets in batches (tracked: closed by closeAll). */
async function sockets(port: number, n: number, localAddress?: string): Promise<net.Socket[]> {
  const out: net.Socket[] = []
  for (let i = 0; i < n; i += 250) {
    const batch = await Promise.all(
      Array.from({length: Math.min(250, n - i)}, () => new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({host: '127.0.0.1', port, localAddress}, () => resolve(s))
        s.on('error', () => {})
        s.once('error', reject)
      })),
    )
    out.push(...batch)
  }
  track({close: async () => out.forEach((s) => s.destroy())})
  return out
}

describe('hostile limits', () => {
  it('defaults: receive maximum announced in CONNACK, sessions expire, aliases and pending sockets bounded', () => {
    const l = DEFAULT_CONFIG.limits
    expect(l.receiveMaximum).toBeLessThanOrEqual(100)
    expect(l.maxSessionExpiry).toBeLessThan(0xffffffff)
    expect(l.topicAliasMaximum).toBeLessThanOrEqual(100)
    for (const key of ['maxPendingConnects', 'maxSubscriptionsPerClient', 'maxSessions', 'maxRetainedMessages', 'maxRetainedBytes', 'maxAliasBytes', 'matchCacheBytes'] as const) {
      expect(l[key], key).toBeGreaterThan(0)
    }
  })

  it('CONNACK announces the receive maximum; the broker keeps to the client\'s towards it', async () => {
    const h = await hostileBroker({limits: {receiveMaximum: 5}})
    const c = await RawClient.open(h.port, {version: 5})
    const ack = (await c.connect({properties: {receiveMaximum: 5}})) as mqtt.IConnackPacket
    expect(ack.properties?.receiveMaximum).toBe(5)
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'rm', qos: 1}]})
    await c.next('suback')
    const pub = await connected(h.port, 4)
    for (let i = 1; i <= 20; i++) pub.sendPacket({cmd: 'publish', topic: 'rm', payload: Buffer.from(String(i)), qos: 1, messageId: i, retain: false, dup: false})
    await waitFor(() => pub.received('puback').length === 20, 5000, 'acks')
    await c.ping()
    expect(publishes(c).length).toBe(5) // none acknowledged: 5 in flight, the rest queued
  })

  it('subscriptions per client: past the limit SUBACK 0x97 for the extra filters', async () => {
    const h = await hostileBroker({limits: {maxSubscriptionsPerClient: 10}})
    const c = await connected(h.port, 5)
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: Array.from({length: 12}, (_, i) => ({topic: `s/${i}`, qos: 0 as const}))})
    const ack = (await c.next('suback')) as mqtt.ISubackPacket
    expect(ack.granted.slice(0, 10)).toEqual(Array(10).fill(0))
    expect(ack.granted.slice(10)).toEqual([0x97, 0x97])
    expect(h.broker.stats.subscriptions).toBe(10)
    // Re-subscribing to a filter it has is not a new subscription.
    c.sendPacket({cmd: 'subscribe', messageId: 2, subscriptions: [{topic: 's/0', qos: 1}]})
    expect(((await c.next('suback')) as mqtt.ISubackPacket).granted).toEqual([1])
  })

  it('retained messages: past the count limit a new topic is not retained (0x97 to MQTT 5 QoS 1), replacing one still works', async () => {
    const h = await hostileBroker({limits: {maxRetainedMessages: 3}})
    const pub = await connected(h.port, 5)
    for (let i = 1; i <= 4; i++) pub.sendPacket({cmd: 'publish', topic: `ret/${i}`, payload: Buffer.from('x'), qos: 1, messageId: i, retain: true, dup: false})
    await waitFor(() => pub.received('puback').length === 4, 5000, 'acks')
    expect(pub.received('puback').map(codeOf)).toEqual([0, 0, 0, 0x97])
    expect(h.broker.stats.retainedMessages).toBe(3)
    pub.sendPacket({cmd: 'publish', topic: 'ret/1', payload: Buffer.from('y'), qos: 1, messageId: 9, retain: true, dup: false})
    expect(codeOf(await pub.next('puback'))).toBe(0)
  })

  it('retained messages: bounded in bytes too', async () => {
    const h = await hostileBroker({limits: {maxRetainedBytes: 10_000}})
    const pub = await connected(h.port, 4)
    for (let i = 0; i < 10; i++) pub.sendPacket({cmd: 'publish', topic: `rb/${i}`, payload: Buffer.alloc(3000), qos: 0, retain: true, dup: false})
    await pub.ping()
    expect(h.broker.stats.retainedMessages).toBeLessThanOrEqual(3)
  })

  it('topic aliases from a client: bounded in bytes (DISCONNECT 0x97 past it)', async () => {
    const h = await hostileBroker({limits: {topicAliasMaximum: 100, maxAliasBytes: 1000}})
    const c = await connected(h.port, 5)
    for (let i = 1; i <= 20; i++) c.sendPacket({cmd: 'publish', topic: `${'a'.repeat(100)}/${i}`, payload: Buffer.alloc(0), qos: 0, retain: false, dup: false, properties: {topicAlias: i}})
    await c.waitClosed()
    expect(codeOf(c.received('disconnect')[0])).toBe(0x97)
  })

  it('total sessions: past maxSessions a new client is refused with 0x97 (3.1.1: return code 3)', async () => {
    const h = await hostileBroker({limits: {maxSessions: 3}})
    for (let i = 0; i < 3; i++) await connected(h.port, 4, {clientId: `keep-${i}`, clean: false})
    const v5 = await RawClient.open(h.port, {version: 5})
    expect(codeOf(await v5.connect({clientId: 'one-too-many'}))).toBe(0x97)
    const v4 = await RawClient.open(h.port, {version: 4})
    expect(codeOf(await v4.connect({clientId: 'one-too-many-4'}))).toBe(3)
    // An existing session may still come back.
    const back = await RawClient.open(h.port, {version: 4})
    expect(codeOf(await back.connect({clientId: 'keep-0', clean: false}))).toBe(0)
  })

  it('5,000 orphaned persistent sessions: capped by maxSessions and gone after the default expiry', async () => {
    const clock = new ManualClock()
    const h = await hostileBroker({limits: {maxSessions: 4000}}, {clock})
    let refused = 0
    for (let i = 0; i < 5000; i += 100) {
      await Promise.all(
        Array.from({length: 100}, async (_, j) => {
          const c = await RawClient.open(h.port, {version: 4})
          const ack = await c.connect({clientId: `orphan-${i + j}`, clean: false})
          if (codeOf(ack) !== 0) refused++
          c.destroy()
        }),
      )
    }
    await waitFor(() => h.broker.stats.connectionsLive === 0, 10_000, 'all disconnected')
    expect(h.broker.stats.sessionsTotal).toBe(4000)
    expect(refused).toBe(1000)
    clock.advance(DEFAULT_CONFIG.limits.maxSessionExpiry * 1000 + 2000)
    expect(h.broker.stats.sessionsTotal).toBe(0)
    expect(h.broker.stats.sessionsOrphan).toBe(0)
  })

  it('5,000 sockets that never send CONNECT: bounded, and a fresh client still connects at once', async () => {
    const h = await hostileBroker({limits: {maxPendingConnects: 1000}})
    const silent = await sockets(h.port, 5000)
    await waitFor(() => silent.filter((s) => s.destroyed || s.readyState !== 'open').length >= 3900, 20_000, 'the oldest silent sockets closed')
    const c = await RawClient.open(h.port, {version: 4})
    expect(codeOf(await c.connect())).toBe(0)
    expect(h.broker.stats.pendingConnects).toBeLessThanOrEqual(1000)
  }, 60_000)

  it('past limits.maxMemory: new connections and QoS 1 refused with 0x97, counted, logged once; QoS 0 still flows', async () => {
    const clock = new ManualClock()
    const h = await hostileBroker({limits: {maxMemory: 1}}, {clock}) // any process is above 1 byte
    const sub = await subscribed(h.port, 5, 'm')
    const pub = await connected(h.port, 5)
    clock.advance(1000) // the memory sample
    const late = await RawClient.open(h.port, {version: 5})
    expect(codeOf(await late.connect())).toBe(0x97)
    pub.sendPacket({cmd: 'publish', topic: 'm', payload: Buffer.from('q1'), qos: 1, messageId: 1, retain: false, dup: false})
    expect(codeOf(await pub.next('puback'))).toBe(0x97)
    pub.sendPacket({cmd: 'publish', topic: 'm', payload: Buffer.from('q0'), qos: 0, retain: false, dup: false})
    await waitFor(() => publishes(sub).length === 1, 5000, 'the QoS 0 message')
    expect(publishes(sub)[0].payload.toString()).toBe('q0')
    clock.advance(5000)
    expect(h.broker.stats.overloadEpisodes).toBe(1)
    expect(h.broker.stats.limitsReached).toBeGreaterThanOrEqual(2)
    expect(h.lines.filter((l) => l.includes('limits.maxMemory')).length).toBe(1)
  })

  it('a reconnect storm from one address is rate limited (0x9F); other addresses and connected clients are not', async () => {
    const clock = new ManualClock()
    const h = await hostileBroker({limits: {connectRatePerAddress: 10}}, {clock})
    const bystander = await subscribed(h.port, 4, 'storm')
    let ok = 0
    let limited = 0
    for (let i = 0; i < 50; i++) {
      const c = await RawClient.open(h.port, {version: 5, host: '127.0.0.1'})
      const code = codeOf(await c.connect({clientId: `storm-${i}`}))
      if (code === 0) ok++
      else if (code === 0x9f) limited++
      c.destroy()
    }
    expect(limited).toBeGreaterThan(0)
    expect(ok + limited).toBe(50)
    // Another source address is not affected.
    const [other] = await sockets(h.port, 1, '127.0.0.2')
    const otherAck = await new Promise<Buffer>((resolve) => {
      other.once('data', resolve)
      other.write(Buffer.from([0x10, 0x0d, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x78]))
    })
    expect([...otherAck]).toEqual([0x20, 2, 0, 0])
    // A second later the storming address may connect again; the bystander never noticed.
    clock.advance(61_000)
    const again = await RawClient.open(h.port, {version: 5})
    expect(codeOf(await again.connect())).toBe(0)
    await bystander.ping()
    expect(h.broker.stats.connectionsRateLimited).toBe(limited)
  })
})
