/**
 * Issue 11: retained delivery on SUBSCRIBE is paced through the client's receive maximum and its
 * socket, over event-loop turns, instead of one synchronous walk. Through real sockets: a SUBSCRIBE
 * with many overlapping filters and thousands of retained messages; a bystander pair keeps exchanging
 * messages meanwhile (asserted by order and progress, never by time); nothing is queued or dropped;
 * every retained message arrives once per matching subscription (MQTT 5 §3.3.1.3, [MQTT-3.3.1-8]).
 */
import net from 'node:net'
import {once} from 'node:events'
import mqtt, {type IPublishPacket} from 'mqtt-packet'
import {afterEach, describe, expect, it} from 'vitest'
import type {BrokerImpl} from '../../../src/broker/broker.js'
import {closeAll, track, waitFor} from '../../helpers/mqtt.js'
import type {RawClient} from '../../helpers/raw.js'
import {connected, type Hostile, hostileBroker, publishes, subscribed} from './helpers.js'

afterEach(closeAll)

/** Stores `n` retained messages r/0 .. r/n-1 (payload: `size` bytes, or the index as text). */
async function retain(h: Hostile, n: number, qos: 0 | 1, size = 0): Promise<void> {
  const pub = await connected(h.port, 4)
  for (let i = 0; i < n; i++) pub.sendPacket({cmd: 'publish', topic: `r/${i}`, payload: size > 0 ? Buffer.alloc(size, i) : Buffer.from(String(i)), qos, messageId: qos ? (i % 60_000) + 1 : undefined, retain: true, dup: false})
  await pub.ping()
  await waitFor(() => h.broker.stats.retainedMessages === n, 15_000, `${n} retained messages stored`)
  pub.destroy()
}

/** A bystander pair on its own topic: each call is one more message through the broker and back. */
async function bystander(h: Hostile): Promise<() => Promise<void>> {
  const sub = await subscribed(h.port, 4, 'bystander/t')
  const pub = await connected(h.port, 4)
  let n = 0
  return async () => {
    n++
    pub.sendPacket({cmd: 'publish', topic: 'bystander/t', payload: Buffer.from(String(n)), qos: 0, retain: false, dup: false})
    await waitFor(() => publishes(sub).length === n, 10_000, `bystander message ${n}`)
  }
}

/** Acknowledges every QoS 1 PUBLISH the client receives from now on. */
function autoAck(c: RawClient): void {
  for (const p of publishes(c)) if (p.qos === 1) c.sendPacket({cmd: 'puback', messageId: p.messageId})
  c.on('packet', (p: IPublishPacket) => {
    if (p.cmd === 'publish' && p.qos === 1) c.sendPacket({cmd: 'puback', messageId: p.messageId})
  })
}

/** The retained messages the client got (the bystander's live messages match '#' too, without RETAIN). */
const retainedOf = (c: RawClient): IPublishPacket[] => publishes(c).filter((p) => p.retain)

const countByTopic = (ps: IPublishPacket[]): Map<string, number> => {
  const m = new Map<string, number>()
  for (const p of ps) m.set(p.topic, (m.get(p.topic) ?? 0) + 1)
  return m
}

