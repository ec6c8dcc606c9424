import {describe, expect, it} from 'vitest'

import {topicMatchesFilter} from '../../../src/broker/protocol/topics.js'
import {SubscriptionIndex, type SubOptions} from '../../../src/broker/topics/index.js'

const qos0: SubOptions = {qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0}

/** Filters subscribed by one client each (client id = filter), matched against topics. */
const FILTERS = [
  'sport/tennis/player1/#',
  'sport/tennis/+',
  'sport/#',
  'sport/+',
  '#',
  '+',
  '+/+',
  '/+',
  '/finance',
  '+/tennis/#',
  '$SYS/#',
  '$SYS/monitor/+',
  '+/monitor/Clients',
  'a//b',
  'a/+/b',
  '+/+/+',
  'sport',
]

// [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.2-1] and the examples of MQTT 5 §4.7.
const CASES: Array<[topic: string, expected: string[]]> = [
  ['sport/tennis/player1', ['sport/tennis/player1/#', 'sport/tennis/+', 'sport/#', '#', '+/tennis/#', '+/+/+']],
  ['sport/tennis/player1/ranking', ['sport/tennis/player1/#', 'sport/#', '#', '+/tennis/#']],
  ['sport/tennis/player1/score/wimbledon', ['sport/tennis/player1/#', 'sport/#', '#', '+/tennis/#']],
  ['sport', ['sport/#', '#', '+', 'sport']],
  ['sport/', ['sport/#', 'sport/+', '#', '+/+']],
  ['sport/tennis', ['sport/#', 'sport/+', '#', '+/+', '+/tennis/#']],
  ['/finance', ['#', '+/+', '/+', '/finance']],
  ['finance', ['#', '+']],
  ['a//b', ['#', 'a//b', 'a/+/b', '+/+/+']],
  ['a/b', ['#', '+/+']],
  ['$SYS/monitor/Clients', ['$SYS/#', '$SYS/monitor/+']],
  ['$SYS', ['$SYS/#']],
  ['$other/x', []],
  ['x/monitor/Clients', ['#', '+/monitor/Clients', '+/+/+']],
]

describe('SubscriptionIndex.match: filters against topics', () => {
  const index = new SubscriptionIndex({cacheSize: 0})
  for (const f of FILTERS) index.subscribe(f, f, qos0)

  it.each(CASES)('%j', (topic, expected) => {
    const got = index
      .match(topic)
      .clients.map((c) => c.clientId)
      .sort()
    expect(got).toEqual([...expected].sort())
  })

  // The trie and the string matcher used for cache invalidation must agree on every pair.
  it.each(CASES)('topicMatchesFilter agrees with the trie for %j', (topic) => {
    const byString = FILTERS.filter((f) => topicMatchesFilter(f, topic)).sort()
    const byTrie = index
      .match(topic)
      .clients.map((c) => c.clientId)
      .sort()
    expect(byString).toEqual(byTrie)
  })

  it.each(CASES)('shared subscriptions follow the same rules: %j', (topic, expected) => {
    const shared = new SubscriptionIndex({cacheSize: 0})
    for (const f of FILTERS) shared.subscribe('c', `$share/g/${f}`, qos0)
    const got = shared
      .match(topic)
      .shared.map((s) => s.filter)
      .sort()
    expect(got).toEqual([...expected].sort())
  })
})

describe('SubscriptionIndex: trie upkeep', () => {
  it.each<[string, string[]]>([
    ['literal', ['a/b/c']],
    ['wildcards', ['+/b/#', '#', '+']],
    ['siblings', ['a/b', 'a/c', 'a/d', 'a']],
    ['deep and shallow', ['a/b/c/d/e', 'a/b', 'a/#']],
    ['shared and plain on one filter', ['$share/g/a/b', 'a/b', '$share/h/a/b']],
  ])('subscribe then unsubscribe everything leaves an empty index: %s', (_name, filters) => {
    const index = new SubscriptionIndex({cacheSize: 16})
    for (const f of filters) {
      index.subscribe('c1', f, qos0)
      index.subscribe('c2', f, qos0)
    }
    expect(index.size).toBe(filters.length * 2)
    for (const f of filters) {
      expect(index.unsubscribe('c1', f)).toBe(true)
      expect(index.unsubscribe('c2', f)).toBe(true)
      expect(index.unsubscribe('c2', f)).toBe(false)
    }
    expect(index.size).toBe(0)
    expect(index.nodeCount()).toBe(1)
  })
})
