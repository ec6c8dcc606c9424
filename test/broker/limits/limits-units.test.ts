/** The connection rate limit and the memory ceiling on a manual clock. */
import {describe, expect, it} from 'vitest'
import {ConnectRateLimit} from '../../../src/broker/limits/rate-limit.js'
import {Overload, RECOVER, SAMPLE_MS} from '../../../src/broker/limits/overload.js'
import {memoryLogger} from '../../../src/broker/log.js'
import {ManualClock} from '../../helpers/clock.js'

describe('ConnectRateLimit', () => {
  it('lets `rate` connections per second per address through, refills with time, and is per address', () => {
    const clock = new ManualClock(0)
    const rl = new ConnectRateLimit(5, clock)
    const tries = Array.from({length: 8}, () => rl.take('10.0.0.1'))
    expect(tries).toEqual([true, true, true, true, true, false, false, false])
    expect(rl.take('10.0.0.2')).toBe(true)
    clock.advance(200) // one token back
    expect(rl.take('10.0.0.1')).toBe(true)
    expect(rl.take('10.0.0.1')).toBe(false)
    clock.advance(10_000) // full again, not more than full
    expect(Array.from({length: 6}, () => rl.take('10.0.0.1')).filter(Boolean).length).toBe(5)
  })

  it('is off at rate 0, and the address table is bounded', () => {
    const clock = new ManualClock(0)
    expect(new ConnectRateLimit(0, clock).take('a')).toBe(true)
    const rl = new ConnectRateLimit(1, clock, 100)
    for (let i = 0; i < 1000; i++) rl.take(`10.0.${i >> 8}.${i & 255}`)
    expect(rl.size).toBe(100)
  })
})

describe('Overload', () => {
  it('enters at the ceiling, logs once per episode, recovers below 90 %', () => {
    const clock = new ManualClock(0)
    const log = memoryLogger('warn')
    let rss = 100
    const o = new Overload(1000, clock, log, () => rss)
    o.start()
    clock.advance(SAMPLE_MS)
    expect(o.active).toBe(false)
    rss = 1000
    clock.advance(SAMPLE_MS * 5)
    expect(o.active).toBe(true)
    expect(o.episodes).toBe(1)
    expect(log.lines.length).toBe(1)
    rss = 1000 * RECOVER + 1 // still above the recovery mark
    clock.advance(SAMPLE_MS * 3)
    expect(o.active).toBe(true)
    rss = 500
    clock.advance(SAMPLE_MS)
    expect(o.active).toBe(false)
    expect(log.lines.length).toBe(2)
    o.stop()
    expect(clock.pending).toBe(0)
  })

  it('does nothing with maxMemory 0', () => {
    const clock = new ManualClock(0)
    const o = new Overload(0, clock, memoryLogger('warn'), () => 1e12)
    o.start()
    expect(clock.pending).toBe(0)
    expect(o.active).toBe(false)
  })
})

describe('MatchCache bytes (limits.matchCacheBytes)', () => {
  it('evicts the oldest entries past its byte bound and keeps the count right through invalidation', async () => {
    const {MatchCache, entryBytes} = await import('../../../src/broker/topics/match-cache.js')
    const result = {clients: [], shared: []}
    const one = entryBytes('t/000', result)
    const cache = new MatchCache({maxEntries: 1000, maxBytes: one * 10})
    for (let i = 0; i < 50; i++) cache.set(`t/${String(i).padStart(3, '0')}`, result)
    expect(cache.size).toBe(10)
    expect(cache.bytes).toBe(one * 10)
    expect(cache.get('t/049')).toBe(result)
    expect(cache.get('t/000')).toBeUndefined()
    cache.invalidate('t/049')
    expect(cache.bytes).toBe(one * 9)
    cache.invalidate('t/+')
    expect(cache.size).toBe(0)
    expect(cache.bytes).toBe(0)
  })
})
