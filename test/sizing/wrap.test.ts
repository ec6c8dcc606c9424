/** src/cli/render.ts helpers the plan, doctor and tune reports lay out with (80 columns when piped). */
import {describe, expect, it} from 'vitest'
import {outputWidth, parseErrorLine, table, visibleWidth, wrap} from '../../src/cli/render.js'

describe('wrap', () => {
  it('breaks at spaces within the width, with first-line and continuation prefixes', () => {
    expect(wrap('aaa bbb ccc ddd', 9, '> ', '  ')).toBe('> aaa bbb\n  ccc ddd')
    expect(wrap('short', 80, '  ')).toBe('  short')
  })

  it('counts visible characters only (colour codes do not count) and keeps a too-long word whole', () => {
    const red = (s: string) => `\u001B[31m${s}\u001B[39m`
    for (const line of wrap(`${red('aaaa')} bbbb cccc`, 9).split('\n')) expect(visibleWidth(line)).toBeLessThanOrEqual(9)
    expect(wrap('x abcdefghijkl y', 5)).toBe('x\nabcdefghijkl\ny')
  })
})

describe('table maxWidth', () => {
  it('wraps a long last cell under itself; lines never exceed the width', () => {
    const out = table([['key', 'value', 'one two three four five six seven eight nine ten eleven twelve']], {maxWidth: 40})
    for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(40)
    expect(out.split('\n')[1]).toMatch(/^ {12}\S/)
  })

  it('leaves a table that fits untouched', () => {
    expect(table([['a', 'b']], {maxWidth: 40})).toBe(table([['a', 'b']]))
  })
})

describe('outputWidth', () => {
  it('is the terminal width on a TTY, 80 otherwise', () => {
    expect(outputWidth({isTTY: true, columns: 132})).toBe(132)
    expect(outputWidth({isTTY: false, columns: 132})).toBe(80)
    expect(outputWidth({})).toBe(80)
  })
})

describe('parseErrorLine', () => {
  it('turns oclif\'s multi-line parse errors into one line, naming the allowed flags for an unknown one', () => {
    expect(parseErrorLine(new Error('Nonexistent flag: --x\nSee more help with --help'), ['a', 'b'])).toBe('Nonexistent flag: --x; allowed flags: --a, --b')
    expect(parseErrorLine(new Error('Parsing --t \n\tExpected an integer but received: z\nSee more help with --help'), ['t'])).toBe('Parsing --t: Expected an integer but received: z')
  })
})

describe('NO_COLOR', () => {
  it('turns chalk off (chalk 5 itself ignores NO_COLOR); FORCE_COLOR wins', async () => {
    const {default: chalk} = await import('chalk')
    const {applyNoColor} = await import('../../src/cli/render.js')
    const before = chalk.level
    try {
      chalk.level = 1
      applyNoColor({NO_COLOR: '1', FORCE_COLOR: '1'})
      expect(chalk.level).toBe(1)
      applyNoColor({NO_COLOR: '1'})
      expect(chalk.level).toBe(0)
      expect(chalk.red('x')).toBe('x')
    } finally {
      chalk.level = before
    }
  })
})
