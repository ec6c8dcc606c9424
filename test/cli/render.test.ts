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

  it('figures (a right-aligned last column) wider than maxWidth: the labels wrap, the figures stay whole', () => {
    const rows = [['', 'guide', 'runtime'], ['client pool (idle objects)', '0 B', 'none'], ['total', '9.2 GB', '2.4 GB']]
    const out = table(rows, {indent: 2, align: ['l', 'r', 'r'], maxWidth: 30})
    expect(out.split('\n')).toEqual([
      '                guide  runtime',
      '  client pool     0 B     none',
      '  (idle',
      '  objects)',
      '  total        9.2 GB   2.4 GB',
    ])
    expect(Math.max(...out.split('\n').map((l) => visibleWidth(l)))).toBeLessThanOrEqual(30)
    // Wide enough, or a label column that would drop under 10: left as it is.
    expect(table(rows, {indent: 2, align: ['l', 'r', 'r'], maxWidth: 80})).toBe(table(rows, {indent: 2, align: ['l', 'r', 'r']}))
    expect(table(rows, {indent: 2, align: ['l', 'r', 'r'], maxWidth: 20})).toBe(table(rows, {indent: 2, align: ['l', 'r', 'r']}))
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
