/**
 * The soak's 60-second version (test/soak/soak.ts runs 30 minutes): mixed load with churn, then
 * the broker's heap, RSS, file descriptors and timers back to their idle baseline. Real time by
 * nature (it measures what a minute of traffic leaves behind); one file, so it runs beside others.
 */
import {describe, expect, it} from 'vitest'
import {runSoak, soakVerdict} from './run.js'

describe('soak', () => {
  it('60 s of mixed load and churn leaves memory, file descriptors and timers flat', async () => {
    const r = await runSoak({seconds: 60, clients: 100, seed: 11})
    const v = soakVerdict(r)
    expect(v.failures, v.summary).toEqual([])
    expect(r.delivered, v.summary).toBeGreaterThan(0)
  }, 150_000)
})
