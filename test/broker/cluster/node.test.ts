/**
 * ClusterNode against a real nats-server, with recording hosts in place of brokers: interest
 * routing, no duplicates for overlapping filters, properties across the hop, queue groups, the
 * retained stream, and connection loss.
 */
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {systemClock} from '../../../src/broker/clock.js'
import {type ClusterHost, ClusterNode} from '../../../src/broker/cluster/node.js'
import {memoryLogger} from '../../../src/broker/log.js'
import type {Message} from '../../../src/broker/message.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import type {SessionRecord} from '../../../src/broker/persistence/store.js'
import {type MovedSession, SessionMover} from '../../../src/broker/cluster/sessions.js'
import {connect as natsConnect} from 'nats'
import {type NatsServer, startNats} from '../../helpers/nats.js'
import {waitFor} from '../../helpers/mqtt.js'
import {ManualClock} from '../../helpers/clock.js'
import {DRAIN_TIMEOUT_MS} from '../../../src/broker/cluster/link.js'

interface RecordingHost extends ClusterHost {
  connected: Set<string>
  /** Client id -> the only user name allowed to take it over. */
  protected: Map<string, string>
  stored: Map<string, SessionRecord>
  adopted: MovedSession[]
  local: Message[]
  shared: Array<{name: string; msg: Message}>
  retained: Map<string, Message>
  lines: string[]
}

function host(): RecordingHost {
  const logger = memoryLogger('debug')
  const h: RecordingHost = {
    logger,
    lines: logger.lines,
    clock: systemClock,
    local: [],
    shared: [],
    retained: new Map(),
    deliverLocal: (msg) => void h.local.push(msg),
    deliverTo: () => false,
    deliverShared: (msg, name) => (h.shared.push({name, msg}), true),
    applyRetained: (msg) => {
      if (msg.payload.length === 0) h.retained.delete(msg.topic)
      else h.retained.set(msg.topic, msg)
    },
    connected: new Set(),
    protected: new Map(),
    stored: new Map(),
    adopted: [],
    holds: (id) => h.connected.has(id) || h.stored.has(id),
    held: () => [...new Set([...h.connected, ...h.stored.keys()])],
    whenStored: (cb) => cb(),
    sessions: {
      mayTakeOver: (id, next) => !h.protected.has(id) || next.username === h.protected.get(id),
      disconnect: (id) => h.connected.delete(id),
      getSession: (id) => h.stored.get(id),
      release: (s) => void h.stored.delete(s.clientId),
      adopt: (m) => void h.adopted.push(m),
    },
  }
  return h
}

/** exportable() then export(), as the cluster router does. */
function send(n: ClusterNode, m: Message): boolean {
  if (!n.exportable(m)) return false
  n.export(m)
  return true
}

const msg = (topic: string, payload: string, extra: Partial<Message> = {}): Message => ({topic, payload: Buffer.from(payload), qos: 0, retain: false, expiresAt: 0, ...extra})

let nats: NatsServer
const nodes: ClusterNode[] = []

beforeAll(async () => {
  nats = await startNats()
})
afterAll(async () => {
  await nats?.stop()
})
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()))
})

async function node(h: ClusterHost, prefix = 'mqtt'): Promise<ClusterNode> {
  const n = new ClusterNode(h, {servers: [nats.url], prefix, reconnectWaitMs: 50})
  nodes.push(n)
  n.start()
  await n.ready()
  return n
}

/** A round trip through NATS on b's connections: everything b subscribed is known to the server. */
async function settled(...ns: ClusterNode[]): Promise<void> {
  for (const n of ns) await n.flush()
}

/** Two linked nodes on `prefix`, with their recording hosts. */
async function twoNodes(prefix: string) {
  const ha = host()
  const hb = host()
  return {ha, hb, a: await node(ha, prefix), b: await node(hb, prefix)}
}

