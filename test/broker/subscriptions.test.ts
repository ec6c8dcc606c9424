/** src/broker/subscriptions.ts: the trie and the store's copy change together. */
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/broker/persistence/memory.js'
import {BrokerStats} from '../../src/broker/stats/counters.js'
import {Subscriptions} from '../../src/broker/subscriptions.js'
import type {SubOptions} from '../../src/broker/topics/types.js'

const q1: SubOptions = {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0}

describe('Subscriptions', () => {
  it('add / remove / removeAll keep the index and the session in step', () => {
    const store = new MemoryStore()
    const subs = new Subscriptions({store, stats: new BrokerStats(), matchCacheSize: 100})
    const s = store.createSession('c', 0)
    expect(subs.add(s, 'a/+', q1).isNew).toBe(true)
    expect(subs.add(s, 'a/+', {...q1, qos: 2}).isNew).toBe(false) // replaced [MQTT-3.8.4-3]
    subs.add(s, '$share/g/a/#', q1)
    expect([...s.subscriptions.keys()]).toEqual(['a/+', '$share/g/a/#'])
    expect(subs.match('a/x').clients.map((c) => [c.clientId, c.qos])).toEqual([['c', 2]])
    expect(subs.match('a/x').shared.map((g) => g.name)).toEqual(['$share/g/a/#'])
    expect(subs.remove(s, 'a/+')).toBe(true)
    expect(subs.remove(s, 'a/+')).toBe(false)
    expect(s.subscriptions.has('a/+')).toBe(false)
    subs.removeAll(s)
    expect([subs.size, s.subscriptions.size, subs.match('a/x').shared.length]).toEqual([0, 0, 0])
  })

  it('restore puts a stored session back into the index; unrestore takes it out again', () => {
    const store = new MemoryStore()
    const s = store.createSession('p', 60)
    store.addSubscription(s, 'x/#', q1)
    const subs = new Subscriptions({store, stats: new BrokerStats(), matchCacheSize: 0})
    expect(subs.match('x/1').clients).toHaveLength(0)
    subs.restore(s)
    expect(subs.match('x/1').clients.map((c) => c.clientId)).toEqual(['p'])
    subs.unrestore(s)
    expect(subs.size).toBe(0)
    expect(s.subscriptions.size).toBe(1) // the stored copy stays
  })

  it('shared groups: pick round-robin among usable members', () => {
    const store = new MemoryStore()
    const subs = new Subscriptions({store, stats: new BrokerStats(), matchCacheSize: 10})
    for (const id of ['m1', 'm2', 'm3']) subs.add(store.createSession(id, 0), '$share/g/t', q1)
    const group = subs.sharedGroup('$share/g/t')!
    const picks = Array.from({length: 4}, () => subs.pickShared(group)!.clientId)
    expect(picks).toEqual(['m1', 'm2', 'm3', 'm1'])
    expect(subs.pickShared(group, (id) => id === 'm3')!.clientId).toBe('m3')
    expect(subs.pickShared(group, () => false)).toBeUndefined()
  })
})
