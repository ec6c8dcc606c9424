import {describe, expect, it} from 'vitest'

import {BrokerStats} from '../../../src/broker/stats/counters.js'
import {SubscriptionIndex, type SubOptions} from '../../../src/broker/topics/index.js'

const opts = (o: Partial<SubOptions> = {}): SubOptions => ({
  qos: 0,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0,
  ...o,
})

describe('overlapping subscriptions of one client are merged', () => {
  it.each<[string, Array<[string, SubOptions]>, {qos: number; rap: boolean; ids: number[]; noLocal: boolean}]>([
    ['one sub', [['a/b', opts({qos: 1})]], {qos: 1, rap: false, ids: [], noLocal: false}],
    [
      'max qos',
      [
        ['a/b', opts({qos: 0})],
        ['a/+', opts({qos: 2})],
        ['#', opts({qos: 1})],
      ],
      {qos: 2, rap: false, ids: [], noLocal: false},
    ],
    [
      'all subscription ids',
      [
        ['a/b', opts({subscriptionId: 7})],
        ['a/#', opts({})],
        ['+/b', opts({subscriptionId: 9})],
      ],
      {qos: 0, rap: false, ids: [7, 9], noLocal: false},
    ],
    [
      'retainAsPublished and noLocal if any',
      [
        ['a/b', opts({retainAsPublished: true})],
        ['a/+', opts({noLocal: true})],
      ],
      {qos: 0, rap: true, ids: [], noLocal: true},
    ],
  ])('%s', (_name, subs, expected) => {
    const index = new SubscriptionIndex({cacheSize: 10})
    for (const [filter, o] of subs) index.subscribe('c1', filter, o)
    index.subscribe('other', 'x/y', opts())
    const {clients, shared} = index.match('a/b')
    expect(shared).toEqual([])
    expect(clients).toHaveLength(1)
    const [c] = clients
    expect(c.clientId).toBe('c1')
    expect(c.qos).toBe(expected.qos)
    expect(c.retainAsPublished).toBe(expected.rap)
    expect([...c.subscriptionIds].sort()).toEqual(expected.ids)
    expect(c.anyNoLocal).toBe(expected.noLocal)
    expect(c.subs.map((s) => s.filter).sort()).toEqual(subs.map(([f]) => f).sort())
  })

  it('keeps clients apart and exposes each sub with its options (noLocal per filter)', () => {
    const index = new SubscriptionIndex({cacheSize: 10})
    index.subscribe('c1', 'a/#', opts({noLocal: true}))
    index.subscribe('c1', 'a/b', opts({qos: 1}))
    index.subscribe('c2', 'a/b', opts({qos: 2}))
    const byId = new Map(index.match('a/b').clients.map((c) => [c.clientId, c]))
    expect([...byId.keys()].sort()).toEqual(['c1', 'c2'])
    expect(byId.get('c1')!.subs).toEqual([
      {filter: 'a/#', options: opts({noLocal: true})},
      {filter: 'a/b', options: opts({qos: 1})},
    ])
    expect(byId.get('c2')!.qos).toBe(2)
  })
})

describe('subscribe / unsubscribe', () => {
  it('same client + filter replaces the options [MQTT-3.8.4-3]', () => {
    const stats = new BrokerStats()
    const index = new SubscriptionIndex({cacheSize: 10, stats})
    expect(index.subscribe('c1', 'a/b', opts({qos: 0}))).toEqual({isNew: true})
    expect(index.match('a/b').clients[0].qos).toBe(0)
    expect(index.subscribe('c1', 'a/b', opts({qos: 2}))).toEqual({isNew: false})
    expect(index.match('a/b').clients[0].qos).toBe(2)
    expect(stats.subscriptions).toBe(1)
  })

  it.each<[string, string]>([
    ['never subscribed', 'a/b'],
    ['other filter', 'a/c'],
    ['prefix of a filter', 'a'],
    ['shared with another group', '$share/h/a/b'],
  ])('unsubscribe returns false: %s', (_name, filter) => {
    const index = new SubscriptionIndex({cacheSize: 10})
    index.subscribe('c1', 'a/b', opts())
    index.subscribe('c2', '$share/g/a/b', opts())
    expect(index.unsubscribe(_name === 'never subscribed' ? 'c3' : 'c1', filter)).toBe(false)
    expect(index.size).toBe(2)
  })

  it('stats.subscriptions counts (client, filter) pairs, shared ones included', () => {
    const stats = new BrokerStats()
    const index = new SubscriptionIndex({cacheSize: 10, stats})
    const steps: Array<[op: 'sub' | 'unsub', client: string, filter: string, expected: number]> = [
      ['sub', 'c1', 'a/b', 1],
      ['sub', 'c2', 'a/b', 2],
      ['sub', 'c1', 'a/#', 3],
      ['sub', 'c1', '$share/g/a/b', 4],
      ['sub', 'c2', '$share/g/a/b', 5],
      ['sub', 'c2', '$share/g/a/b', 5],
      ['unsub', 'c2', '$share/g/a/b', 4],
      ['unsub', 'c2', 'a/b', 3],
      ['unsub', 'c2', 'a/b', 3],
      ['unsub', 'c1', 'a/#', 2],
    ]
    for (const [op, client, filter, expected] of steps) {
      if (op === 'sub') index.subscribe(client, filter, opts())
      else index.unsubscribe(client, filter)
      expect(stats.subscriptions).toBe(expected)
    }
  })
})

