/** src/broker/outbound.ts on its own, with explicit fake deps: QoS 0 drops, flight and queue, offline queues and their bounds, packet ids, the read check. */
import mqtt, {type IPublishPacket} from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {AllowAll, type Authorizer} from '../../src/broker/auth/authorizer.js'
import type {Connection} from '../../src/broker/connection.js'
import type {Message} from '../../src/broker/message.js'
import {Outbound} from '../../src/broker/outbound.js'
import {MemoryStore} from '../../src/broker/persistence/memory.js'
import {BrokerStats} from '../../src/broker/stats/counters.js'
import {ManualClock} from '../helpers/clock.js'
import {FakeAuthorizer} from '../helpers/fakes.js'

function setup(options: {authorizer?: Authorizer; maxQueuedMessages?: number; maxQueuedBytes?: number} = {}) {
  const store = new MemoryStore()
  const stats = new BrokerStats()
  const clock = new ManualClock(1_000_000)
  const clients = new Map<string, Connection>()
  // A variable, not a literal: limits the Outbound does not read (maxAliasBytes) pass the type check either way.
  const limits = {maxQueuedMessages: options.maxQueuedMessages ?? 100, maxQueuedBytes: options.maxQueuedBytes ?? 1 << 20, maxAliasBytes: 1 << 20}
  const outbound = new Outbound({
    limits,
    stats,
    store,
    clock,
    clients,
    authorizer: options.authorizer ?? new AllowAll(),
  })
  /** A connected client whose writes are parsed back into packets. */
  const connect = (clientId: string, extra: Partial<Connection> = {}) => {
    const written: IPublishPacket[] = []
    const parser = mqtt.parser({protocolVersion: 5})
    parser.on('packet', (p) => written.push(p as IPublishPacket))
    const session = store.createSession(clientId, 60)
    const conn = {
      clientId,
      identity: {clientId},
      session,
      connected: true,
      version: 5,
      v5: true,
      sendMax: 65_535,
      maxOut: 1 << 20,
      aliasMaxOut: 0,
      aliasOutBytes: 0,
      pendingBytes: 0,
      socket: {writableNeedDrain: false},
      write: (buf: Buffer) => parser.parse(buf),
      ...extra,
    } as unknown as Connection
    clients.set(clientId, conn)
    return {conn, written, session}
  }
  return {store, stats, clock, clients, outbound, connect}
}

const msg = (payload = 'x', over: Partial<Message> = {}): Message => ({topic: 't', payload: Buffer.from(payload), qos: 1, retain: false, expiresAt: 0, ...over})

