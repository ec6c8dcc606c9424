/**
 * A short run of the mutation fuzzer (`npm run fuzz` runs 1,000,000 packets): the broker child
 * survives ~20,000 mutated and valid packets of every type and version, the bystander loses nothing
 * and never waits past the hang limit, and the broker's heap after gc is back near its baseline.
 */
import {describe, expect, it} from 'vitest'
import {HEAP_SLACK} from './limits.js'
import {connectionBytes, describeResult, runFuzz} from './run.js'

describe('fuzz', () => {
  it('is reproducible: the same seed and index give the same bytes', () => {
    const a = connectionBytes(42, 7)
    const b = connectionBytes(42, 7)
    expect(Buffer.concat(a.frames).equals(Buffer.concat(b.frames))).toBe(true)
    expect(Buffer.concat(connectionBytes(43, 7).frames).equals(Buffer.concat(a.frames))).toBe(false)
  })

  it('20,000 packets: no crash, no hang, no bystander message lost, heap back to baseline', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20_261_203)
    const r = await runFuzz({seed, packets: 20_000, concurrency: 32, hangMs: 10_000})
    const summary = describeResult(r)
    expect(r.crashed, summary).toBe(false)
    expect(r.hangs, summary).toBe(0)
    expect(r.bystanderLost, summary).toBe(0)
    expect(r.bystanderReceived, summary).toBeGreaterThan(0)
    expect(r.packetsSent, summary).toBeGreaterThanOrEqual(20_000)
    expect(r.after!.heapUsed - r.before!.heapUsed, summary).toBeLessThan(HEAP_SLACK)
  }, 180_000)
})