describe('ClusterNode', () => {
  it('routes by interest, once per message even with overlapping filters, and never back to the publisher', async () => {
    const {ha, hb, a, b} = await twoNodes('p1')
    b.addFilter('a/#')
    b.addFilter('a/+')
    b.addFilter('a/b')
    a.addFilter('a/#') // a's own interest: its own messages must not come back
    await settled(a, b)
    expect(send(a, msg('a/b', 'one'))).toBe(true)
    expect(send(a, msg('x/y', 'nobody'))).toBe(true)
    expect(send(a, msg('a', 'two'))).toBe(true)
    await a.flush()
    await waitFor(() => hb.local.length >= 2, 5000, 'two messages on b')
    await b.flush()
    expect(hb.local.map((m) => `${m.topic}=${m.payload}`)).toEqual(['a/b=one', 'a=two'])
    expect(ha.local).toEqual([])
    // Interest goes away with the last subscriber of a filter.
    b.removeFilter('a/#')
    b.removeFilter('a/+')
    b.removeFilter('a/b')
    await settled(b)
    send(a, msg('a/b', 'three'))
    await a.flush()
    await b.flush()
    expect(hb.local).toHaveLength(2)
    expect(a.stats.exported).toBe(4)
    expect(b.stats.imported).toBe(2)
  })

  it('hands NATS only what another node wants: interest is announced, joined late, and withdrawn', async () => {
    const ha = host()
    const hb = host()
    const a = new ClusterNode(ha, {servers: [nats.url], prefix: 'p7', reconnectWaitMs: 50, syncGraceMs: 0})
    nodes.push(a)
    a.start()
    await a.ready()
    // Nobody else: nothing goes to NATS.
    expect(send(a, msg('w/1', 'alone'))).toBe(false)
    expect(a.stats.notWanted).toBe(1)
    // B joins with a filter it had before the link (sent as its whole list) and adds one later.
    const b = new ClusterNode(hb, {servers: [nats.url], prefix: 'p7', reconnectWaitMs: 50, syncGraceMs: 0})
    nodes.push(b)
    b.addFilter('w/#')
    b.start()
    await b.ready()
    await waitFor(() => a.knownPeers === 1 && a.exportable(msg('w/2', '')), 5000, 'A learns B wants w/#')
    expect(a.exportable(msg('x/1', ''))).toBe(false)
    b.addFilter('$share/g/x/+')
    await waitFor(() => a.exportable(msg('x/1', '')), 5000, 'A learns B\'s shared group')
    expect(send(a, msg('w/3', 'wanted'))).toBe(true)
    await waitFor(() => hb.local.length === 1, 5000, 'B gets it')
    b.removeFilter('w/#')
    await waitFor(() => !a.exportable(msg('w/4', '')), 5000, 'A learns B left w/#')
    // A retained message nobody wants now still reaches the stream (B reads it).
    a.retainOnly(msg('w/r', 'kept', {retain: true}))
    await waitFor(() => hb.retained.has('w/r'), 5000, 'the retained message on B')
  })

  it('carries QoS, retain, publisher, expiry and MQTT 5 properties with user properties in order', async () => {
    const {ha, hb, a, b} = await twoNodes('p2')
    b.addFilter('#')
    await settled(b)
    const now = Date.now()
    send(a, 
      msg('t/1', 'payload', {
        qos: 2,
        from: 'client-ä',
        expiresAt: now + 30_000,
        properties: {
          payloadFormatIndicator: true,
          contentType: ' text/plain ',
          responseTopic: 'reply/to',
          correlationData: Buffer.from([0, 1, 2, 255]),
          userProperties: {z: ['1', '3'], a: '2', 'sp ace': ' v\r\n:x ', __proto__x: 'p'},
        },
      }),
    )
    await waitFor(() => hb.local.length === 1, 5000, 'the message on b')
    const got = hb.local[0]
    expect(got.topic).toBe('t/1')
    expect(got.payload.toString()).toBe('payload')
    expect(got.qos).toBe(2)
    expect(got.retain).toBe(false)
    // The publisher stays home: no-local was applied where it is connected (wire.ts).
    expect(got.from).toBeUndefined()
    expect(got.expiresAt).toBeGreaterThan(now + 29_000)
    expect(got.expiresAt).toBeLessThanOrEqual(Date.now() + 30_000)
    expect(got.properties).toEqual({
      payloadFormatIndicator: true,
      contentType: ' text/plain ',
      responseTopic: 'reply/to',
      correlationData: Buffer.from([0, 1, 2, 255]),
      userProperties: {z: ['1', '3'], a: '2', 'sp ace': ' v\r\n:x ', __proto__x: 'p'},
    })
    expect(Object.keys(got.properties!.userProperties!)).toEqual(['z', 'a', 'sp ace', '__proto__x'])
  })

  it('a shared group gets each message once across nodes', async () => {
    const hs = [host(), host(), host()]
    const [a, b, c] = [await node(hs[0], 'p3'), await node(hs[1], 'p3'), await node(hs[2], 'p3')]
    b.addFilter('$share/g/s/#')
    c.addFilter('$share/g/s/#')
    c.addFilter('$share/h/s/+') // another group: gets its own copy
    await settled(b, c)
    for (let i = 0; i < 200; i++) send(a, msg(`s/${i}`, String(i)))
    await a.flush()
    await waitFor(() => hs[1].shared.length + hs[2].shared.filter((s) => s.name === '$share/g/s/#').length >= 200, 5000, '200 deliveries to group g')
    await waitFor(() => hs[2].shared.filter((s) => s.name === '$share/h/s/+').length >= 200, 5000, '200 deliveries to group h')
    await settled(b, c)
    const g = [...hs[1].shared, ...hs[2].shared].filter((s) => s.name === '$share/g/s/#').map((s) => s.msg.payload.toString())
    expect(g.sort()).toEqual(Array.from({length: 200}, (_, i) => String(i)).sort())
    // Both nodes took part (NATS picks at random; 200 all on one side has odds 2^-199).
    expect(hs[1].shared.length).toBeGreaterThan(0)
    expect(hs[2].shared.filter((s) => s.name === '$share/g/s/#').length).toBeGreaterThan(0)
  })

  it('retained messages reach every node through the stream, deletions too, and a new node loads them', async () => {
    const {ha, hb, a, b} = await twoNodes('p4')
    send(a, msg('r/1', 'one', {retain: true, qos: 1, properties: {userProperties: {k: 'v'}}}))
    send(a, msg('r/2', 'two', {retain: true}))
    send(a, msg('$SYS/x', 'sys', {retain: true}))
    await waitFor(() => hb.retained.size === 3, 5000, 'three retained on b')
    expect(hb.retained.get('r/1')!.payload.toString()).toBe('one')
    expect(hb.retained.get('r/1')!.qos).toBe(1)
    expect(hb.retained.get('r/1')!.properties).toEqual({userProperties: {k: 'v'}})
    send(a, msg('r/2', '', {retain: true}))
    send(a, msg('r/1', 'one again', {retain: true}))
    await waitFor(() => hb.retained.size === 2 && hb.retained.get('r/1')!.payload.toString() === 'one again', 5000, 'delete and replace on b')
    const hc = host()
    await node(hc, 'p4') // ready() resolves once loaded
    expect([...hc.retained.keys()].sort()).toEqual(['$SYS/x', 'r/1'])
  })

  it('moves a session with its messages to the node where the client connects, and takes the connection over', async () => {
    const {ha, hb, a, b} = await twoNodes('p6')
    // Nobody holds "nobody": answered at once (no responders), nothing adopted.
    await b.claimSession('nobody')
    expect(hb.adopted).toEqual([])
    // A holds "dev-1": connected, with a persistent session, a QoS 2 exchange and messages.
    const store = new MemoryStore()
    const s = store.createSession('dev-1', 3600)
    s.subscriptions.set('a/#', {qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0, subscriptionId: 4})
    store.addIncoming(s, 17)
    s.lastPacketId = 9
    const inflight = {msg: msg('a/1', 'in flight', {qos: 1}), qos: 1 as const, retain: false, packetId: 9, released: false, sent: true}
    store.setInflight(s, inflight)
    store.enqueue(s, {msg: msg('a/2', 'queued', {qos: 2, expiresAt: Date.now() + 60_000, properties: {userProperties: {k: ['1', '2']}}}), qos: 2, retain: false, packetId: 0, released: false, sent: false, subscriptionIds: [4]})
    ha.stored.set('dev-1', s)
    ha.connected.add('dev-1')
    await a.claimSession('dev-1') // A announces that it holds dev-1
    await a.flush()
    await b.claimSession('dev-1')
    expect(ha.connected.has('dev-1')).toBe(false) // taken over
    expect(ha.stored.has('dev-1')).toBe(false) // released
    expect(hb.adopted).toHaveLength(1)
    const m = hb.adopted[0]
    expect(m.clientId).toBe('dev-1')
    expect(m.expiryInterval).toBe(3600)
    expect(m.subscriptions).toEqual([['a/#', {qos: 1, noLocal: false, retainAsPublished: true, retainHandling: 0, subscriptionId: 4}]])
    expect(m.incoming).toEqual([17])
    expect(m.lastPacketId).toBe(9)
    expect(m.deliveries.map((d) => [d.msg.topic, d.msg.payload.toString(), d.qos, d.packetId, d.sent])).toEqual([
      ['a/1', 'in flight', 1, 9, true],
      ['a/2', 'queued', 2, 0, false],
    ])
    expect(m.deliveries[1].msg.properties).toEqual({userProperties: {k: ['1', '2']}})
    expect(m.deliveries[1].subscriptionIds).toEqual([4])
    expect(m.deliveries[1].msg.expiresAt).toBeGreaterThan(Date.now() + 58_000)
    expect(a.sessionStats.moved).toBe(1)
    expect(b.sessionStats.adopted).toBe(1)
    // The holder refuses a take-over its authorizer does not allow; allows the right user.
    hb.connected.add('dev-1')
    hb.protected.set('dev-1', 'alice')
    const hd = host()
    const d = await node(hd, 'p6')
    await b.flush()
    expect(await d.claimSession('dev-1', 'mallory')).toBe('refused')
    expect(hb.connected.has('dev-1')).toBe(true)
    expect(await d.claimSession('dev-1', 'alice')).toBe('ok')
    expect(hb.connected.has('dev-1')).toBe(false)
    hb.protected.clear()
    // Now D holds it; B gets it back for the rest of the test.
    await d.flush()
    await b.claimSession('dev-1')
    await b.flush()
    // Now B holds it: a third node asking gets it from B.
    hb.stored.set('dev-1', store.createSession('dev-1', 10))
    const hc = host()
    const c = await node(hc, 'p6')
    await b.flush()
    await c.claimSession('dev-1')
    expect(hc.adopted.map((x) => x.expiryInterval)).toEqual([10])
  })

  it('a session answer that is not valid (a bad filter, a topic with a wildcard) is not adopted', async () => {
    const hb = host()
    const b = await node(hb, 'p8')
    const peer = await natsConnect({servers: [nats.url]})
    try {
      const subject = new SessionMover(peer, 'p8', 'x', {} as never).subject('evil')
      peer.subscribe(subject, {
        callback: (_e, m) => {
          const header = {v: 1, clientId: 'evil', expiryInterval: 60, subscriptions: [['a/#/b', {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0}]], incoming: [], lastPacketId: 0, deliveries: 0}
          peer.publish(m.reply!, JSON.stringify(header))
          peer.publish(m.reply!)
        },
      })
      await peer.flush()
      expect(await b.claimSession('evil')).toBe('ok')
      expect(hb.adopted).toEqual([])
    } finally {
      await peer.close()
    }
  })

  it('keeps serving locally while NATS is away, says so, and rejoins', async () => {
    const own = await startNats({jetstream: false})
    let restarted: NatsServer | undefined
    try {
      const ha = host()
      const hb = host()
      const a = new ClusterNode(ha, {servers: [own.url], prefix: 'p5', reconnectWaitMs: 50})
      const b = new ClusterNode(hb, {servers: [own.url], prefix: 'p5', reconnectWaitMs: 50})
      nodes.push(a, b)
      a.start()
      b.start()
      b.addFilter('x')
      await waitFor(() => a.connected && b.connected, 5000, 'both connected')
      // This server runs without JetStream: the log says what to do about retained messages.
      await waitFor(() => ha.lines.some((l) => /JetStream is not enabled on that NATS server: start nats-server with -js/.test(l)), 5000, 'the JetStream hint')
      await b.flush()
      await own.stop(true)
      await waitFor(() => !a.connected, 5000, 'a sees the loss')
      expect(send(a, msg('x', 'while down'))).toBe(false)
      expect(a.stats.localOnly).toBe(1)
      expect(ha.lines.some((l) => /lost the NATS connection/.test(l))).toBe(true)
      restarted = await own.restart()

      await waitFor(() => a.connected && b.connected, 10_000, 'both reconnected')
      await b.flush()
      expect(send(a, msg('x', 'after'))).toBe(true)
      await waitFor(() => hb.local.length === 1, 5000, 'the message after the rejoin')
      expect(hb.local[0].payload.toString()).toBe('after')
      expect(ha.lines.some((l) => /NATS connection back/.test(l))).toBe(true)
    } finally {
      await restarted?.stop()
      await own.stop()
    }
  })
  it('a stop never waits on NATS beyond the drain bound (on the node\'s clock), nor once every server is gone', async () => {
    // The server is frozen (SIGSTOP): its sockets stay open, nothing answers. The node's clock is
    // manual, so the drain's bound (DRAIN_TIMEOUT_MS) passes only when the test advances it.
    for (const ending of ['clock', 'killed'] as const) {
      const own = await startNats({jetstream: true})
      const clock = new ManualClock()
      const n = new ClusterNode({...host(), clock}, {servers: [own.url], prefix: 'p6', reconnectWaitMs: 50})
      n.start()
      n.addFilter('gone/#')
      await n.ready()
      await waitFor(() => n.connected, 5000, 'connected')
      expect(send(n, msg('gone/x', 'buffered'))).toBe(true)
      process.kill(own.pid, 'SIGSTOP')
      let closed = false
      const closing = n.close().then(() => (closed = true))
      await new Promise((r) => setTimeout(r, 100)) // not a timing assertion: the close stays pending
      expect({ending, closed}).toEqual({ending, closed: false})
      if (ending === 'clock') clock.advance(DRAIN_TIMEOUT_MS)
      else await own.kill() // every server gone during the drain: the node notices, closes at once
      await closing
      expect(n.connected).toBe(false)
      await own.stop()
    }
  })
  it('a stop with NATS up drains: what was published just before it still arrives', async () => {
    const ha = host()
    const hb = host()
    const a = new ClusterNode(ha, {servers: [nats.url], prefix: 'p7'})
    const b = new ClusterNode(hb, {servers: [nats.url], prefix: 'p7'})
    nodes.push(b)
    a.start()
    b.start()
    b.addFilter('last/#')
    await Promise.all([a.ready(), b.ready()])
    await b.flush()
    await waitFor(() => a.knownPeers === 1, 5000, 'a knows b')
    expect(send(a, msg('last/x', 'before stop'))).toBe(true)
    await a.close()
    await waitFor(() => hb.local.length === 1, 5000, 'the message published before the stop')
  })
})