describe('shared subscriptions', () => {
  const build = () => {
    const index = new SubscriptionIndex({cacheSize: 10})
    for (const c of ['s1', 's2', 's3']) index.subscribe(c, '$share/workers/jobs/+', opts({qos: 1}))
    index.subscribe('s4', '$share/other/jobs/#', opts())
    index.subscribe('plain', 'jobs/+', opts())
    return index
  }

  it('appear once per (group, filter), not among clients', () => {
    const {clients, shared} = build().match('jobs/1')
    expect(clients.map((c) => c.clientId)).toEqual(['plain'])
    expect(shared.map((s) => [s.group, s.filter, s.members.map((m) => m.clientId)]).sort()).toEqual([
      ['other', 'jobs/#', ['s4']],
      ['workers', 'jobs/+', ['s1', 's2', 's3']],
    ])
  })

  it.each<[string, ((id: string) => boolean) | undefined, Array<string | undefined>]>([
    ['round robin', undefined, ['s1', 's2', 's3', 's1', 's2']],
    ['skips unusable members', (id) => id !== 's2', ['s1', 's3', 's1', 's3']],
    ['none usable', () => false, [undefined, undefined]],
  ])('pickShared: %s', (_name, usable, expected) => {
    const index = build()
    const group = index.match('jobs/1').shared.find((s) => s.group === 'workers')!
    const picks = expected.map(() => index.pickShared(group, usable)?.clientId)
    expect(picks).toEqual(expected)
  })

  it('round robin continues across cached and fresh results and survives a member leaving', () => {
    const index = build()
    const group = () => index.match('jobs/1').shared.find((s) => s.group === 'workers')!
    expect(index.pickShared(group())?.clientId).toBe('s1')
    expect(index.pickShared(group())?.clientId).toBe('s2')
    index.unsubscribe('s1', '$share/workers/jobs/+')
    expect(group().members.map((m) => m.clientId)).toEqual(['s2', 's3'])
    expect(index.pickShared(group())?.clientId).toBe('s3')
    expect(index.pickShared(group())?.clientId).toBe('s2')
  })

  it('pickShared on a group object built by the caller takes the first usable member', () => {
    const index = build()
    const members = [
      {clientId: 'a', options: opts()},
      {clientId: 'b', options: opts()},
    ]
    const group = {group: 'g', filter: 'x', name: '$share/g/x', members}
    expect(index.pickShared(group)?.clientId).toBe('a')
    expect(index.pickShared(group, (id) => id === 'b')?.clientId).toBe('b')
  })

  it('a group that loses its last member disappears', () => {
    const index = build()
    index.unsubscribe('s4', '$share/other/jobs/#')
    expect(index.match('jobs/1').shared.map((s) => s.group)).toEqual(['workers'])
  })
})

