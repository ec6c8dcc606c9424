/** src/broker/sessions/sessions.ts on its own, on a ManualClock: open/resume/clean start, detach with wills and will delay, expiry, shared redistribution. */
import {describe, expect, it} from 'vitest'
import {AllowAll} from '../../../src/broker/auth/authorizer.js'
import type {Connection} from '../../../src/broker/connection.js'
import {memoryLogger} from '../../../src/broker/log.js'
import type {Delivery, Message} from '../../../src/broker/message.js'
import {Outbound} from '../../../src/broker/outbound.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import type {WillRecord} from '../../../src/broker/persistence/store.js'
import {Sessions} from '../../../src/broker/sessions/sessions.js'
import {BrokerStats} from '../../../src/broker/stats/counters.js'
import {Subscriptions} from '../../../src/broker/subscriptions.js'
import {ManualClock} from '../../helpers/clock.js'

function setup() {
  const store = new MemoryStore()
  const stats = new BrokerStats()
  const clock = new ManualClock(1_000_000)
  const logger = memoryLogger()
  const subscriptions = new Subscriptions({store, stats, matchCacheSize: 10})
  const limits = {maxQueuedMessages: 100, maxQueuedBytes: 1 << 20, maxAliasBytes: 1 << 20}
  const outbound = new Outbound({limits, stats, store, clock, clients: new Map(), authorizer: new AllowAll()})
  const published: Array<{msg: Message; at: number}> = []
  const redelivered: string[] = []
  let redeliver = false
  const sessions = new Sessions({
    store,
    stats,
    clock,
    logger,
    subscriptions,
    outbound,
    publish: (msg) => void published.push({msg, at: clock.now()}),
    redeliverShared: (d: Delivery) => (redelivered.push(d.msg.payload.toString()), redeliver),
    logDebug: () => {},
  })
  const conn = (clientId: string, will?: WillRecord, normal = false) => ({clientId, will, normalDisconnect: normal, session: undefined}) as unknown as Connection
  return {store, stats, clock, subscriptions, sessions, published, redelivered, conn, setRedeliver: (v: boolean) => (redeliver = v)}
}

const will = (delay = 0): WillRecord => ({topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: false, delay, properties: {messageExpiryInterval: 30, contentType: 'x'}})

describe('Sessions', () => {
  it('open: new, resumed (present), and clean start ending the old one (its pending will goes out first)', () => {
    const {sessions, store, stats, conn, clock, published} = setup()
    const c = conn('a', will(60))
    const first = sessions.open(c, false, 300)
    expect(first.present).toBe(false)
    ;(c as {session: unknown}).session = first.session
    sessions.detach(c)
    expect(stats.sessionsOrphan).toBe(1)
    const again = sessions.open(conn('a'), false, 300)
    expect([again.present, again.session.pendingWill, stats.sessionsOrphan]).toEqual([true, undefined, 0]) // resumed: the delayed will is cancelled
    ;(c as {session: unknown}).session = again.session
    c.will = will(60)
    sessions.detach(c)
    clock.advance(1000)
    const fresh = sessions.open(conn('a'), true, 0)
    expect(fresh.present).toBe(false)
    expect(published.map((p) => p.msg.payload.toString())).toEqual(['bye'])
    expect(store.sessionCount).toBe(1)
  })

  it('detach: expiry 0 publishes the will and ends the session with its subscriptions; a normal disconnect has no will', () => {
    const {sessions, store, subscriptions, conn, published} = setup()
    const c = conn('z', will())
    const {session} = sessions.open(c, true, 0)
    ;(c as {session: unknown}).session = session
    subscriptions.add(session, 't/#', {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0})
    sessions.detach(c)
    expect(published).toHaveLength(1)
    expect(published[0].msg.properties).toEqual({contentType: 'x'}) // the expiry interval became expiresAt
    expect(published[0].msg.expiresAt).toBe(1_000_000 + 30_000)
    expect([store.sessionCount, subscriptions.size]).toEqual([0, 0])
    const n = conn('n', will(), true)
    ;(n as {session: unknown}).session = sessions.open(n, true, 0).session
    sessions.detach(n)
    expect(published).toHaveLength(1)
  })

  it('will delay and session expiry run on the clock: the will after its delay, the session gone at its expiry', () => {
    const {sessions, store, stats, clock, conn, published} = setup()
    const c = conn('d', will(5))
    ;(c as {session: unknown}).session = sessions.open(c, false, 20).session
    sessions.detach(c)
    clock.advance(4000)
    expect(published).toHaveLength(0)
    clock.advance(2000) // the wheel counts in whole seconds
    expect(published).toHaveLength(1)
    expect(store.getSession('d')).toBeDefined()
    clock.advance(15_000)
    expect(store.getSession('d')).toBeUndefined()
    expect([stats.sessionsOrphan, stats.sessionsTotal]).toEqual([0, 0])
  })

  it('a leaving shared-group member: its queued shared deliveries go to another member, or stay queued for its return', () => {
    const {sessions, conn, redelivered, setRedeliver, store} = setup()
    const c = conn('m', undefined, true)
    const {session} = sessions.open(c, false, 60)
    ;(c as {session: unknown}).session = session
    const d = (p: string): Delivery => ({msg: {topic: 's', payload: Buffer.from(p), qos: 1, retain: false, expiresAt: 0}, qos: 1, retain: false, packetId: 0, released: false, sent: false, shared: '$share/g/s'})
    store.enqueue(session, d('q1'))
    setRedeliver(true)
    sessions.detach(c)
    expect(redelivered).toEqual(['q1'])
    expect(session.queue).toBeUndefined()
    const again = sessions.open(conn('m'), false, 60)
    ;(c as {session: unknown}).session = again.session
    store.enqueue(again.session, d('q2'))
    setRedeliver(false)
    sessions.detach(c)
    expect(again.session.queue!.map((x) => x.msg.payload.toString())).toEqual(['q2'])
  })
})
