/**
 * StoreBase directly (base.ts): the session map both stores share and the retained calls passed to
 * the store's table unchanged (the caller's `now` and `expired` included).
 */
import {describe, expect, it} from 'vitest'
import type {RetainedMessage} from '../../../src/broker/retained.js'
import {type RetainedTable, StoreBase} from '../../../src/broker/persistence/base.js'
import {newSession} from '../../../src/broker/persistence/session-record.js'

class TableSpy implements RetainedTable {
  calls: unknown[][] = []
  size = 3
  set(msg: RetainedMessage): void {
    this.calls.push(['set', msg.topic])
  }
  delete(topic: string): boolean {
    this.calls.push(['delete', topic])
    return topic === 'known'
  }
  match(filter: string, now: number, expired?: RetainedMessage[]): RetainedMessage[] {
    this.calls.push(['match', filter, now])
    expired?.push({topic: 'old', payload: Buffer.from('x'), qos: 0})
    return [{topic: filter, payload: Buffer.from('y'), qos: 1}]
  }
}

class Store extends StoreBase {
  readonly retained = new TableSpy()
  add(id: string): void {
    this.sessionMap.set(id, newSession(id, 10))
  }
}

describe('StoreBase', () => {
  it('sessions by client id, all of them, and their count', () => {
    const s = new Store()
    expect(s.getSession('a')).toBeUndefined()
    expect(s.sessionCount).toBe(0)
    s.add('a')
    s.add('b')
    expect(s.getSession('a')?.clientId).toBe('a')
    expect([...s.sessions()].map((x) => x.clientId)).toEqual(['a', 'b'])
    expect(s.sessionCount).toBe(2)
  })

  it('retained calls reach the table with their arguments and answers', () => {
    const s = new Store()
    s.setRetained({topic: 't/1', payload: Buffer.from('p'), qos: 0})
    expect(s.deleteRetained('known')).toBe(true)
    expect(s.deleteRetained('unknown')).toBe(false)
    const expired: RetainedMessage[] = []
    const got = s.matchRetained('t/#', 1234, expired)
    expect(got.map((m) => m.topic)).toEqual(['t/#'])
    expect(expired.map((m) => m.topic)).toEqual(['old'])
    expect(s.retainedCount).toBe(3)
    expect(s.retained.calls).toEqual([['set', 't/1'], ['delete', 'known'], ['delete', 'unknown'], ['match', 't/#', 1234]])
  })
})
