import {describe, expect, it} from 'vitest'
import {BrokerStats} from '../../../src/broker/stats/counters.js'

describe('BrokerStats', () => {
  it('keeps the peak of live connections through ++ and --', () => {
    const s = new BrokerStats()
    s.connectionsLive++
    s.connectionsLive++
    s.connectionsLive++
    s.connectionsLive--
    expect(s.connectionsLive).toBe(2)
    expect(s.connectionsPeak).toBe(3)
  })

  it('reports a hit ratio of 1 before any match, then hits / (hits + misses)', () => {
    const s = new BrokerStats()
    expect(s.cacheHitRatio()).toBe(1)
    s.matchCacheHits = 9
    s.matchCacheMisses = 1
    expect(s.cacheHitRatio()).toBe(0.9)
  })
})
