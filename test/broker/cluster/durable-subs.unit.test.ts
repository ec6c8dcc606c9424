/**
 * cluster/durable-subs.ts without NATS: on a real Subscriptions service and MemoryStore, a (client,
 * filter) pair is durable interest while its session is persistent and its QoS is 1 or 2 (not
 * shared); the sink hears each change exactly once.
 */
import {describe, expect, it} from 'vitest'
import {watchDurableSubscriptions} from '../../../src/broker/cluster/durable-subs.js'
import {MemoryStore} from '../../../src/broker/persistence/memory.js'
import {BrokerStats} from '../../../src/broker/stats/counters.js'
import {Subscriptions} from '../../../src/broker/subscriptions.js'
import type {SubOptions} from '../../../src/broker/topics/types.js'

const q = (qos: 0 | 1 | 2): SubOptions => ({qos, noLocal: false, retainAsPublished: false, retainHandling: 0})

function setup() {
  const store = new MemoryStore()
  const subs = new Subscriptions({store, stats: new BrokerStats(), matchCacheSize: 100})
  const events: string[] = []
  watchDurableSubscriptions(subs, {added: (f) => events.push(`+${f}`), removed: (f) => events.push(`-${f}`)})
  return {store, subs, events}
}

describe('watchDurableSubscriptions', () => {
  it('QoS 1/2 of a persistent session is durable; QoS 0, a clean session and shared filters are not', () => {
    const {store, subs, events} = setup()
    const p = store.createSession('p', 60)
    const clean = store.createSession('c', 0)
    subs.add(p, 'a/#', q(1))
    subs.add(p, 'b', q(0))
    subs.add(p, '$share/g/c/#', q(2))
    subs.add(clean, 'd', q(2))
    expect(events).toEqual(['+a/#'])
    expect(subs.match('a/x').clients.map((c) => c.clientId)).toEqual(['p']) // the wrapped add still subscribes
  })

  it('a QoS change moves the filter in and out; re-subscribing at the same kind says nothing', () => {
    const {store, subs, events} = setup()
    const p = store.createSession('p', 60)
    subs.add(p, 'a', q(0))
    subs.add(p, 'a', q(1))
    subs.add(p, 'a', q(2))
    subs.add(p, 'a', q(0))
    expect(events).toEqual(['+a', '-a'])
  })

  it('every client counts: two sessions on one filter give two adds, each unsubscribe one remove', () => {
    const {store, subs, events} = setup()
    const [x, y] = [store.createSession('x', 10), store.createSession('y', 10)]
    subs.add(x, 'f', q(1))
    subs.add(y, 'f', q(1))
    expect(subs.remove(x, 'f')).toBe(true)
    expect(subs.remove(x, 'f')).toBe(false) // not subscribed any more: nothing to say
    subs.remove(y, 'f')
    expect(events).toEqual(['+f', '+f', '-f', '-f'])
  })

  it('removeAll and unrestore drop all of a session\'s durable filters; restore brings them back', () => {
    const {store, subs, events} = setup()
    const p = store.createSession('p', 60)
    subs.add(p, 'a', q(1))
    subs.add(p, 'b', q(2))
    subs.add(p, 'c', q(0))
    subs.unrestore(p)
    expect(events).toEqual(['+a', '+b', '-a', '-b'])
    events.length = 0
    subs.restore(p)
    expect(events).toEqual(['+a', '+b'])
    events.length = 0
    subs.removeAll(p)
    expect(events.sort()).toEqual(['-a', '-b'])
    expect(subs.size).toBe(0)
    subs.removeAll(p) // again: nothing held, nothing said
    expect(events).toHaveLength(2)
  })

  it('restore of a stored session that was never seen announces its durable filters once', () => {
    const {store, subs, events} = setup()
    const s = store.createSession('stored', 3600)
    store.addSubscription(s, 'x/#', q(1))
    store.addSubscription(s, 'y', q(0))
    subs.restore(s)
    subs.restore(s)
    expect(events).toEqual(['+x/#'])
  })

  it('changed(session, ended): every add and remove says so, removeAll / unrestore say the session ended, restore says nothing', () => {
    const store = new MemoryStore()
    const subs = new Subscriptions({store, stats: new BrokerStats(), matchCacheSize: 100})
    const changes: string[] = []
    watchDurableSubscriptions(subs, {added: () => {}, removed: () => {}}, (s, ended) => changes.push(`${s.clientId}:${ended ? 'ended' : 'changed'}`))
    const p = store.createSession('p', 60)
    subs.add(p, 'a', q(0))
    subs.remove(p, 'a')
    subs.removeAll(p)
    const r = store.createSession('r', 60)
    store.addSubscription(r, 'x/#', q(1))
    subs.restore(r)
    subs.unrestore(r)
    expect(changes).toEqual(['p:changed', 'p:changed', 'p:ended', 'r:ended'])
  })
})
