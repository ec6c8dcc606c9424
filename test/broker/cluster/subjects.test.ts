import {describe, expect, it} from 'vitest'
import {SubjectMap, escapeLevel, queueName, unescapeLevel} from '../../../src/broker/cluster/subjects.js'
import {topicMatchesFilter} from '../../../src/broker/protocol/topics.js'

/** NATS subject matching as nats-server does it: '*' one token, '>' one or more trailing tokens. */
function natsMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.')
  const s = subject.split('.')
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i
    if (i >= s.length) return false
    if (p[i] !== '*' && p[i] !== s[i]) return false
  }
  return p.length === s.length
}

/** A NATS token is non-empty and holds no whitespace, '.', and is not a lone wildcard. */
function validLiteralSubject(subject: string): boolean {
  return subject.split('.').every((t) => t.length > 0 && !/[\s]/.test(t) && t !== '*' && t !== '>')
}

const map = new SubjectMap({prefix: 'mqtt'})

describe('topic -> subject', () => {
  it.each([
    ['a', 'mqtt.t.a'],
    ['a/b/c', 'mqtt.t.a.b.c'],
    ['$SYS/broker/uptime', 'mqtt.s.$SYS.broker.uptime'],
    ['a//b', 'mqtt.t.a.~.b'],
    ['/', 'mqtt.t.~.~'],
    ['/a', 'mqtt.t.~.a'],
    ['a/', 'mqtt.t.a.~'],
    ['a.b/c d', 'mqtt.t.a~2Eb.c~20d'],
    ['*/>', 'mqtt.t.~2A.~3E'],
    ['~', 'mqtt.t.~7E'],
    ['tab\there', 'mqtt.t.tab~09here'],
    ['del\x7f', 'mqtt.t.del~7F'],
    ['héllo/温度', 'mqtt.t.héllo.温度'],
    ['a$/b', 'mqtt.t.a$.b'],
  ])('%j -> %j and back', (topic, subject) => {
    expect(map.topic(topic)).toBe(subject)
    expect(validLiteralSubject(subject)).toBe(true)
    expect(map.toTopic(subject)).toBe(topic)
    // The cached answer is the same.
    expect(map.topic(topic)).toBe(subject)
  })

  it('a channel adds a token after the prefix', () => {
    const r = new SubjectMap({prefix: 'site1.mq'}, 'r')
    expect(r.topic('a/b')).toBe('site1.mq.r.t.a.b')
    expect(r.toTopic('site1.mq.r.t.a.b')).toBe('a/b')
    expect(r.toTopic('mqtt.t.a.b')).toBeUndefined()
    expect(r.all).toBe('site1.mq.r.>')
  })

  it.each([
    ['mqtt.t'],
    ['mqtt.t.'],
    ['mqtt.t.a..b'],
    ['mqtt.t..a'],
    ['mqtt.t.a.'],
    ['mqtt.t.$SYS.x'], // '$' topics only under the other root
    ['mqtt.s.a'], // and only '$' topics there
    ['mqtt.t.~41'], // not canonical: 'A' is never escaped
    ['mqtt.t.~2'],
    ['mqtt.t.~zz'],
    ['mqtt.t.~2e'], // lower-case hex is not what we write
    ['mqtt.t.*'],
    ['mqtt.t.a.>'],
    ['mqtt.tx.a'],
    ['other.t.a'],
    ['mqtt.t.a b'],
    ['mqtt.t.a.+'], // a valid NATS subject, but not an MQTT topic name
    ['mqtt.t.a#'],
    [`mqtt.t.${Array.from({length: 129}, () => 'x').join('.')}`], // more levels than a topic may have
  ])('refuses %j', (subject) => {
    expect(map.toTopic(subject)).toBeUndefined()
  })

  it('every escaped character round-trips', () => {
    for (let c = 1; c < 0x80; c++) {
      const level = `x${String.fromCharCode(c)}y`
      const token = escapeLevel(level)
      expect(token).not.toMatch(/[\s.*>]/)
      expect(unescapeLevel(token)).toBe(level)
    }
  })

  it('a subject longer than maxSubjectBytes is not mapped', () => {
    const small = new SubjectMap({maxSubjectBytes: 64})
    expect(small.topic('a'.repeat(40))).toBe(`mqtt.t.${'a'.repeat(40)}`)
    expect(small.topic('a'.repeat(60))).toBeUndefined()
    // Escapes count: 20 spaces are 60 bytes.
    expect(small.topic(' '.repeat(20))).toBeUndefined()
    // Multi-byte characters count in bytes.
    expect(small.topic('温'.repeat(19))).toBeDefined() // 7 + 57 = 64 bytes
    expect(small.topic('温'.repeat(20))).toBeUndefined()
    expect(small.filter(`${'a'.repeat(60)}/#`).subjects).toEqual([])
  })

  it('refuses a prefix that is not NATS tokens', () => {
    expect(() => new SubjectMap({prefix: 'a b'})).toThrow(/subject prefix "a b" is not allowed/)
    expect(() => new SubjectMap({prefix: 'a.*'})).toThrow(/not allowed/)
    expect(() => new SubjectMap({prefix: ''})).toThrow(/not allowed/)
  })
})

