/**
 * internOptions (src/broker/topics/options.ts): subscriptions without a subscription identifier
 * share one of 36 frozen option sets; with one, each gets a private copy.
 */
import {describe, expect, it} from 'vitest'
import {internOptions} from '../../../src/broker/topics/options.js'
import type {SubOptions} from '../../../src/broker/topics/types.js'

function every(): SubOptions[] {
  const all: SubOptions[] = []
  for (const qos of [0, 1, 2] as const)
    for (const noLocal of [false, true])
      for (const retainAsPublished of [false, true])
        for (const retainHandling of [0, 1, 2] as const) all.push({qos, noLocal, retainAsPublished, retainHandling})
  return all
}

describe('internOptions', () => {
  it('equal option sets share one frozen object with the same values', () => {
    const a = internOptions({qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 2})
    const b = internOptions({qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 2})
    expect(a).toBe(b)
    expect(Object.isFrozen(a)).toBe(true)
    expect(a).toEqual({qos: 1, noLocal: true, retainAsPublished: false, retainHandling: 2})
  })

  it('the 36 option sets map to 36 distinct shared objects, each with its own values', () => {
    const all = every()
    const interned = all.map(internOptions)
    expect(new Set(interned).size).toBe(36)
    interned.forEach((o, i) => expect(o).toEqual(all[i]))
    // Asked again (other input objects): the same objects come back.
    every().forEach((o, i) => expect(internOptions(o)).toBe(interned[i]))
  })

  it('the caller may change its own object afterwards: the shared copy does not follow', () => {
    const mine: SubOptions = {qos: 0, noLocal: false, retainAsPublished: true, retainHandling: 1}
    const shared = internOptions(mine)
    expect(shared).not.toBe(mine)
    mine.qos = 2
    expect(shared.qos).toBe(0)
    expect(internOptions({qos: 0, noLocal: false, retainAsPublished: true, retainHandling: 1}).qos).toBe(0)
  })

  it('a subscription identifier gets a private, unfrozen copy (never a shared one)', () => {
    const base = {qos: 2, noLocal: false, retainAsPublished: true, retainHandling: 0} as const
    const a = internOptions({...base, subscriptionId: 7})
    const b = internOptions({...base, subscriptionId: 7})
    expect(a).toEqual({...base, subscriptionId: 7})
    expect(a).not.toBe(b)
    expect(Object.isFrozen(a)).toBe(false)
    const shared = internOptions({...base})
    expect(shared).not.toHaveProperty('subscriptionId')
    expect(shared).not.toBe(a)
  })
})
