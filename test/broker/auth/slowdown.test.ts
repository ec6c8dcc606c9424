/**
 * Failed-login slowing (src/broker/auth/slowdown.ts) on a ManualClock: the delay doubles up to its
 * cap, attempts from one address are answered one at a time, waiting attempts are bounded, addresses
 * are forgotten after forgetMs (not while one waits) and the table is bounded (least recent goes).
 */
import {describe, expect, it} from 'vitest'
import {DEFAULT_SLOWDOWN, hostOf, Slowdown} from '../../../src/broker/auth/slowdown.js'
import {ManualClock} from '../../helpers/clock.js'

const A = '192.0.2.1'
const B = '192.0.2.2'

function slowdown(options: ConstructorParameters<typeof Slowdown>[1] = {}) {
  const clock = new ManualClock(1_000_000)
  return {clock, s: new Slowdown(clock, options)}
}

describe('Slowdown', () => {
  it('delayFor: none before a failure, base after the first, doubling, capped at maxMs (no overflow)', () => {
    const {s} = slowdown()
    expect(s.options).toEqual(DEFAULT_SLOWDOWN)
    expect(s.delayFor(0)).toBe(0)
    expect(s.delayFor(-1)).toBe(0)
    expect([1, 2, 3, 4, 5, 6].map((f) => s.delayFor(f))).toEqual([200, 400, 800, 1600, 3200, 6400])
    expect(s.delayFor(7)).toBe(10_000)
    expect(s.delayFor(1_000_000)).toBe(10_000)
  })

  it('an address without failures is answered at once; after failures its attempts queue one delay apart', () => {
    const {clock, s} = slowdown({baseMs: 100, maxMs: 1000})
    expect(s.admit(A)).toEqual({wait: 0})
    expect(s.failed(A)).toBe(1)
    expect(s.failed(A)).toBe(2) // next attempt not before now + delayFor(2) = 200 ms
    expect(s.failures(A)).toBe(2)
    expect(s.admit(B)).toEqual({wait: 0}) // other addresses are not slowed

    const first = s.admit(A)
    const second = s.admit(A)
    const third = s.admit(A)
    expect(first).toMatchObject({wait: 200})
    expect(second).toMatchObject({wait: 400}) // parallel connections gain nothing
    expect(third).toMatchObject({wait: 600})

    clock.advance(1000) // all three slots are in the past: the next one is answered at once
    expect(s.admit(A)).toMatchObject({wait: 0})
  })

  it('at most maxWaiting attempts wait per address; release() frees a slot once', () => {
    const {s} = slowdown({maxWaiting: 2})
    s.failed(A)
    const a = s.admit(A)
    const b = s.admit(A)
    expect(s.admit(A)).toBe('busy')
    if (a === 'busy' || !('release' in a)) throw new Error('expected a waiting admission')
    a.release()
    a.release() // a second release does not free another slot
    const c = s.admit(A)
    expect(c).not.toBe('busy')
    expect(s.admit(A)).toBe('busy')
    expect(b).not.toBe('busy')
  })

  it('an address is forgotten forgetMs after its last failure, but not while an attempt waits', () => {
    const {clock, s} = slowdown({forgetMs: 60_000})
    s.failed(A)
    clock.advance(60_000)
    expect(s.failures(A)).toBe(1) // exactly forgetMs: still remembered
    const waiting = s.admit(A)
    clock.advance(1)
    expect(s.failures(A)).toBe(1) // one waits: kept
    if (waiting === 'busy' || !('release' in waiting)) throw new Error('expected a waiting admission')
    waiting.release()
    expect(s.failures(A)).toBe(0)
    expect(s.size).toBe(0)
    expect(s.admit(A)).toEqual({wait: 0})
  })

  it('the table is bounded: when full, the address that failed least recently goes', () => {
    const {clock, s} = slowdown({maxAddresses: 2})
    s.failed(A)
    clock.advance(1)
    s.failed(B)
    clock.advance(1)
    s.failed(A) // A is now the most recent
    s.failed('192.0.2.3')
    expect(s.size).toBe(2)
    expect(s.failures(B)).toBe(0)
    expect(s.failures(A)).toBe(2)
    expect(s.failures('192.0.2.3')).toBe(1)
  })

  it('a failure while slots are taken pushes the next slot no earlier than its own delay', () => {
    const {s} = slowdown({baseMs: 100, maxMs: 10_000})
    s.failed(A) // next at +100
    expect(s.admit(A)).toMatchObject({wait: 100}) // next at +200
    s.failed(A) // 2 failures: not before +200 (already)
    s.failed(A) // 3 failures: not before +400
    expect(s.admit(A)).toMatchObject({wait: 400})
  })
})

describe('hostOf', () => {
  it('drops the port of IPv4, bracketed IPv6 and IPv4-mapped addresses', () => {
    expect(hostOf('192.0.2.1:1883')).toBe('192.0.2.1')
    expect(hostOf('[::1]:1883')).toBe('::1')
    expect(hostOf('::ffff:192.0.2.1:5678')).toBe('192.0.2.1')
    expect(hostOf('2001:db8::1:5678')).toBe('2001:db8::1')
    expect(hostOf('no-port')).toBe('no-port')
  })
})
