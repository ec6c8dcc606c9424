import {describe, expect, it} from 'vitest'
import {covered, matchLevels, overlaps, splitLevels} from '../../../src/broker/auth/topic-sets.js'

const L = splitLevels

describe('matchLevels', () => {
  const rows: Array<[string, string, boolean]> = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', 'a/b/c', false],
    ['a/+', 'a', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['#', 'a/b', true],
    ['#', '$SYS/broker/uptime', false],
    ['+/broker/uptime', '$SYS/broker/uptime', false],
    ['$SYS/#', '$SYS/broker/uptime', true],
    ['$SYS/+/uptime', '$SYS/broker/uptime', true],
    ['+', '', true],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    ['/#', '/x', true],
    ['+/#', '/x', true],
  ]
  it.each(rows)('%s vs %s -> %s', (f, t, want) => expect(matchLevels(L(f), L(t))).toBe(want))
})

describe('overlaps', () => {
  const rows: Array<[string, string, boolean]> = [
    ['a/b', 'a/b', true],
    ['a/b', 'a/c', false],
    ['a/+', 'a/b', true],
    ['a/+', '+/b', true],
    ['a/+', 'b/+', false],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c/d', true],
    ['a/+', 'a/b/c', false],
    ['a/+/#', 'a', false],
    ['a/+/#', 'a/x', true],
    ['#', '$SYS/#', false],
    ['+/x', '$SYS/x', false],
    ['#', '+', true],
    ['$SYS/#', '$SYS/broker', true],
    ['a', 'a/b', false],
    ['secret/#', '#', true],
  ]
  it.each(rows)('%s and %s -> %s', (a, b, want) => {
    expect(overlaps(L(a), L(b))).toBe(want)
    expect(overlaps(L(b), L(a))).toBe(want)
  })
})

describe('covered (filter inside a union of filters)', () => {
  const rows: Array<[string, string[], boolean]> = [
    ['a/b', ['a/b'], true],
    ['a/b', ['a/+'], true],
    ['a/b', ['#'], true],
    ['a/+', ['a/b'], false],
    ['a/+', ['a/#'], true],
    ['a/#', ['a/+'], false],
    ['a/#', ['a/#'], true],
    ['a/#', ['a/+/#'], false], // "a" itself is missing
    ['a/#', ['a', 'a/+/#'], true],
    ['a/#', ['a', 'a/+'], false],
    ['a/+', ['a/x', 'a/+'], true],
    ['a/+/c', ['a/x/c', 'a/+/+'], true],
    ['a/+/c', ['a/x/c', 'a/y/c'], false],
    ['#', ['#'], true],
    ['#', ['+/#'], true],
    ['#', ['+'], false],
    ['$SYS/#', ['#'], false],
    ['$SYS/broker/uptime', ['+/broker/uptime'], false],
    ['$SYS/broker/uptime', ['$SYS/#'], true],
    ['+/x', ['a/x', '+/x'], true],
    ['+/x', ['a/x', 'b/x'], false],
    ['+', ['#'], true],
    ['a/+/#', ['a/+', 'a/+/+/#'], true],
    ['a/+/#', ['a/+', 'a/+/+'], false],
    ['a/b', [], false],
  ]
  it.each(rows)('%s inside %j -> %s', (f, union, want) => expect(covered(L(f), union.map(L))).toBe(want))

  it('agrees with brute force over small alphabets', () => {
    const levels = ['a', 'b', '$s', '+']
    const filters: string[] = []
    const build = (prefix: string[], depth: number): void => {
      if (prefix.length > 0) filters.push(prefix.join('/'), [...prefix, '#'].join('/'))
      else filters.push('#')
      if (depth === 0) return
      for (const l of levels) {
        if (l === '$s' && prefix.length > 0) continue
        build([...prefix, l], depth - 1)
      }
    }
    build([], 2)
    // Topics: levels a, b, c (a value no filter names), $s in front, up to 4 levels.
    const topics: string[][] = []
    const gen = (prefix: string[]): void => {
      if (prefix.length > 0) topics.push(prefix)
      if (prefix.length === 4) return
      for (const l of ['a', 'b', 'c', '$s']) {
        if (l === '$s' && prefix.length > 0) continue
        gen([...prefix, l])
      }
    }
    gen([])
    let seed = 7
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    let checked = 0
    for (let k = 0; k < 3000; k++) {
      const f = L(filters[rnd(filters.length)])
      const union = Array.from({length: 1 + rnd(3)}, () => L(filters[rnd(filters.length)]))
      // Only depth <= 3 filters, so topics up to 4 levels (one past '#') decide it.
      const want = topics.every((t) => !matchLevels(f, t) || union.some((u) => matchLevels(u, t)))
      const got = covered(f, union)
      if (got !== want) throw new Error(`covered(${f.join('/')}, ${union.map((u) => u.join('/')).join(' | ')}) = ${got}, brute force ${want}`)
      const ov = topics.some((t) => matchLevels(f, t) && matchLevels(union[0], t))
      expect(overlaps(f, union[0])).toBe(ov)
      checked++
    }
    expect(checked).toBe(3000)
  })

  it('answers "not covered" (the safe answer) when the walk would be too long, even for a covered filter', () => {
    const f = L(Array.from({length: 40}, () => '+').join('/'))
    const union = Array.from({length: 40}, (_, i) => L(Array.from({length: 40}, (_, j) => (j === i ? 'x' : '+')).join('/')))
    expect(covered(f, [...union, f])).toBe(true) // one filter holds it all: decided in one pass
    const g = L([...Array.from({length: 39}, () => '+'), '#'].join('/'))
    const parts = [...union.slice(0, 39).map((u) => L([...u.slice(0, 39), '#'].join('/'))), L(Array.from({length: 39}, () => '+').join('/')), L([...Array.from({length: 39}, () => '+'), '+', '#'].join('/'))]
    expect(covered(g, parts)).toBe(false) // covered, but only by a union walk of 2^39 paths: refused
  })
})