describe('filter -> subjects', () => {
  it.each<[string, string[], string | undefined]>([
    ['a/b', ['mqtt.t.a.b'], undefined],
    ['a/+/c', ['mqtt.t.a.*.c'], undefined],
    ['a/#', ['mqtt.t.a.>', 'mqtt.t.a'], undefined],
    ['+/#', ['mqtt.t.*.>', 'mqtt.t.*'], undefined],
    ['#', ['mqtt.t.>'], undefined],
    ['+', ['mqtt.t.*'], undefined],
    ['$SYS/#', ['mqtt.s.$SYS.>', 'mqtt.s.$SYS'], undefined],
    ['a//+', ['mqtt.t.a.~.*'], undefined],
    ['a.b/+', ['mqtt.t.a~2Eb.*'], undefined],
    ['$share/g/a/#', ['mqtt.t.a.>', 'mqtt.t.a'], 'g'],
  ])('%j', (filter, subjects, group) => {
    const f = map.filter(filter)
    expect(f.subjects).toEqual(subjects)
    if (group === undefined) expect(f.queue).toBeUndefined()
    else expect(f.queue).toBe(queueName(group, f.filter))
  })

  it('queue groups differ per share name and per filter, and are valid NATS queue names', () => {
    const names = [queueName('g', 'a/#'), queueName('g', 'a/+'), queueName('h', 'a/#'), queueName('g/a', '#')]
    expect(new Set(names).size).toBe(names.length)
    for (const n of names) expect(n).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(map.filter('$share/g/a/#').queue).toBe(queueName('g', 'a/#'))
  })

  const topics = ['a', 'a/b', 'a/b/c', 'a//b', '/', '/a', 'a/', 'b', 'b/a', '$SYS', '$SYS/x', '$SYS/x/y', 'a.b/c', 'a b/c', '~/x', '*', '>', 'x/*']
  const filters = ['#', '+', '+/+', '+/#', 'a', 'a/#', 'a/+', 'a/+/c', '+/b', 'a//+', '/#', '/+', '+/', '$SYS/#', '$SYS/+', '$SYS', 'a.b/#', 'a b/+', '~/#', '*', '>', 'x/*', '+/*']

  it('a topic matches a filter in MQTT exactly when its subject matches one of the filter\'s subjects in NATS', () => {
    for (const filter of filters) {
      const {subjects} = map.filter(filter)
      for (const topic of topics) {
        const subject = map.topic(topic)!
        const nats = subjects.some((s) => natsMatches(s, subject))
        expect({filter, topic, nats}).toEqual({filter, topic, nats: topicMatchesFilter(filter, topic)})
      }
    }
  })

  it('the two subjects of "a/#" never both match one topic (no duplicate delivery)', () => {
    for (const filter of filters.filter((f) => f.endsWith('/#'))) {
      const {subjects} = map.filter(filter)
      for (const topic of topics) {
        const s = map.topic(topic)!
        expect(subjects.filter((p) => natsMatches(p, s)).length).toBeLessThanOrEqual(1)
      }
    }
  })
})
