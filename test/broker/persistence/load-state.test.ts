/**
 * The load's replay target directly (load-state.ts): absolute changes by key in replay order,
 * queues in queue-id order whatever order the ids came in, holes for dequeued ones, records of
 * unknown sessions or messages ignored, and finish(): sessions connected at a crash become
 * disconnected at the down time, their connection's will due by its delay from then.
 */
import {describe, expect, it} from 'vitest'
import type {Message} from '../../../src/broker/message.js'
import {type Rec, T} from '../../../src/broker/persistence/codec.js'
import {LoadState} from '../../../src/broker/persistence/load-state.js'
import type {SessionRecord, WillRecord} from '../../../src/broker/persistence/store.js'
import {msg, opts} from './helpers.js'

const header = (clientId: string, t: T.Session | T.SessionNew = T.SessionNew, extra: Partial<SessionRecord> = {}): Rec => ({t, clientId, expiryInterval: 60, disconnectedAt: 1000, willAt: 0, ...extra}) as Rec
const m = (msgId: number, payload: string): Rec => ({t: T.Msg, msgId, msg: msg('t', payload)})
const q = (clientId: string, qid: number, msgId: number): Rec => ({t: T.Queue, clientId, qid, msgId, qos: 1, retain: false})
const deq = (clientId: string, qid: number): Rec => ({t: T.Dequeue, clientId, qid})
const will: WillRecord = {topic: 'dead', payload: Buffer.from('x'), qos: 1, retain: false, delay: 30}

function load(recs: Rec[], downAt = 5000) {
  const st = new LoadState()
  for (const r of recs) st.apply(r)
  const crashed: SessionRecord[] = []
  const sessions = new Map([...st.finish(downAt, crashed)].map((s) => [s.clientId, s]))
  return {st, sessions, crashed}
}
const payloads = (s: SessionRecord | undefined) => (s?.queue ?? []).map((d) => d.msg.payload.toString())