describe('Outbound', () => {
  it('QoS 0: written; dropped (counted) past maxQueuedBytes unsent, past the client maximum packet size, or expired', () => {
    const {outbound, connect, stats, clock} = setup({maxQueuedBytes: 100})
    const {written, conn} = connect('c')
    outbound.deliver('c', msg('a'), 0, false)
    expect(written.map((p) => p.payload.toString())).toEqual(['a'])
    ;(conn as {pendingBytes: number}).pendingBytes = 101
    outbound.deliver('c', msg('b'), 0, false)
    ;(conn as {pendingBytes: number}).pendingBytes = 0
    ;(conn as {maxOut: number}).maxOut = 5
    outbound.deliver('c', msg('too long'), 0, false)
    ;(conn as {maxOut: number}).maxOut = 1 << 20
    outbound.deliver('c', msg('old', {expiresAt: clock.now()}), 0, false)
    expect(written).toHaveLength(1)
    expect([stats.messagesDropped, stats.messagesExpired, stats.messagesSent]).toEqual([2, 1, 1])
  })

  it('QoS 1: in flight up to the client receive maximum with fresh packet ids, then queued; pull moves the queue on', () => {
    const {outbound, connect, store, stats} = setup()
    const {written, session, conn} = connect('c', {sendMax: 2})
    for (const p of ['1', '2', '3', '4']) outbound.deliver('c', msg(p), 1, false)
    expect(written.map((p) => [p.payload.toString(), p.messageId])).toEqual([['1', 1], ['2', 2]])
    expect([session.inflight?.size, session.queue?.length, stats.messagesQueued]).toEqual([2, 2, 2])
    store.deleteInflight(session, 1)
    outbound.pull(conn)
    expect(written.map((p) => [p.payload.toString(), p.messageId])).toEqual([['1', 1], ['2', 2], ['3', 3]])
    expect([session.queue?.length, stats.messagesQueued]).toEqual([1, 1])
  })

  it('packet ids skip the ones still in flight and wrap after 65535', () => {
    const {outbound, connect} = setup()
    const {written, session} = connect('c')
    session.lastPacketId = 65_534
    for (let i = 0; i < 3; i++) outbound.deliver('c', msg(String(i)), 1, false)
    expect(written.map((p) => p.messageId)).toEqual([65_535, 1, 2])
  })

  it('offline: QoS 1/2 queue in the session (bounded by count and bytes, the rest dropped and counted), QoS 0 is not kept', () => {
    const {outbound, store, stats} = setup({maxQueuedMessages: 2, maxQueuedBytes: 1000})
    const session = store.createSession('away', 60)
    outbound.deliver('away', msg('q0'), 0, false)
    outbound.deliver('away', msg('a'), 1, false)
    outbound.deliver('away', msg('b'), 2, false)
    outbound.deliver('away', msg('c'), 1, false)
    outbound.deliver('nobody', msg('d'), 1, false)
    expect(session.queue!.map((d) => [d.msg.payload.toString(), d.qos])).toEqual([['a', 1], ['b', 2]])
    expect([stats.messagesQueued, stats.messagesDropped]).toEqual([2, 1])
    outbound.enqueue(store.createSession('big', 60), {msg: msg('x'.repeat(2000)), qos: 1, retain: false, packetId: 0, released: false, sent: false})
    expect(stats.messagesDropped).toBe(2)
    outbound.discard(session)
    expect([session.queue, session.queuedBytes, stats.messagesQueued]).toEqual([undefined, 0, 0])
  })

  it('a resumed session resends in-flight messages with DUP, a released QoS 2 as PUBREL, then the queue', () => {
    const {outbound, connect} = setup()
    const {written, conn, session} = connect('c', {sendMax: 1})
    outbound.deliver('c', msg('first'), 1, false)
    outbound.deliver('c', msg('second'), 1, false)
    outbound.resume(conn)
    expect(written.map((p) => [p.cmd, p.payload?.toString(), p.dup])).toEqual([['publish', 'first', false], ['publish', 'first', true]])
    expect(session.queue?.length).toBe(1)
  })

  it('topic aliases towards a client that allows them: the first copy sets the alias, later ones send an empty topic', () => {
    const {outbound, connect} = setup()
    const {written} = connect('c', {aliasMaxOut: 1})
    outbound.deliver('c', msg('1', {topic: 'long/topic'}), 0, false)
    outbound.deliver('c', msg('2', {topic: 'long/topic'}), 0, false)
    outbound.deliver('c', msg('3', {topic: 'other'}), 0, false) // no alias left: full topic
    expect(written.map((p) => [p.topic, p.properties?.topicAlias])).toEqual([['long/topic', 1], ['', 1], ['other', undefined]])
  })

  it('canRead is asked per delivery when the authorizer checks access: refused ones are not sent (live or queued) and counted', () => {
    const auth = new FakeAuthorizer()
    auth.deniedRead.add('secret')
    const {outbound, connect, store, stats} = setup({authorizer: auth})
    const {written, conn} = connect('c')
    outbound.deliver('c', msg('no', {topic: 'secret'}), 1, false)
    outbound.deliver('c', msg('yes', {topic: 'open'}), 1, false)
    const session = store.createSession('later', 60)
    outbound.deliver('later', msg('queued', {topic: 'secret'}), 1, false)
    expect(session.queue).toHaveLength(1)
    ;(conn as {session: unknown}).session = session
    outbound.pull(conn)
    expect(written.map((p) => p.payload.toString())).toEqual(['yes'])
    expect(stats.deliveriesDenied).toBe(2)
  })
})
