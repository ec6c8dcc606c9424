import {describe, expect, it} from 'vitest'

import {RetainedIndex, type RetainedMessage} from '../../../src/broker/retained.js'
import {BrokerStats} from '../../../src/broker/stats/counters.js'

const msg = (topic: string, payload = 'x', extra: Partial<RetainedMessage> = {}): RetainedMessage => ({
  topic,
  payload: Buffer.from(payload),
  qos: 0,
  ...extra,
})

const TOPICS = [
  'sport',
  'sport/tennis',
  'sport/tennis/player1',
  'sport/tennis/player1/ranking',
  'sport/golf',
  '/finance',
  'a//b',
  '$SYS/broker/uptime',
  '$SYS',
]

describe('RetainedIndex.match', () => {
  const index = new RetainedIndex()
  for (const t of TOPICS) index.set(msg(t))

  it.each<[string, string[]]>([
    ['sport/tennis/player1/#', ['sport/tennis/player1', 'sport/tennis/player1/ranking']],
    ['sport/#', ['sport', 'sport/tennis', 'sport/tennis/player1', 'sport/tennis/player1/ranking', 'sport/golf']],
    ['sport/+', ['sport/tennis', 'sport/golf']],
    ['sport/tennis/+', ['sport/tennis/player1']],
    ['+', ['sport']],
    ['+/+', ['sport/tennis', 'sport/golf', '/finance']],
    ['/+', ['/finance']],
    ['/finance', ['/finance']],
    ['+/+/+', ['sport/tennis/player1', 'a//b']],
    ['a/+/b', ['a//b']],
    ['#', TOPICS.filter((t) => !t.startsWith('$'))], // [MQTT-4.7.2-1]
    ['$SYS/#', ['$SYS/broker/uptime', '$SYS']],
    ['+/broker/uptime', []],
    ['$SYS/+/uptime', ['$SYS/broker/uptime']],
    ['nothing/here', []],
    ['sport/tennis/player1/ranking/#', ['sport/tennis/player1/ranking']],
  ])('%j', (filter, expected) => {
    expect(index.match(filter).map((m) => m.topic).sort()).toEqual([...expected].sort())
  })
})

describe('RetainedIndex set / delete', () => {
  it('replaces per topic, deletes, prunes, and keeps stats.retainedMessages', () => {
    const stats = new BrokerStats()
    const index = new RetainedIndex({stats})
    const steps: Array<[op: () => unknown, size: number]> = [
      [() => index.set(msg('a/b', '1')), 1],
      [() => index.set(msg('a/b', '2')), 1],
      [() => index.set(msg('a', '3')), 2],
      [() => index.set(msg('a/b/c', '4')), 3],
      [() => expect(index.delete('a/b')).toBe(true), 2],
      [() => expect(index.delete('a/b')).toBe(false), 2],
      [() => expect(index.delete('nope/x')).toBe(false), 2],
      [() => index.set(msg('a', '')), 1], // zero-length payload removes [MQTT-3.3.1-6] [MQTT-3.3.1-7]
      [() => index.set(msg('q', '')), 1], // and is never stored
      [() => expect(index.delete('a/b/c')).toBe(true), 0],
    ]
    for (const [op, size] of steps) {
      op()
      expect(index.size).toBe(size)
      expect(stats.retainedMessages).toBe(size)
    }
    expect([...index.all()]).toEqual([])
    expect(index.match('#')).toEqual([])
  })

  it('match returns the latest message and all() lists every one', () => {
    const index = new RetainedIndex()
    index.set(msg('a/b', 'old'))
    index.set(msg('a/b', 'new'))
    index.set(msg('a/c', 'c'))
    expect(index.match('a/b').map((m) => m.payload.toString())).toEqual(['new'])
    expect(index.get('a/c')?.payload.toString()).toBe('c')
    expect([...index.all()].map((m) => m.topic).sort()).toEqual(['a/b', 'a/c'])
  })

  it.each<[string, number | undefined, string[]]>([
    ['no expiry', undefined, ['a/1', 'a/2']],
    ['expired', 999, ['a/2']],
    ['expires exactly now', 1000, ['a/2']],
    ['not yet expired', 1001, ['a/1', 'a/2']],
  ])('expired messages are skipped and dropped: %s', (_name, expiresAt, expected) => {
    const index = new RetainedIndex()
    index.set(msg('a/1', 'x', {expiresAt}))
    index.set(msg('a/2'))
    expect(index.match('a/+', 1000).map((m) => m.topic).sort()).toEqual(expected)
    expect(index.size).toBe(expected.length)
  })
})
