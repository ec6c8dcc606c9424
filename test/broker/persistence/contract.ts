/**
 * The Store contract (in the spirit of aedes-persistence's abstract.js): every Store implementation
 * runs this suite. `reopen`, when the store has one, closes it and opens a new instance on the same
 * data: the persistence part of the contract then checks what survives (persistent sessions with all
 * their state, retained messages) and what does not (clean sessions).
 */
import {afterEach, describe, expect, it} from 'vitest'
import {type Delivery, type Message, messageBytes} from '../../../src/broker/message.js'
import type {SessionRecord, Store} from '../../../src/broker/persistence/store.js'
import type {SubOptions} from '../../../src/broker/topics/types.js'

export interface StoreUnderTest {
  store: Store
  /** Closes the store and opens another instance on its data (persistent stores only). */
  reopen?: () => Promise<Store>
  cleanup(): Promise<void>
}

export type StoreFactory = () => Promise<StoreUnderTest>

const opts = (qos: 0 | 1 | 2, extra: Partial<SubOptions> = {}): SubOptions => ({qos, noLocal: false, retainAsPublished: false, retainHandling: 0, ...extra})

function msg(topic: string, payload: string, extra: Partial<Message> = {}): Message {
  return {topic, payload: Buffer.from(payload), qos: 1, retain: false, expiresAt: 0, ...extra}
}

function delivery(m: Message, qos: 0 | 1 | 2 = 1, extra: Partial<Delivery> = {}): Delivery {
  return {msg: m, qos, retain: false, packetId: 0, released: false, sent: false, ...extra}
}

function durable(store: Store): Promise<void> {
  return new Promise((resolve, reject) => store.whenDurable(store.writeSeq, (err) => (err ? reject(err) : resolve())))
}

/** A plain picture of a session for comparisons across a restart. */
/**
 * Everything a session record holds, comparable with toEqual. `restarted`: as expected after a
 * restart, where a session that was connected counts as disconnected since the store went down.
 */
export function picture(s: SessionRecord | undefined, restarted = false): unknown {
  if (s === undefined) return undefined
  const dl = (d: Delivery) => ({
    topic: d.msg.topic,
    payload: d.msg.payload.toString(),
    props: d.msg.properties,
    raw: (d.msg as {raw?: Buffer}).raw?.toString('hex'),
    expiresAt: d.msg.expiresAt,
    qos: d.qos,
    retain: d.retain,
    packetId: d.packetId,
    released: d.released,
    subscriptionIds: d.subscriptionIds,
    shared: d.shared,
  })
  return {
    clientId: s.clientId,
    expiryInterval: s.expiryInterval,
    disconnectedAt: restarted && s.disconnectedAt === 0 ? expect.any(Number) : s.disconnectedAt,
    willAt: s.willAt,
    pendingWill: s.pendingWill === undefined ? undefined : {...s.pendingWill, payload: s.pendingWill.payload.toString()},
    subscriptions: [...s.subscriptions].sort(([a], [b]) => (a < b ? -1 : 1)).map(([f, o]) => [f, {...o}]),
    queue: (s.queue ?? []).map(dl),
    inflight: [...(s.inflight?.values() ?? [])].sort((a, b) => a.packetId - b.packetId).map(dl),
    incoming: [...(s.incoming ?? [])].sort((a, b) => a - b),
  }
}

