import {getHeapStatistics} from 'node:v8'
import {describe, expect, it} from 'vitest'
import {type ProcessClock, ProcessSampler} from '../../../src/broker/stats/process.js'

/** A process whose CPU time and wall clock the test moves by hand. */
function fakeClock(): ProcessClock & {advance(wallMs: number, cpuMs: number): void} {
  let wall = 10_000
  let cpu = 0
  let up = 10
  return {
    cpuUsage: () => ({user: cpu * 1000, system: 0}),
    now: () => wall,
    uptime: () => up,
    memoryUsage: () => ({rss: 50e6, heapUsed: 10e6 + cpu, heapTotal: 20e6}),
    advance(wallMs, cpuMs) {
      wall += wallMs
      up += wallMs / 1000
      cpu += cpuMs
    },
  }
}

describe('ProcessSampler', () => {
  it('reports CPU over the window between two ticks', () => {
    const clock = fakeClock()
    const sampler = new ProcessSampler(clock)
    clock.advance(5_000, 1_000)
    expect(sampler.sample().cpuPercent).toBeCloseTo(20)
    clock.advance(5_000, 250)
    expect(sampler.sample().cpuPercent).toBeCloseTo(5)
  })

  it('a window under a second (the sample right at start) reports the average since the process started', () => {
    const clock = fakeClock()
    clock.advance(0, 2_000) // 2 s of CPU during the 10 s before the sampler existed
    const sampler = new ProcessSampler(clock)
    clock.advance(1, 1) // 1 ms busy in a 1 ms window would read as 100 %
    const {cpuPercent, cpuSecondsTotal} = sampler.sample()
    expect(cpuSecondsTotal).toBeCloseTo(2.001)
    expect(cpuPercent).toBeCloseTo((2.001 / 10.001) * 100)
  })

  it('peek() between ticks keeps the window: a scrape cannot skew the next tick', () => {
    const clock = fakeClock()
    const sampler = new ProcessSampler(clock)
    clock.advance(5_000, 500)
    expect(sampler.sample().cpuPercent).toBeCloseTo(10)
    clock.advance(4_900, 4_900)
    const peeked = sampler.peek()
    expect(peeked.cpuPercent).toBeCloseTo(10) // the last window's figure
    expect(peeked.cpuSecondsTotal).toBeCloseTo(5.4) // counters are fresh
    clock.advance(100, 100)
    expect(sampler.sample().cpuPercent).toBeCloseTo(100) // the whole 5 s window, not the last 100 ms
  })

  it('tracks the heap peak', () => {
    const clock = fakeClock()
    const sampler = new ProcessSampler(clock)
    clock.advance(2_000, 3_000)
    const a = sampler.sample()
    expect(a.heapPeakBytes).toBe(a.heapUsedBytes)
    expect(a.rssBytes).toBe(50e6)
  })

  it("reports V8's heap limit: this process's own by default, 0 when the clock has none", () => {
    expect(new ProcessSampler().sample().heapLimitBytes).toBe(getHeapStatistics().heap_size_limit)
    expect(new ProcessSampler(fakeClock()).sample().heapLimitBytes).toBe(0)
  })
})
