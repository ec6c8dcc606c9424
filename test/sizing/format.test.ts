import {describe, expect, it} from 'vitest'
import {bytesRange, formatMicros} from '../../src/sizing/format.js'

describe('formatMicros', () => {
  it.each([
    [0, '0 µs'],
    [300, '300 µs'],
    [999.4, '999 µs'],
    [1000, '1 ms'],
    [1500, '1.5 ms'],
    [1549, '1.5 ms'],
    [40_000, '40 ms'],
    [99_940, '99.9 ms'],
    [100_000, '100 ms'],
    [123_456, '123 ms'],
    [9_999_999, '10000 ms'],
    [10_000_000, '10 s'],
    [49_460_000, '49.5 s'],
  ])('%d µs -> %s', (us, text) => {
    expect(formatMicros(us)).toBe(text)
  })
})

describe('bytesRange', () => {
  it('one value when both ends print the same', () => {
    expect(bytesRange(2_000_000_000, 2_000_000_000)).toBe('2 GB')
    expect(bytesRange(11_000, 11_040)).toBe('11 KB')
  })

  it('the unit once when both ends share it', () => {
    expect(bytesRange(2_000_000_000, 5_000_000_000)).toBe('2 – 5 GB')
    expect(bytesRange(200_000_000, 300_000_000)).toBe('200 – 300 MB')
  })

  it('both units when they differ', () => {
    expect(bytesRange(500_000_000, 2_000_000_000)).toBe('500 MB – 2 GB')
  })
})
