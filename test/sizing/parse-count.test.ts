/** src/sizing/parse.ts directly: parseCount with any spec (parse.test.ts covers --devices and the workload flags through the index). */
import {describe, expect, it} from 'vitest'
import {MqttctlError} from '../../src/errors.js'
import {type CountSpec, DEVICES, InputError, allowed, parseCount, parseDevices} from '../../src/sizing/parse.js'

const spec: CountSpec = {name: '--things', min: 10, max: 2_000_000, unit: 'things'}
const ALLOWED = 'allowed: a whole number of things from 10 to 2,000,000'
const thrown = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

describe('parseCount', () => {
  it('says what is allowed with grouped bounds', () => {
    expect(allowed(spec)).toBe(ALLOWED)
  })

  it.each([
    ['10', 10],
    ['2,000,000', 2_000_000],
    ['2_000_000', 2_000_000],
    ['1,500.5k', 1_500_500],
    ['2M', 2_000_000],
    ['0.01M', 10_000],
    ['1.1k', 1_100],
    ['+20', 20],
    ['.5k', 500],
    ['5.k', 5000],
    ['1E3', 1000],
    ['2e-0', 2 * 1],
  ])('%j -> %d', (text, n) => {
    if (n < spec.min) expect(() => parseCount(text, spec)).toThrow(InputError)
    else expect(parseCount(text, spec)).toBe(n)
  })

  it.each([
    ['9', 'is too small'],
    ['-10', 'is too small'],
    ['2,000,001', 'is too large'],
    ['0.003G', 'is too large'],
    ['1e308k', 'is too large'],
    ['10.5', 'is not a whole number'],
    ['1,0000', 'is not a number'],
    ['1,000,00', 'is not a number'],
    ['1_0', 'is not a number'],
    ['NaN', 'is not a number'],
    ['Infinity', 'is not a number'],
    ['0x10', 'is not a number'],
    ['1kk', 'is not a number'],
    ['1 000', 'is not a number'],
    ['١٢', 'is not a number'],
    ['12\n13', 'is not a number'],
  ])('%j %s', (text, why) => {
    const error = thrown(() => parseCount(text, spec))
    expect(error).toBeInstanceOf(InputError)
    expect(error).toBeInstanceOf(MqttctlError)
    expect((error as InputError).exitCode).toBe(2)
    const message = (error as Error).message
    expect(message.startsWith(`--things ${JSON.stringify(text)} ${why}; ${ALLOWED}`)).toBe(true)
    expect(message.split('\n')).toHaveLength(1)
  })

  it('a 100,000-digit string is refused as too large', () => {
    const text = '9'.repeat(100_000)
    const message = (thrown(() => parseCount(text, spec)) as Error).message
    expect(message).toMatch(/is too large/)
    // Named, not echoed whole: its first 40 characters and its length.
    expect(message).toContain(`"${'9'.repeat(40)}…" (100000 characters)`)
    expect(message.length).toBeLessThan(200)
  })

  it('parseDevices uses the --devices spec', () => {
    expect(DEVICES).toMatchObject({name: '--devices', min: 1, unit: 'devices'})
    expect(parseDevices('7')).toBe(7)
  })
})
