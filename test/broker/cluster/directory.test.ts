/**
 * Session records from JetStream (src/broker/cluster/directory.ts parseEntry) are network input:
 * anything but a well-formed record for that client id is ignored (undefined), never thrown.
 */
import {describe, expect, it} from 'vitest'
import {parseEntry} from '../../../src/broker/cluster/directory.js'

const opts = {qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0}
const good = {clientId: 'dev-1', node: 'node-a', expiryInterval: 600, subscriptions: [['a/#', opts], ['$share/g/b', {...opts, qos: 2, subscriptionId: 7}]]}
const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v))

describe('session directory records', () => {
  it('a well-formed record is read back as it was written', () => {
    expect(parseEntry('dev-1', bytes(good))).toEqual(good)
  })

  it.each([
    ['not JSON', '{'],
    ['null', 'null'],
    ['another client id (a hash collision or a forged record)', {...good, clientId: 'dev-2'}],
    ['a node token NATS cannot carry', {...good, node: 'a.b'}],
    ['a node token too long', {...good, node: 'x'.repeat(49)}],
    ['a clean session (expiry 0)', {...good, expiryInterval: 0}],
    ['expiry beyond 32 bits', {...good, expiryInterval: 2 ** 32}],
    ['expiry not an integer', {...good, expiryInterval: 1.5}],
    ['subscriptions not a list', {...good, subscriptions: {}}],
    ['an invalid filter', {...good, subscriptions: [['a/#/b', opts]]}],
    ['a filter with U+0000', {...good, subscriptions: [['a/\u0000', opts]]}],
    ['QoS 3', {...good, subscriptions: [['a', {...opts, qos: 3}]]}],
    ['a subscription identifier of 0', {...good, subscriptions: [['a', {...opts, subscriptionId: 0}]]}],
    ['options missing', {...good, subscriptions: [['a']]}],
    ['too many subscriptions', {...good, subscriptions: Array.from({length: 10_001}, (_, i) => [`t/${i}`, opts])}],
  ])('%s: ignored', (_why, record) => {
    expect(parseEntry('dev-1', bytes(record))).toBeUndefined()
  })

  it('3,000 random mutations of a record never throw', () => {
    const base = bytes(good)
    let seed = 42
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    for (let i = 0; i < 3000; i++) {
      const b = Buffer.from(base)
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256)
      expect(() => parseEntry('dev-1', b)).not.toThrow()
    }
  })
})