export function storeContract(name: string, factory: StoreFactory, {persistent}: {persistent: boolean}): void {
  describe(`Store contract: ${name}`, () => {
    let sut: StoreUnderTest
    let store: Store
    const open = async () => {
      sut = await factory()
      store = sut.store
      await store.open()
      return store
    }
    afterEach(async () => {
      await sut?.cleanup()
    })

    it('creates, finds, counts, lists and deletes sessions', async () => {
      await open()
      expect(store.getSession('a')).toBeUndefined()
      const a = store.createSession('a', 60)
      store.createSession('b', 0)
      expect(store.getSession('a')).toBe(a)
      expect(a.expiryInterval).toBe(60)
      expect(a.subscriptions.size).toBe(0)
      expect(store.sessionCount).toBe(2)
      expect([...store.sessions()].map((s) => s.clientId).sort()).toEqual(['a', 'b'])
      store.deleteSession('a')
      store.deleteSession('nobody')
      expect(store.getSession('a')).toBeUndefined()
      expect(store.sessionCount).toBe(1)
    })

    it("keeps a connection's will while the session is connected, none once it is disconnected", async () => {
      await open()
      const will = {topic: 'w', payload: Buffer.from('gone'), qos: 1 as const, retain: false, delay: 0}
      const a = store.createSession('a', 60, will)
      expect(a.connectionWill).toBe(will)
      expect(store.createSession('b', 60).connectionWill).toBeUndefined()
      a.disconnectedAt = 1000
      store.touchSession(a)
      expect(a.connectionWill).toBeUndefined()
    })

    it('a new session with the id of an existing one replaces it, with none of its state', async () => {
      await open()
      const a = store.createSession('a', 60)
      store.addSubscription(a, 'x/#', opts(1))
      store.enqueue(a, delivery(msg('x/1', 'one')))
      const a2 = store.createSession('a', 60)
      expect(a2).not.toBe(a)
      expect(store.getSession('a')).toBe(a2)
      expect(a2.subscriptions.size).toBe(0)
      expect(a2.queue).toBeUndefined()
      expect(store.sessionCount).toBe(1)
    })

    it('adds, replaces and removes subscriptions', async () => {
      await open()
      const a = store.createSession('a', 60)
      store.addSubscription(a, 'x/#', opts(1))
      store.addSubscription(a, 'x/#', opts(2, {noLocal: true}))
      store.addSubscription(a, '$share/g/y', opts(0, {subscriptionId: 7}))
      expect(a.subscriptions.get('x/#')).toEqual(opts(2, {noLocal: true}))
      expect(a.subscriptions.size).toBe(2)
      expect(store.removeSubscription(a, 'x/#')).toBe(true)
      expect(store.removeSubscription(a, 'x/#')).toBe(false)
      expect([...a.subscriptions.keys()]).toEqual(['$share/g/y'])
    })

    it('queues first in, first out; an empty queue is undefined', async () => {
      await open()
      const a = store.createSession('a', 60)
      expect(store.dequeue(a)).toBeUndefined()
      const d1 = delivery(msg('t', '1'))
      const d2 = delivery(msg('t', '2'), 2)
      store.enqueue(a, d1)
      store.enqueue(a, d2)
      expect(a.queue).toHaveLength(2)
      expect(store.dequeue(a)).toBe(d1)
      expect(store.dequeue(a)).toBe(d2)
      expect(a.queue).toBeUndefined()
      expect(store.dequeue(a)).toBeUndefined()
    })

    it('keeps in-flight deliveries by packet id, and QoS 2 state changes', async () => {
      await open()
      const a = store.createSession('a', 60)
      const d = delivery(msg('t', 'x'), 2, {packetId: 5})
      store.setInflight(a, d)
      expect(a.inflight?.get(5)).toBe(d)
      d.released = true
      store.setInflight(a, d)
      expect(a.inflight?.get(5)?.released).toBe(true)
      expect(store.deleteInflight(a, 6)).toBeUndefined()
      expect(store.deleteInflight(a, 5)).toBe(d)
      expect(a.inflight).toBeUndefined()
    })

    it('keeps incoming QoS 2 packet ids', async () => {
      await open()
      const a = store.createSession('a', 60)
      store.addIncoming(a, 9)
      store.addIncoming(a, 10)
      expect(store.deleteIncoming(a, 9)).toBe(true)
      expect(store.deleteIncoming(a, 9)).toBe(false)
      expect(store.deleteIncoming(a, 10)).toBe(true)
      expect(a.incoming).toBeUndefined()
    })

    it('stores, replaces, matches and deletes retained messages', async () => {
      await open()
      store.setRetained({topic: 'a/b', payload: Buffer.from('1'), qos: 1})
      store.setRetained({topic: 'a/c', payload: Buffer.from('2'), qos: 0})
      store.setRetained({topic: 'a/b', payload: Buffer.from('3'), qos: 2})
      store.setRetained({topic: '$SYS/x', payload: Buffer.from('s'), qos: 0})
      expect(store.retainedCount).toBe(3)
      const seq = store.writeSeq
      store.setRetained({topic: '$SYS/broker/uptime', payload: Buffer.from('5 seconds'), qos: 0})
      expect(store.writeSeq).toBe(seq) // the broker's statistics never reach a disk
      store.deleteRetained('$SYS/broker/uptime')
      const now = Date.now()
      expect(store.matchRetained('a/+', now).map((r) => `${r.topic}=${r.payload}`).sort()).toEqual(['a/b=3', 'a/c=2'])
      expect(store.matchRetained('#', now).map((r) => r.topic).sort()).toEqual(['a/b', 'a/c'])
      expect(store.matchRetained('$SYS/#', now)).toHaveLength(1)
      expect(store.deleteRetained('a/b')).toBe(true)
      expect(store.deleteRetained('a/b')).toBe(false)
      store.setRetained({topic: 'a/c', payload: Buffer.alloc(0), qos: 0})
      expect(store.retainedCount).toBe(1)
    })

    it('drops expired retained messages while matching and reports them', async () => {
      await open()
      const now = Date.now()
      store.setRetained({topic: 'e/1', payload: Buffer.from('old'), qos: 1, expiresAt: now - 1})
      store.setRetained({topic: 'e/2', payload: Buffer.from('live'), qos: 1, expiresAt: now + 60_000})
      const expired: Array<{topic: string}> = []
      expect(store.matchRetained('e/#', now, expired as never).map((r) => r.topic)).toEqual(['e/2'])
      expect(expired.map((r) => r.topic)).toEqual(['e/1'])
      expect(store.retainedCount).toBe(1)
    })

    it('calls back whenDurable for what was reported, and is not degraded', async () => {
      await open()
      let immediate = false
      store.whenDurable(0, (err) => {
        expect(err).toBeUndefined()
        immediate = true
      })
      expect(immediate).toBe(true)
      const before = store.writeSeq
      const a = store.createSession('a', 60)
      store.addSubscription(a, 't', opts(1))
      store.enqueue(a, delivery(msg('t', 'x')))
      expect(store.writeSeq).toBeGreaterThanOrEqual(before)
      await durable(store)
      expect(store.degraded).toBe(false)
    })

    it('a clean session (expiry 0) never advances writeSeq', async () => {
      await open()
      const before = store.writeSeq
      const c = store.createSession('clean', 0)
      store.addSubscription(c, 't', opts(1))
      store.enqueue(c, delivery(msg('t', 'x')))
      store.setInflight(c, delivery(msg('t', 'y'), 2, {packetId: 1}))
      store.addIncoming(c, 3)
      store.deleteSession('clean')
      expect(store.writeSeq).toBe(before)
    })

    describe.runIf(persistent)('across a restart', () => {
      it('keeps persistent sessions with everything in them, retained messages, and no clean session', async () => {
        await open()
        const now = Date.now()
        const a = store.createSession('a', 3600)
        store.addSubscription(a, 'x/#', opts(1, {retainAsPublished: true}))
        store.addSubscription(a, 'y/+', opts(2, {subscriptionId: 42, retainHandling: 2}))
        store.addSubscription(a, 'gone', opts(0))
        store.removeSubscription(a, 'gone')
        const shared = msg('x/1', 'shared by two', {qos: 2, properties: {contentType: 'text/plain', correlationData: Buffer.from([1, 2, 3]), userProperties: {k: 'v'}}, expiresAt: now + 3_600_000})
        ;(shared as {raw?: Buffer}).raw = Buffer.from([0x26, 0, 1, 0x6b, 0, 1, 0x76]) // user property k=v as received
        store.enqueue(a, delivery(shared, 1, {subscriptionIds: [42]}))
        store.enqueue(a, delivery(msg('x/2', 'second'), 2))
        store.enqueue(a, delivery(msg('x/3', 'third'), 1))
        const head = store.dequeue(a)!
        head.packetId = 7
        store.setInflight(a, head) // the first queued one went into flight
        const q2 = delivery(msg('x/4', 'qos 2 released'), 2, {packetId: 8, released: true})
        store.setInflight(a, q2)
        store.setInflight(a, delivery(msg('x/5', 'acked'), 1, {packetId: 9}))
        store.deleteInflight(a, 9)
        store.addIncoming(a, 100)
        store.addIncoming(a, 101)
        store.deleteIncoming(a, 101)
        a.disconnectedAt = now - 5000
        a.pendingWill = {topic: 'will/a', payload: Buffer.from('bye'), qos: 1, retain: true, delay: 30, properties: {contentType: 'x'}}
        a.willAt = now + 25_000
        store.touchSession(a)

        const b = store.createSession('b', 60)
        store.enqueue(b, delivery(shared, 2)) // the same message in two sessions
        const c = store.createSession('clean', 0)
        store.addSubscription(c, 'z', opts(0))
        store.enqueue(c, delivery(msg('z', 'not kept')))
        const gone = store.createSession('gone', 60)
        store.addSubscription(gone, 'g', opts(1))
        store.deleteSession('gone')

        const rawProps = Buffer.from([0x03, 0, 1, 0x63]) // content type "c" as the publisher sent it
        store.setRetained({topic: 'r/1', payload: Buffer.from('kept'), qos: 1, properties: {contentType: 'c'}, expiresAt: now + 60_000, raw: rawProps} as never)
        store.setRetained({topic: 'r/2', payload: Buffer.from('deleted'), qos: 0})
        store.deleteRetained('r/2')

        const before = {a: picture(a, true), b: picture(b, true)}
        await durable(store)
        const again = await sut.reopen!()
        store = again
        await store.open()
        expect(store.getSession('clean')).toBeUndefined()
        expect(store.getSession('gone')).toBeUndefined()
        expect(store.sessionCount).toBe(2)
        expect(picture(store.getSession('a'))).toEqual(before.a)
        expect(picture(store.getSession('b'))).toEqual(before.b)
        // Restored in-flight deliveries count as sent (a resend carries DUP) and packet ids continue.
        expect(store.getSession('a')!.inflight!.get(7)!.sent).toBe(true)
        expect(store.getSession('a')!.lastPacketId).toBe(8)
        expect(store.getSession('a')!.inflight!.get(7)!.msg).toBe(store.getSession('b')!.queue![0].msg)
        // The queue's byte count (Outbound's bound) is rebuilt from what was loaded.
        const bytes = (s: SessionRecord) => (s.queue ?? []).reduce((n, d) => n + messageBytes(d), 0)
        expect(store.getSession('a')!.queuedBytes).toBe(bytes(store.getSession('a')!))
        expect(store.retainedCount).toBe(1)
        const [r] = store.matchRetained('r/#', now)
        expect((r as {raw?: Buffer}).raw?.toString('hex')).toBe(rawProps.toString('hex'))
        expect({topic: r.topic, payload: r.payload.toString(), qos: r.qos, properties: r.properties, expiresAt: r.expiresAt}).toEqual({
          topic: 'r/1',
          payload: 'kept',
          qos: 1,
          properties: {contentType: 'c'},
          expiresAt: now + 60_000,
        })
        // Changes after the restart are kept too.
        store.deleteSession('b')
        const a2 = store.getSession('a')!
        store.dequeue(a2)
        store.deleteInflight(a2, 7)
        const after = picture(a2) as {queue: unknown[]}
        await durable(store)
        store = await sut.reopen!()
        await store.open()
        expect(store.getSession('b')).toBeUndefined()
        // The dequeued one is not in flight: a restart puts it back at the head of the queue.
        expect((picture(store.getSession('a')) as {queue: unknown[]}).queue).toHaveLength(after.queue.length + 1)
      })

      it('a session that stops being persistent is forgotten; one that becomes persistent is kept whole', async () => {
        await open()
        const a = store.createSession('a', 60)
        store.addSubscription(a, 'a', opts(1))
        a.expiryInterval = 0
        store.touchSession(a)
        const b = store.createSession('b', 0)
        store.addSubscription(b, 'b', opts(2))
        store.enqueue(b, delivery(msg('b', 'queued before')))
        b.expiryInterval = 120
        store.touchSession(b)
        const before = picture(b, true)
        await durable(store)
        store = await sut.reopen!()
        await store.open()
        expect(store.getSession('a')).toBeUndefined()
        expect(picture(store.getSession('b'))).toEqual(before)
      })
    })
  })
}
