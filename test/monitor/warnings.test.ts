import {describe, expect, it} from 'vitest'
import {History} from '../../src/monitor/history.js'
import type {Figures} from '../../src/monitor/snapshot.js'
import {warningsFor} from '../../src/monitor/warnings.js'

function points(...figures: Figures[]) {
  const h = new History()
  figures.forEach((f, i) => h.push({time: i * 5000, figures: f, loads: {}}))
  return h.points
}

const figuresOf = (ws: ReturnType<typeof warningsFor>) => ws.map((w) => w.figure)

describe('warnings', () => {
  it('connections above 80 % of the limit, not at 80 %', () => {
    expect(figuresOf(warningsFor(points({connectionsLive: 800, connectionsMax: 1000})))).toEqual([])
    const w = warningsFor(points({connectionsLive: 801, connectionsMax: 1000}))
    expect(w).toEqual([{figure: 'connections', message: 'connections at 80.1 % of the limit (801 / 1,000)'}])
  })

  it('cache hit ratio below 90 %, not at 90 %', () => {
    expect(figuresOf(warningsFor(points({cacheHitRatio: 0.9})))).toEqual([])
    expect(figuresOf(warningsFor(points({cacheHitRatio: 0.899})))).toEqual(['cache'])
    // A cold cache with few lookups is not a problem yet.
    expect(figuresOf(warningsFor(points({cacheHitRatio: 0.5, cacheHits: 499, cacheMisses: 500})))).toEqual([])
    expect(figuresOf(warningsFor(points({cacheHitRatio: 0.5, cacheHits: 500, cacheMisses: 500})))).toEqual(['cache'])
  })

  it('orphan sessions and dropped messages rising since the previous update', () => {
    expect(figuresOf(warningsFor(points({sessionsOrphan: 5, messagesDropped: 2}, {sessionsOrphan: 5, messagesDropped: 2})))).toEqual([])
    const w = warningsFor(points({sessionsOrphan: 5, messagesDropped: 2}, {sessionsOrphan: 6, messagesDropped: 2, messagesExpired: 1}))
    expect(w.map((x) => x.message)).toEqual(['orphan sessions rising: 5 -> 6', 'dropped messages rising: +1 (total 3)'])
    // One update alone cannot be "rising".
    expect(warningsFor(points({sessionsOrphan: 9, messagesDropped: 9}))).toEqual([])
  })

  it('V8 heap above 85 % of the limit the configuration set (runtime.maxOldSpaceMb), not at 85 %', () => {
    const limit = 512 * 2 ** 20
    expect(figuresOf(warningsFor(points({heapUsedBytes: 0.85 * limit}), {heapLimitBytes: limit}))).toEqual([])
    expect(warningsFor(points({heapUsedBytes: 0.9 * limit}), {heapLimitBytes: limit})).toEqual([
      {figure: 'heap', message: 'V8 heap 483 MB is 90.0 % of its 537 MB limit: raise runtime.maxOldSpaceMb (mqttctl plan --write) before "heap out of memory"'},
    ])
    // No limit known: no warning (V8's default limit is not published by the broker).
    expect(figuresOf(warningsFor(points({heapUsedBytes: 10 * limit})))).toEqual([])
  })

  it('memory above the plan for the live connections', () => {
    const plannedMemory = (live: number) => live * 1000
    expect(figuresOf(warningsFor(points({connectionsLive: 10, rssBytes: 10_000}), {plannedMemory}))).toEqual([])
    expect(warningsFor(points({connectionsLive: 10, rssBytes: 10_001}), {plannedMemory})).toEqual([
      {figure: 'memory', message: "memory 10 KB above the plan's 10 KB for 10 connections"},
    ])
  })
})

describe("plannedMemory: plan's runtime estimate for the broker being watched", () => {
  it("is plan's runtime memory total for the live connections (one subscription each), not the guide's practice range", async () => {
    const {plannedMemory} = await import('../../src/monitor/run.js')
    const {plan, shippedLoaded, shippedProfile} = await import('../../src/sizing/index.js')
    const shipped = shippedProfile()
    const one = plan({devices: 10_000, active: 20}, {profile: shippedLoaded()})
    expect(plannedMemory(20, 10_000, shipped)).toBe(one.runtime.memory.totalBytes)
    expect(plannedMemory(20, 10_000, shipped)).not.toBe(one.memory!.practiceRange.max)
  })

  it('traces to the profile: baseline plus each live connection and its subscription, the larger of settled and storm', async () => {
    const {plannedMemory} = await import('../../src/monitor/run.js')
    const {shippedProfile} = await import('../../src/sizing/index.js')
    const shipped = shippedProfile()
    const figures = {...shipped.figures, baselineRssBytes: 50_000_000, bytesPerConnectionIdle: 3000, bytesPerSubscriptionIdle: 1000, bytesPerConnectionStorm: 3500, bytesPerSubscriptionStorm: 200}
    const profile = {...shipped, figures}
    // Settled: 3,000 + 1,000 = 4,000 B per connection beats the storm's 3,700.
    expect(plannedMemory(500_000, 1_000_000, profile)).toBe(50_000_000 + 500_000 * 4000)
    expect(plannedMemory(0, 1_000_000, profile)).toBe(50_000_000)
    // Live connections past the limit count as the limit.
    expect(plannedMemory(2_000_000, 1_000_000, profile)).toBe(50_000_000 + 1_000_000 * 4000)
    const storm = {...shipped, figures: {...figures, bytesPerConnectionStorm: 5000}}
    expect(plannedMemory(10, 100, storm)).toBe(50_000_000 + 10 * 5200)
  })

  it('is unknown when the broker publishes no limit (Mosquitto): no made-up plan figure', async () => {
    const {plannedMemory} = await import('../../src/monitor/run.js')
    const {shippedProfile} = await import('../../src/sizing/index.js')
    expect(plannedMemory(0, undefined, shippedProfile())).toBeUndefined()
    expect(plannedMemory(5, 0, shippedProfile())).toBeUndefined()
  })
})

describe('dashboard: cache with no lookups', () => {
  it('shows n/a, not the 100 % a 0 / 0 ratio is published as', async () => {
    const {renderDashboard} = await import('../../src/monitor/dashboard.js')
    const lines = renderDashboard({url: 'mqtt://x', points: points({cacheHitRatio: 1, cacheHits: 0, cacheMisses: 0}), warnings: []})
    expect(lines.find((l) => l.startsWith('Cache HIT'))).toBe('Cache HIT    n/a   (no lookups yet)')
  })
})
