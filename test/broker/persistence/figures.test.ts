/**
 * The store's figures directly (figures.ts): the fdatasync latency ring's percentiles over the last
 * N calls, and the durable figures built from the journal's counters and what the store holds.
 */
import {describe, expect, it} from 'vitest'
import {durableFigures, type JournalCounters, LatencyRing} from '../../../src/broker/persistence/figures.js'

describe('LatencyRing', () => {
  it('no calls yet: every percentile is 0', () => {
    const r = new LatencyRing(4)
    expect(r.percentile(0.5)).toBe(0)
    expect(r.percentile(0.99)).toBe(0)
  })

  it('percentiles of what was added, whatever the order it came in', () => {
    const r = new LatencyRing(100)
    for (const ms of [9, 1, 5, 3, 7, 2, 8, 4, 10, 6]) r.add(ms)
    expect(r.percentile(0)).toBe(1)
    expect(r.percentile(0.5)).toBe(6)
    expect(r.percentile(0.99)).toBe(10)
    expect(r.percentile(1)).toBe(10) // never past the last
  })

  it('a percentile is the value at floor(p * n) of the sorted calls (the nearest rank below)', () => {
    const r = new LatencyRing(8)
    for (const ms of [3, 1, 2]) r.add(ms)
    expect(r.percentile(0.5)).toBe(2)
    expect(r.percentile(0.66)).toBe(2)
    expect(r.percentile(0.67)).toBe(3)
  })

  it('keeps only the last `size` calls: older ones leave the figures', () => {
    const r = new LatencyRing(3)
    r.add(100)
    r.add(200)
    r.add(300)
    expect(r.percentile(0)).toBe(100)
    r.add(1)
    r.add(2)
    expect(r.percentile(0)).toBe(1)
    expect(r.percentile(0.99)).toBe(300)
    r.add(3)
    expect(r.percentile(0.99)).toBe(3)
  })
})

describe('durableFigures', () => {
  it("the journal's counters, its bytes on disk and the held figures, as one StoreFigures", () => {
    const latency = new LatencyRing(128)
    for (let ms = 1; ms <= 100; ms++) latency.add(ms)
    const j: JournalCounters = {fsyncs: 12, latency, batches: 9, degraded: true, episodes: 2, compactions: 3, bytesOnDisk: () => 4096}
    expect(durableFigures(j, 'interval', {persistentSessions: 5, storedMessages: 40, retained: 7})).toEqual({
      kind: 'durable',
      sync: 'interval',
      bytesOnDisk: 4096,
      persistentSessions: 5,
      storedMessages: 40,
      retained: 7,
      fsyncs: 12,
      fsyncP50Ms: 51,
      fsyncP99Ms: 100,
      batches: 9,
      degraded: true,
      degradedEpisodes: 2,
      compactions: 3,
    })
  })
})
