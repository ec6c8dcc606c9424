import {describe, expect, it} from 'vitest'
import {InputError, parseDevices, parseWorkloadFlag} from '../../src/sizing/index.js'

const ALLOWED = 'allowed: a whole number of devices from 1 to 100,000,000'

describe('parseDevices', () => {
  it.each([
    ['500000', 500_000],
    ['500_000', 500_000],
    ['500,000', 500_000],
    ['500k', 500_000],
    ['500K', 500_000],
    ['1M', 1_000_000],
    ['1.5k', 1_500],
    ['2.5M', 2_500_000],
    ['1e6', 1_000_000],
    [' 42 ', 42],
    ['1', 1],
    ['100,000,000', 100_000_000],
  ])('%s -> %i', (text, n) => {
    expect(parseDevices(text)).toBe(n)
  })

  it.each([
    ['0', `--devices "0" is too small; ${ALLOWED}`],
    ['-3', `--devices "-3" is too small; ${ALLOWED}`],
    ['1.5', `--devices "1.5" is not a whole number; ${ALLOWED}`],
    ['1.0001k', `--devices "1.0001k" is not a whole number; ${ALLOWED}`],
    ['abc', `--devices "abc" is not a number; ${ALLOWED} (e.g. 50000, 50,000 or 50k)`],
    ['', `--devices "" is not a number; ${ALLOWED} (e.g. 50000, 50,000 or 50k)`],
    ['5,00', `--devices "5,00" is not a number; ${ALLOWED} (e.g. 50000, 50,000 or 50k)`],
    ['12x', `--devices "12x" is not a number; ${ALLOWED} (e.g. 50000, 50,000 or 50k)`],
    ['1e13', `--devices "1e13" is too large; ${ALLOWED}`],
    ['10000000000000', `--devices "10000000000000" is too large; ${ALLOWED}`],
    ['100,000,001', `--devices "100,000,001" is too large; ${ALLOWED}`],
    ['1e999', `--devices "1e999" is too large; ${ALLOWED}`],
  ])('%j is refused with one line', (text, message) => {
    expect(() => parseDevices(text)).toThrow(InputError)
    expect(() => parseDevices(text)).toThrow(message)
  })
})

describe('parseWorkloadFlag', () => {
  it('accepts each flag within its limits', () => {
    expect(parseWorkloadFlag('msgRate', '20k')).toBe(20_000)
    expect(parseWorkloadFlag('payload', '0')).toBe(0)
    expect(parseWorkloadFlag('active', '0')).toBe(0)
    expect(parseWorkloadFlag('qos', '2')).toBe(2)
    expect(parseWorkloadFlag('subsPerDevice', '3')).toBe(3)
    expect(parseWorkloadFlag('retained', '1,000')).toBe(1_000)
  })

  it('refuses values outside them, naming the flag', () => {
    expect(() => parseWorkloadFlag('qos', '3')).toThrow('--qos "3" is not allowed; allowed: 0, 1 or 2')
    expect(() => parseWorkloadFlag('qos', '1.0')).toThrow(/--qos/)
    expect(() => parseWorkloadFlag('payload', '300M')).toThrow('--payload "300M" is too large; allowed: a whole number of bytes from 0 to 268,435,455')
    expect(() => parseWorkloadFlag('msgRate', '-1')).toThrow(/--msg-rate "-1" is too small/)
    expect(() => parseWorkloadFlag('subsPerDevice', 'many')).toThrow(/--subs-per-device "many" is not a number/)
  })
})