describe('match cache', () => {
  it.each<[string, string, string, boolean]>([
    ['literal filter', 'a/b', 'a/b', true],
    ['+ filter', 'a/+', 'a/b', true],
    ['# filter', '#', 'a/b', true],
    ['parent via #', 'a/b/#', 'a/b', true],
    ['shared filter', '$share/g/a/+', 'a/b', true],
    ['unrelated literal', 'a/c', 'a/b', false],
    ['unrelated wildcard', 'x/+', 'a/b', false],
  ])('subscribe after a cached match shows up, unsubscribe disappears: %s', (_name, filter, topic, matches) => {
    const stats = new BrokerStats()
    const index = new SubscriptionIndex({cacheSize: 100, stats})
    index.subscribe('base', 'a/b', opts())
    const count = (t: string) => {
      const r = index.match(t)
      return r.clients.length + r.shared.length
    }
    expect(count(topic)).toBe(1)
    expect(count(topic)).toBe(1)
    expect(stats.matchCacheHits).toBe(1)
    index.subscribe('new', filter, opts())
    expect(count(topic)).toBe(matches ? 2 : 1)
    index.unsubscribe('new', filter)
    expect(count(topic)).toBe(1)
  })

  // With the cache off, a topic matched by one filter node is served from that node's memo: it must
  // follow every change of the node's subscribers too.
  it.each<[string, (index: SubscriptionIndex) => unknown, string[], number]>([
    ['second plain subscriber', (i) => i.subscribe('c2', 'a/b', opts()), ['c1', 'c2'], 0],
    ['options replaced', (i) => i.subscribe('c1', 'a/b', opts({qos: 2})), ['c1'], 0],
    ['subscriber leaves', (i) => i.unsubscribe('c1', 'a/b'), [], 0],
    ['shared group added', (i) => i.subscribe('s1', '$share/g/a/b', opts()), ['c1'], 1],
  ])('without a cache the per-filter memo follows changes: %s', (_name, change, clients, groups) => {
    const index = new SubscriptionIndex({cacheSize: 0})
    index.subscribe('c1', 'a/b', opts({qos: 1}))
    expect(index.match('a/b').clients.map((c) => c.clientId)).toEqual(['c1'])
    change(index)
    const result = index.match('a/b')
    expect(result.clients.map((c) => c.clientId).sort()).toEqual(clients)
    expect(result.shared).toHaveLength(groups)
    if (_name === 'options replaced') expect(result.clients[0].qos).toBe(2)
  })

  it('counts hits and misses, and the repeat is the very same object', () => {
    const stats = new BrokerStats()
    const index = new SubscriptionIndex({cacheSize: 100, stats})
    index.subscribe('c', 'a/+', opts())
    const first = index.match('a/1')
    expect(index.match('a/1')).toBe(first)
    index.match('a/2')
    index.match('none')
    index.match('none')
    expect([stats.matchCacheHits, stats.matchCacheMisses]).toEqual([2, 3])
    expect(stats.cacheHitRatio()).toBeCloseTo(0.4)
  })

  // Eviction drops the oldest entries in batches of cacheSize/64, so a full cache sits just below the bound.
  it.each<[number, number]>([
    [0, 0],
    [1, 1],
    [10, 10],
    [1000, 985],
  ])('cacheSize %i bounds the cache (at least %i entries after 5000 topics)', (cacheSize, atLeast) => {
    const index = new SubscriptionIndex({cacheSize})
    index.subscribe('c', '#', opts())
    for (let i = 0; i < 5000; i++) {
      index.match(`t/${i}`)
      expect(index.cachedTopics).toBeLessThanOrEqual(cacheSize)
    }
    expect(index.cachedTopics).toBeGreaterThanOrEqual(atLeast)
    expect(index.match('t/4999').clients).toHaveLength(1)
  })

  it.each<[string, number, number]>([
    ['scans a small cache', 100_000, 0],
    ['clears a cache above scanLimit', 10, 1],
  ])('wildcard invalidation %s', (_name, cacheScanLimit, clears) => {
    const index = new SubscriptionIndex({cacheSize: 1000, cacheScanLimit})
    index.subscribe('c', 'a/#', opts())
    for (let i = 0; i < 100; i++) index.match(`a/${i}`)
    for (let i = 0; i < 100; i++) index.match(`b/${i}`)
    index.subscribe('d', 'a/+', opts())
    expect(index.cacheInvalidations.clears).toBe(clears)
    expect(index.cachedTopics).toBe(clears ? 0 : 100)
    expect(index.match('a/5').clients.map((c) => c.clientId).sort()).toEqual(['c', 'd'])
  })
})
