import {availableParallelism} from 'node:os'
import {describe, expect, it} from 'vitest'
import {ProcessSampler} from '../../../src/broker/stats/process.js'

function burn(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) Math.sqrt(Math.random())
}

describe('ProcessSampler', () => {
  it('reports a plausible CPU figure for a window too short to measure (the sample right at start)', () => {
    const sampler = new ProcessSampler()
    burn(20)
    for (let i = 0; i < 50; i++) {
      const {cpuPercent} = sampler.sample()
      expect(Number.isFinite(cpuPercent)).toBe(true)
      expect(cpuPercent).toBeGreaterThanOrEqual(0)
      expect(cpuPercent).toBeLessThanOrEqual(100 * availableParallelism())
    }
  })

  it('measures a busy window of at least a second as a busy core', () => {
    const sampler = new ProcessSampler()
    burn(1100)
    const {cpuPercent, rssBytes, heapUsedBytes, heapPeakBytes} = sampler.sample()
    expect(cpuPercent).toBeGreaterThan(50)
    expect(rssBytes).toBeGreaterThan(heapUsedBytes)
    expect(heapPeakBytes).toBeGreaterThanOrEqual(heapUsedBytes)
  })
})