describe('hostile: paced retained delivery', () => {
  it('QoS 1 through the receive maximum: overlapping filters, 2,000 retained, each sent once per matching filter, nothing queued', async () => {
    const h = await hostileBroker()
    const N = 2000
    await retain(h, N, 1)
    const next = await bystander(h)
    const c = await connected(h.port, 5, {properties: {receiveMaximum: 20}})
    // '#' five times (one subscription), four overlapping wildcards, 100 exact topics.
    const filters = [...Array.from({length: 5}, () => '#'), 'r/#', 'r/+', '+/+', ...Array.from({length: 100}, (_, i) => `r/${i}`)]
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({topic, qos: 1 as const}))})
    await c.next('suback')
    await waitFor(() => retainedOf(c).length === 20, 10_000, 'the first 20 (the receive maximum)')
    // Unacknowledged: the walk waits for room; the bystander goes on meanwhile.
    for (let i = 0; i < 5; i++) await next()
    await c.ping()
    expect(retainedOf(c).length).toBe(20)
    expect(h.broker.stats.messagesQueued).toBe(0)
    autoAck(c)
    const total = 4 * N + 100
    await waitFor(() => retainedOf(c).length >= total, 30_000, `${total} retained deliveries`)
    await c.ping()
    const got = retainedOf(c)
    expect(got.length).toBe(total)
    expect(got.every((p) => p.retain && p.qos === 1)).toBe(true)
    const counts = countByTopic(got)
    for (let i = 0; i < N; i++) expect(counts.get(`r/${i}`)).toBe(i < 100 ? 5 : 4)
    // Filter by filter, in the packet's order: the first N are '#' (every topic once), then 'r/#'.
    expect(new Set(got.slice(0, N).map((p) => p.topic)).size).toBe(N)
    expect(new Set(got.slice(N, 2 * N).map((p) => p.topic)).size).toBe(N)
    expect(h.broker.stats.messagesDropped).toBe(0)
    expect(h.errors()).toEqual([])
  })

  it('QoS 0 towards a client that stops reading: the walk waits for its socket (bounded bytes, nothing dropped), then finishes', async () => {
    const h = await hostileBroker()
    const N = 300
    await retain(h, N, 0, 100 * 1024) // 30 MB per matching filter, past limits.maxQueuedBytes (16 MB)
    const next = await bystander(h)
    const reader = await countingReader(h.port, 'stalled')
    reader.socket.write(mqtt.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '#', qos: 0}, {topic: 'r/#', qos: 0}]}))
    await waitFor(() => reader.subacked, 5000, 'SUBACK')
    reader.socket.pause()
    const conn = (h.broker as unknown as BrokerImpl).clients.get('stalled')!
    await waitFor(() => conn.socket.writableNeedDrain, 15_000, 'the broker backed up towards the stalled reader')
    for (let i = 0; i < 5; i++) await next()
    // Held for it: one turn's share of the walk plus the socket's buffer, not the 60 MB it is owed.
    expect(conn.pendingBytes).toBeLessThan(1024 * 1024)
    expect(reader.total).toBeLessThan(2 * N)
    reader.socket.resume()
    await waitFor(() => reader.total >= 2 * N, 60_000, `${2 * N} retained deliveries`)
    for (let i = 0; i < N; i++) expect(reader.counts.get(`r/${i}`)).toBe(2)
    expect(h.broker.stats.messagesDropped).toBe(0)
    expect(h.errors()).toEqual([])
  })

  it('messages that fill maxQueuedBytes within a turn go on next turn (no ack needed while the receive maximum has room)', async () => {
    const h = await hostileBroker({limits: {maxQueuedBytes: 8 * 1024}})
    await retain(h, 20, 1, 5 * 1024) // two per turn pass 8 KB, one write stays under the socket's 16 KB mark (no 'drain')
    const c = await connected(h.port, 5, {properties: {receiveMaximum: 100}})
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '#', qos: 1}]})
    await waitFor(() => publishes(c).length === 20, 10_000, 'all 20, none acknowledged')
    expect(h.broker.stats.messagesDropped).toBe(0)
  })

  it('a client that disconnects stops the walk', async () => {
    const h = await hostileBroker()
    await retain(h, 500, 1)
    const next = await bystander(h)
    const c = await connected(h.port, 5, {properties: {receiveMaximum: 5}})
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '#', qos: 1}]})
    await waitFor(() => publishes(c).length === 5, 10_000, 'the first 5')
    c.destroy()
    await waitFor(() => h.broker.stats.connectionsLive === 2, 5000, 'the subscriber gone')
    const sent = h.broker.stats.messagesSent
    for (let i = 0; i < 3; i++) await next()
    expect(h.broker.stats.messagesSent - sent).toBe(3) // the bystander's three, no retained message
    expect(h.broker.stats.messagesQueued).toBe(0)
    expect(h.errors()).toEqual([])
  })

  it('a message replaced during the walk is not sent stale; one published after the SUBSCRIBE arrives live, once', async () => {
    const h = await hostileBroker()
    await retain(h, 50, 1)
    const c = await connected(h.port, 5, {properties: {receiveMaximum: 1}})
    c.sendPacket({cmd: 'subscribe', messageId: 1, subscriptions: [{topic: '#', qos: 1}]})
    await waitFor(() => publishes(c).length === 1, 10_000, 'the first retained message')
    const first = publishes(c)[0].topic
    const replaced = first === 'r/7' ? 'r/8' : 'r/7'
    const pub = await connected(h.port, 5)
    pub.sendPacket({cmd: 'publish', topic: replaced, payload: Buffer.from('new'), qos: 1, messageId: 1, retain: true, dup: false})
    pub.sendPacket({cmd: 'publish', topic: 'r/fresh', payload: Buffer.from('fresh'), qos: 1, messageId: 2, retain: true, dup: false})
    await pub.next('puback')
    await pub.next('puback')
    autoAck(c)
    await waitFor(() => publishes(c).length >= 51, 10_000, '51 messages')
    await c.ping()
    const got = publishes(c)
    expect(got.length).toBe(51) // 50 topics once each (one of them live, with its new value) + r/fresh live
    const counts = countByTopic(got)
    expect([...counts.values()].every((n) => n === 1)).toBe(true)
    expect(got.find((p) => p.topic === replaced)!.payload.toString()).toBe('new')
    expect(got.find((p) => p.topic === 'r/fresh')!.payload.toString()).toBe('fresh')
  })
})

/** A plain socket that counts PUBLISHes per topic without keeping their bytes (payloads here are large). */
async function countingReader(port: number, clientId: string) {
  const socket = net.connect({host: '127.0.0.1', port})
  await once(socket, 'connect')
  track({close: async () => void socket.destroy()})
  const parser = mqtt.parser({protocolVersion: 4})
  const state = {socket, counts: new Map<string, number>(), total: 0, subacked: false}
  parser.on('packet', (p) => {
    if (p.cmd === 'publish' && p.retain) {
      state.counts.set(p.topic, (state.counts.get(p.topic) ?? 0) + 1)
      state.total++
    } else if (p.cmd === 'suback') state.subacked = true
  })
  socket.on('data', (chunk: Buffer) => parser.parse(chunk))
  socket.on('error', () => {})
  socket.write(mqtt.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 0}))
  return state
}