describe('LoadState', () => {
  it('a queue comes back in queue-id order, whatever order its records came in, without the dequeued ones', () => {
    const {sessions} = load([header('c'), m(1, 'a'), m(2, 'b'), m(3, 'c'), m(4, 'd'), q('c', 10, 1), q('c', 30, 3), q('c', 20, 2), q('c', 40, 4), deq('c', 30), deq('c', 99)])
    const s = sessions.get('c')!
    expect(payloads(s)).toEqual(['a', 'b', 'd'])
    expect(s.queue!.map((d) => d.storeQid)).toEqual([10, 20, 40])
    expect(s.queuedBytes).toBe(3 * (1 + 1 + 16)) // payload + topic + 16 each
  })

  it('a queue id seen again (a journal replayed over the snapshot that has it) replaces the delivery in its place', () => {
    const {sessions} = load([header('c'), m(1, 'old'), m(2, 'new'), m(3, 'next'), q('c', 5, 1), q('c', 6, 3), q('c', 5, 2)])
    expect(payloads(sessions.get('c'))).toEqual(['new', 'next'])
    const last = load([header('c'), m(1, 'old'), m(2, 'new'), q('c', 5, 1), q('c', 5, 2)]).sessions.get('c')
    expect(payloads(last)).toEqual(['new']) // the same id as the last one: replaced, not appended
  })

  it('a long queue with ids in any order and dequeues anywhere matches a plain model of it', () => {
    let seed = 7
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n
    const recs: Rec[] = [header('c'), m(1, 'm')]
    const model = new Map<number, true>()
    for (let i = 0; i < 400; i++) {
      const qid = 2 + rand(300)
      if (rand(3) === 0) {
        recs.push(deq('c', qid))
        model.delete(qid)
      } else {
        recs.push(q('c', qid, 1))
        model.set(qid, true)
      }
    }
    const got = load(recs).sessions.get('c')!.queue!.map((d) => d.storeQid)
    expect(got).toEqual([...model.keys()].sort((a, b) => a - b))
  })

  it('SessionNew drops what an earlier session of that id had; Session changes the header and keeps the rest', () => {
    const sub: Rec = {t: T.Sub, clientId: 'c', filter: 'a/#', options: opts(1)}
    const kept = load([header('c'), sub, header('c', T.Session, {expiryInterval: 99, disconnectedAt: 7})]).sessions.get('c')!
    expect([...kept.subscriptions.keys()]).toEqual(['a/#'])
    expect(kept).toMatchObject({expiryInterval: 99, disconnectedAt: 7})
    const fresh = load([header('c'), sub, header('c', T.SessionNew), {t: T.Sub, clientId: 'c', filter: 'b', options: opts(0)}]).sessions.get('c')!
    expect([...fresh.subscriptions.keys()]).toEqual(['b'])
  })

  it('records of a deleted or unknown session, and deliveries of an unknown message, are ignored', () => {
    const {sessions, st} = load([
      header('c'),
      m(1, 'a'),
      {t: T.Sub, clientId: 'c', filter: 'x', options: opts(1)},
      {t: T.SessionDel, clientId: 'c'},
      {t: T.Sub, clientId: 'c', filter: 'y', options: opts(1)},
      q('c', 2, 1),
      q('ghost', 3, 1),
      header('d'),
      q('d', 4, 404),
      {t: T.Inflight, clientId: 'd', packetId: 1, fromQid: 0, released: false, msgId: 404, qos: 1, retain: false},
      {t: T.Incoming, clientId: 'ghost', packetId: 3},
    ])
    expect([...sessions.keys()]).toEqual(['d'])
    expect(sessions.get('d')!.queue).toBeUndefined()
    expect(sessions.get('d')!.inflight).toBeUndefined()
    expect(st.maxId).toBe(4) // queue ids are never reused, even those of records that were dropped
  })

  it('in flight: taken from the queue by fromQid, replaced by packet id, removed; packet ids continue past them', () => {
    const inflight = (packetId: number, fromQid: number, released: boolean): Rec => ({t: T.Inflight, clientId: 'c', packetId, fromQid, released, msgId: 1, qos: 2, retain: false})
    const {sessions} = load([header('c'), m(1, 'a'), q('c', 7, 1), q('c', 8, 1), inflight(300, 7, false), inflight(300, 0, true), inflight(12, 8, false), {t: T.InflightDel, clientId: 'c', packetId: 12}])
    const s = sessions.get('c')!
    expect(s.queue).toBeUndefined()
    expect([...s.inflight!.keys()]).toEqual([300])
    expect(s.inflight!.get(300)).toMatchObject({released: true, sent: true, packetId: 300, qos: 2})
    expect(s.lastPacketId).toBe(300)
  })

  it('incoming QoS 2 ids come and go', () => {
    const {sessions} = load([header('c'), {t: T.Incoming, clientId: 'c', packetId: 4}, {t: T.Incoming, clientId: 'c', packetId: 5}, {t: T.IncomingDel, clientId: 'c', packetId: 4}])
    expect([...sessions.get('c')!.incoming!]).toEqual([5])
  })

  it('retained: the last record of a topic wins, a delete removes it, expiry 0 means none', () => {
    const raw = Buffer.from([0x26])
    const {st} = load([
      {t: T.Retain, topic: 'a', payload: Buffer.from('1'), qos: 0, expiresAt: 0},
      {t: T.Retain, topic: 'a', payload: Buffer.from('2'), qos: 1, expiresAt: 9000, properties: {contentType: 'x'}, raw},
      {t: T.Retain, topic: 'b', payload: Buffer.from('3'), qos: 0, expiresAt: 0},
      {t: T.RetainDel, topic: 'b'},
    ])
    expect([...st.retained.keys()]).toEqual(['a'])
    expect(st.retained.get('a')).toEqual({topic: 'a', payload: Buffer.from('2'), qos: 1, expiresAt: 9000, properties: {contentType: 'x'}, raw})
    const plain = load([{t: T.Retain, topic: 'p', payload: Buffer.from('1'), qos: 0, expiresAt: 0}]).st.retained.get('p')!
    expect('expiresAt' in plain).toBe(false)
  })

  it('maxId is the largest message or queue id seen', () => {
    expect(load([m(9, 'a'), header('c'), q('c', 3, 9)]).st.maxId).toBe(9)
    expect(load([m(2, 'a'), header('c'), q('c', 30, 2)]).st.maxId).toBe(30)
  })

  it('a pending will is kept, and cleared by a later header without one', () => {
    const pending = load([header('c', T.SessionNew, {pendingWill: will, willAt: 777})]).sessions.get('c')!
    expect(pending).toMatchObject({pendingWill: will, willAt: 777})
    const cleared = load([header('c', T.SessionNew, {pendingWill: will, willAt: 777}), header('c', T.Session)]).sessions.get('c')!
    expect('pendingWill' in cleared).toBe(false)
  })

  it('finish: a session connected at the crash is disconnected since downAt, its will due by its delay from then', () => {
    const {sessions, crashed} = load(
      [
        header('live', T.SessionNew, {disconnectedAt: 0, connectionWill: will}),
        header('nowill', T.SessionNew, {disconnectedAt: 0}),
        header('gone', T.SessionNew, {disconnectedAt: 1234}),
      ],
      50_000,
    )
    expect(crashed.map((s) => s.clientId)).toEqual(['live', 'nowill'])
    expect(sessions.get('live')).toMatchObject({disconnectedAt: 50_000, pendingWill: will, willAt: 50_000 + 30_000, connectionWill: undefined})
    expect(sessions.get('nowill')).toMatchObject({disconnectedAt: 50_000, willAt: 0})
    expect(sessions.get('nowill')!.pendingWill).toBeUndefined()
    expect(sessions.get('gone')).toMatchObject({disconnectedAt: 1234})
  })

  it('the message of consecutive records is shared, not copied per delivery', () => {
    const {sessions} = load([header('a'), m(1, 'x'), q('a', 2, 1), header('b'), q('b', 3, 1), m(4, 'y'), q('a', 5, 1)])
    const a = sessions.get('a')!.queue!
    const b = sessions.get('b')!.queue!
    expect(a[0].msg).toBe(b[0].msg)
    expect(a[1].msg).toBe(a[0].msg) // message 1 again after another message was last
    expect((a[0].msg as Message).payload.toString()).toBe('x')
  })
})
