/** src/bench/verify-report.ts: plan --verify as text, from a VerifyResult built here (the measuring itself: verify.test.ts). */
import {describe, expect, it} from 'vitest'
import type {Comparison, VerifyResult} from '../../src/bench/verify.js'
import {renderVerify} from '../../src/bench/verify-report.js'

// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\u001B\[[0-9;]*m/g, '')
const row = (figure: string, unit: Comparison['unit'], predicted: number, measured: number): Comparison => {
  const ratio = predicted === 0 ? null : measured / predicted
  return {figure, unit, predicted, measured, ratio, off: ratio !== null && Math.abs(ratio - 1) > 0.25}
}

function result(comparisons: Comparison[], savedTo: string | null = '/home/u/.config/mqttctl/runtime-profile.json'): VerifyResult {
  return {
    scale: {connections: 2000, planned: 40_000, factor: 20, limit: 2000, why: 'scaled down to what this host can drive'},
    spec: {connections: 2000, subsPerConnection: 2, payloadBytes: 128, qos: 1, msgRate: 5000, broadcastSubscribers: 2000, queuedMessages: 1000, retainedMessages: 100, tlsConnections: 0, settleMs: 500},
    comparisons,
    flagged: comparisons.filter((c) => c.off).map((c) => c.figure),
    savedTo,
    seconds: 37,
  } as unknown as VerifyResult
}

describe('renderVerify', () => {
  const rows = [row('memory per connection', 'bytes', 3594, 3700), row('CPU at the rate', '%', 12.34, 12), row('broadcast', 'ms', 40.4, 39.6), row('per message', 'µs', 21, 20)]

  it('the heading with the run\'s length, what was driven, and one row per figure in its unit with the ratio', () => {
    const t = plain(renderVerify(result(rows), 120))
    expect(t).toContain('Verify on this host (37 s)')
    expect(t.replace(/\n +/g, ' ')).toContain("2,000 connections for the plan's 40,000 live devices per node (scaled down to what this host can drive); 2 subscription(s) each, 5,000 msg/s of 128 B at QoS 1, a broadcast to 2,000; loopback only.")
    expect(t).toMatch(/memory per connection +3\.6 KB +3\.7 KB +1\.03 {2}\n/)
    expect(t).toMatch(/CPU at the rate +12\.3 % +12\.0 % +0\.97 {2}\n/)
    expect(t).toMatch(/broadcast +40 ms +40 ms +0\.98 {2}\n/)
    expect(t).toMatch(/per message +21 µs +20 µs +0\.95 {2}\n/)
    expect(t).toContain('  every figure within 25 % of the prediction')
    expect(t.replace(/\n +/g, ' ')).toContain('saved as this host\'s runtime profile: /home/u/.config/mqttctl/runtime-profile.json')
  })

  it('marks each figure off by more than the tolerance and counts them', () => {
    const off = [row('memory per connection', 'bytes', 3594, 9000), row('CPU at the rate', '%', 10, 4), rows[2]]
    const t = plain(renderVerify(result(off), 200))
    expect(t).toMatch(/memory per connection .* 2\.50 !\n/)
    expect(t).toMatch(/CPU at the rate .* 0\.40 !\n/)
    expect(t).toMatch(/broadcast .* 0\.98 {2}\n/)
    expect(t).toContain('! 2 figures off by more than 25 % (marked !)')
    expect(plain(renderVerify(result([off[0]]), 200))).toContain('! 1 figure off by more than 25 %')
  })

  it('a prediction of 0 has no ratio; --no-save says so', () => {
    const t = plain(renderVerify(result([row('retained', 'bytes', 0, 100)], null), 120))
    expect(t).toMatch(/retained +0 B +100 B +– {2}\n/)
    expect(t).toContain('  not saved (--no-save)')
  })

  it('fits the width it is given', () => {
    for (const w of [80, 100]) for (const l of plain(renderVerify(result(rows), w)).split('\n')) expect(l.length, l).toBeLessThanOrEqual(w)
  })
})
