import {describe, expect, it} from 'vitest'
import {formatInt} from '../../../src/broker/stats/format.js'

describe('formatInt (no Intl, so the broker never loads ICU)', () => {
  it('prints what Intl.NumberFormat en-US prints for rounded integers', () => {
    const intl = new Intl.NumberFormat('en-US')
    const values = [0, -0, 1, -1, 12, 999, 1000, -1000, 4095, 65_535, 1_234_567, -1_234_567.6, 0.4, -0.4, 0.5, 999.5, -999.5, 2 ** 31, 2 ** 53, 268_435_455, NaN, Infinity, -Infinity]
    for (let i = 1; i < 1e16; i = i * 7 + 3) values.push(i, -i)
    for (const v of values) expect(formatInt(v), String(v)).toBe(intl.format(Math.round(v)))
  })
})
