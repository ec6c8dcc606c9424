/**
 * topics/shared.ts: one shared-subscription group (MQTT 5 §4.8.2): membership in subscription order,
 * round-robin that skips members the broker cannot use, a cursor that stays right when members leave.
 */
import {describe, expect, it} from 'vitest'
import {pickFirst, SharedGroup} from '../../../src/broker/topics/shared.js'
import type {SharedMatch, SubOptions} from '../../../src/broker/topics/types.js'

const opts = (qos: 0 | 1 | 2 = 0): SubOptions => ({qos, noLocal: false, retainAsPublished: false, retainHandling: 0})
const group = (...ids: string[]): SharedGroup => {
  const g = new SharedGroup('g', 'a/+')
  for (const id of ids) g.upsert(id, opts())
  return g
}
const picks = (g: SharedGroup, n: number, usable?: (id: string) => boolean): Array<string | undefined> =>
  Array.from({length: n}, () => g.pick(usable)?.clientId)

describe('SharedGroup', () => {
  it('names itself $share/<group>/<filter>', () => {
    const g = new SharedGroup('workers', 'jobs/#')
    expect([g.name, g.group, g.filter]).toEqual(['$share/workers/jobs/#', 'workers', 'jobs/#'])
  })

  it('upsert adds new members at the end (true) and replaces the options of a known one in place (false)', () => {
    const g = group('a', 'b')
    expect(g.upsert('c', opts())).toBe(true)
    expect(g.upsert('a', opts(2))).toBe(false)
    expect(g.members.map((m) => m.clientId)).toEqual(['a', 'b', 'c'])
    expect(g.members[0].options.qos).toBe(2)
  })

  it('picks round-robin in subscription order and wraps', () => {
    expect(picks(group('a', 'b', 'c'), 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a'])
  })

  it('skips members that are not usable, and gives undefined when none is (cursor unchanged)', () => {
    const g = group('a', 'b', 'c')
    expect(picks(g, 4, (id) => id !== 'b')).toEqual(['a', 'c', 'a', 'c'])
    const cursor = g.cursor
    expect(g.pick(() => false)).toBeUndefined()
    expect(g.cursor).toBe(cursor)
    expect(new SharedGroup('g', 'f').pick()).toBeUndefined()
  })

  it('removing a member before the cursor keeps the rotation on the next member', () => {
    const g = group('a', 'b', 'c', 'd')
    expect(picks(g, 2)).toEqual(['a', 'b']) // next: c
    expect(g.remove('a')).toBe(true)
    expect(picks(g, 3)).toEqual(['c', 'd', 'b'])
  })

  it('removing the member at the cursor moves on to the following one; removing the last wraps to the first', () => {
    const g = group('a', 'b', 'c')
    g.pick() // next: b
    g.remove('b')
    expect(g.pick()?.clientId).toBe('c')
    const h = group('a', 'b', 'c')
    picks(h, 2) // next: c
    h.remove('c')
    expect(h.cursor).toBe(0)
    expect(h.pick()?.clientId).toBe('a')
  })

  it('remove of an unknown client is false and changes nothing; the last member leaving empties the group', () => {
    const g = group('a')
    expect(g.remove('zz')).toBe(false)
    expect(g.remove('a')).toBe(true)
    expect(g.members).toEqual([])
    expect(g.pick()).toBeUndefined()
  })
})

describe('pickFirst', () => {
  it('takes the first usable member of a group without a cursor', () => {
    const m: SharedMatch = {group: 'g', filter: 'f', name: '$share/g/f', members: [{clientId: 'x', options: opts()}, {clientId: 'y', options: opts()}]}
    expect(pickFirst(m)?.clientId).toBe('x')
    expect(pickFirst(m, (id) => id === 'y')?.clientId).toBe('y')
    expect(pickFirst(m, () => false)).toBeUndefined()
  })
})
