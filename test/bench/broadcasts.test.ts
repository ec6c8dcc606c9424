import {describe, expect, it} from 'vitest'
import {Broadcasts} from '../../src/bench/broadcasts.js'

describe('Broadcasts: per-broadcast counts and time to the last delivery', () => {
  it('counts deliveries per broadcast and keeps the latest arrival', () => {
    const b = new Broadcasts()
    b.record(0, 120)
    b.record(0, 80)
    b.record(2, 500)
    expect(b.countOf(0)).toBe(2)
    expect(b.countOf(1)).toBe(0)
    expect(b.countOf(2)).toBe(1)
    expect(b.countOf(9)).toBe(0)
    expect(b.toJSON()).toEqual({counts: [2, 0, 1], maxMicros: [120, 0, 500]})
  })

  it('ignores an absurd sequence number instead of growing without bound', () => {
    const b = new Broadcasts()
    b.record(10_000_001, 1)
    expect(b.toJSON()).toEqual({counts: [], maxMicros: []})
  })

  it('merges shares from worker processes by sum and max', () => {
    const a = new Broadcasts()
    a.record(0, 100)
    a.record(1, 300)
    const b = new Broadcasts()
    b.record(0, 250)
    b.record(3, 40)
    a.merge(b.toJSON())
    expect(a.toJSON()).toEqual({counts: [2, 1, 0, 1], maxMicros: [250, 300, 0, 40]})
  })

  it('completion: a broadcast counts only when every subscriber got it; the rest are incomplete', () => {
    const b = new Broadcasts()
    for (const micros of [10, 20, 30]) b.record(0, micros)
    for (const micros of [5, 6]) b.record(1, micros)
    for (const micros of [7, 8, 900]) b.record(2, micros)
    const {complete, incomplete} = b.completion(3, 4)
    expect(incomplete).toBe(2) // broadcast 1 reached 2 of 3, broadcast 3 nobody
    expect(complete.count).toBe(2)
    expect(complete.max).toBe(900)
  })
})
