import {describe, expect, it} from 'vitest'
import {formatBytes, formatInt, parseErrorLine, table, visibleWidth} from '../../src/cli/render.js'

describe('render helpers', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [11_000, '11 KB'],
    [1_500_000, '1.5 MB'],
    [1_700_000_000, '1.7 GB'],
    [110_000_000, '110 MB'],
  ])('formatBytes(%d) = %s', (n, text) => expect(formatBytes(n)).toBe(text))

  it('formats integers with thousands separators', () => {
    expect(formatInt(1_000_000)).toBe('1,000,000')
    expect(formatInt(4095)).toBe('4,095')
  })

  it('aligns columns, ignoring colour codes', () => {
    const red = (s: string) => `\u001B[31m${s}\u001B[39m`
    const out = table([['a', '1'], [red('long'), '100']], {align: ['l', 'r']})
    expect(out.split('\n').map((l) => visibleWidth(l))).toEqual([9, 9])
    expect(out.split('\n')[0]).toBe('a       1')
  })
})

describe('parseErrorLine', () => {
  it('a missing argument: one colon after "arg", then the argument and its description', () => {
    const error = new Error('Missing 1 required arg:\nmode (conn|pub)  what to run\nSee more help with --help')
    expect(parseErrorLine(error, ['json'])).toBe('Missing 1 required arg: mode (conn|pub) what to run')
  })

  it('an unknown flag lists the flags allowed', () => {
    const error = new Error('Nonexistent flag: --bogus\nSee more help with --help')
    expect(parseErrorLine(error, ['devices', 'json'])).toBe('Nonexistent flag: --bogus; allowed flags: --devices, --json')
  })
})
