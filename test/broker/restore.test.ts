/**
 * Restoring a store's sessions at listen() directly (restore.ts): subscriptions back in the index,
 * sessions connected at the stop counted as disconnected from now, expiry and will deadlines
 * scheduled, statistics set (not added to); undoRestore() takes all of it back.
 */
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/broker/persistence/memory.js'
import {type RestoreDeps, restoreSessions, undoRestore} from '../../src/broker/restore.js'
import {wireServices, type WiringHost} from '../../src/broker/wiring.js'
import {DEFAULT_CONFIG} from '../../src/config/index.js'
import {ManualClock} from '../helpers/clock.js'

const NOW = Date.UTC(2026, 11, 3, 12)
const opts = {qos: 1 as const, noLocal: false, retainAsPublished: false, retainHandling: 0 as const}
const msg = (p: string) => ({topic: 't', payload: Buffer.from(p), qos: 1 as const, retain: false, expiresAt: 0})
const delivery = (p: string) => ({msg: msg(p), qos: 1 as const, retain: false, packetId: 0, released: false, sent: false})

function setup() {
  const store = new MemoryStore()
  const clock = new ManualClock(NOW)
  const published: string[] = []
  const host: WiringHost = {
    flushAll: () => {},
    publishMessage: (m) => (published.push(m.topic), true),
    touchConnection: () => {},
    logDebug: () => {},
  }
  const services = wireServices({...DEFAULT_CONFIG, listeners: []}, {store, clock}, host)
  const deps: RestoreDeps = {store, subscriptions: services.subscriptions, sessions: services.sessions, stats: services.stats}
  return {store, clock, services, deps, published}
}
const subscribers = (s: ReturnType<typeof setup>, topic: string) => s.services.subscriptions.match(topic).clients.map((c) => c.clientId).sort()

describe('restoreSessions', () => {
  it('puts every stored subscription back in the index', () => {
    const s = setup()
    const a = s.store.createSession('a', 60)
    a.subscriptions.set('x/+', opts)
    a.subscriptions.set('y', opts)
    s.store.createSession('b', 60).subscriptions.set('x/1', opts)
    expect(subscribers(s, 'x/1')).toEqual([])
    restoreSessions(s.deps, NOW)
    expect(subscribers(s, 'x/1')).toEqual(['a', 'b'])
    expect(subscribers(s, 'y')).toEqual(['a'])
  })

  it('a session without a disconnect time is disconnected from now; one with a time keeps it', () => {
    const s = setup()
    const live = s.store.createSession('live', 60)
    const gone = s.store.createSession('gone', 60)
    gone.disconnectedAt = NOW - 5000
    restoreSessions(s.deps, NOW)
    expect(live.disconnectedAt).toBe(NOW)
    expect(gone.disconnectedAt).toBe(NOW - 5000)
  })

  it('statistics are set to what was kept, replacing earlier figures', () => {
    const s = setup()
    s.services.stats.sessionsOrphan = 99
    s.services.stats.messagesQueued = 99
    const a = s.store.createSession('a', 60)
    a.queue = [delivery('1'), delivery('2')]
    s.store.createSession('b', 60).queue = [delivery('3')]
    s.store.createSession('c', 60)
    s.store.setRetained({topic: 'r', payload: Buffer.from('v'), qos: 0})
    restoreSessions(s.deps, NOW)
    expect(s.services.stats).toMatchObject({messagesQueued: 3, sessionsOrphan: 3, sessionsTotal: 3, retainedMessages: 1})
  })

  it('expiry counts the time the broker was down: a session already past it ends at its deadline, its will goes out', () => {
    const s = setup()
    const expired = s.store.createSession('expired', 10)
    expired.disconnectedAt = NOW - 11_000
    expired.pendingWill = {topic: 'will/expired', payload: Buffer.from('x'), qos: 0, retain: false, delay: 3600}
    expired.willAt = NOW + 3_600_000
    const later = s.store.createSession('later', 10)
    later.disconnectedAt = NOW - 5000
    s.store.createSession('never', 0xffffffff).disconnectedAt = NOW - 1
    restoreSessions(s.deps, NOW)
    expect(s.services.sessions.deadlines.size).toBe(2) // 'never' has no deadline
    s.clock.advance(0)
    expect(s.store.getSession('expired')).toBeUndefined()
    expect(s.published).toEqual(['will/expired'])
    expect(s.store.getSession('later')).toBeDefined()
    s.clock.advance(5000)
    expect(s.store.getSession('later')).toBeUndefined()
    expect(s.store.getSession('never')).toBeDefined()
  })
})

describe('undoRestore', () => {
  it('takes the subscriptions out of the index and cancels the deadlines', () => {
    const s = setup()
    const a = s.store.createSession('a', 60)
    a.subscriptions.set('x/#', opts)
    a.disconnectedAt = NOW
    restoreSessions(s.deps, NOW)
    expect(s.services.sessions.deadlines.size).toBe(1)
    undoRestore(s.deps)
    expect(subscribers(s, 'x/1')).toEqual([])
    expect(s.services.sessions.deadlines.size).toBe(0)
    expect(s.services.stats.sessionsOrphan).toBe(0)
    s.clock.advance(120_000)
    expect(s.store.getSession('a')).toBeDefined() // no expiry ran
    expect(a.subscriptions.size).toBe(1) // the store's copy is kept
  })
})
