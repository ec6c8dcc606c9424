/**
 * The session record's shape and its lazy collections directly (session-record.ts): queue, in-flight
 * map and incoming set exist only while they hold something, and the edits say what they found.
 */
import {describe, expect, it} from 'vitest'
import {newSession, pushQueued, putIncoming, putInflight, shiftQueued, takeIncoming, takeInflight} from '../../../src/broker/persistence/session-record.js'
import {delivery, msg} from './helpers.js'

const will = {topic: 'w', payload: Buffer.from('bye'), qos: 1 as const, retain: false, delay: 5}

describe('session records', () => {
  it('a new session has every field, in one order (one hidden class), and no collections yet', () => {
    const s = newSession('c1', 60, will)
    expect(Object.keys(s)).toEqual(['clientId', 'expiryInterval', 'subscriptions', 'queuedBytes', 'lastPacketId', 'disconnectedAt', 'willAt', 'connectionWill', 'deadline', 'bucket'])
    expect(s).toMatchObject({clientId: 'c1', expiryInterval: 60, queuedBytes: 0, lastPacketId: 0, disconnectedAt: 0, willAt: 0, connectionWill: will})
    expect(s.subscriptions.size).toBe(0)
    expect(s.queue).toBeUndefined()
    expect(Object.keys(newSession('c2', 0))).toEqual(Object.keys(s)) // the will is a field even when absent
  })

  it('the queue is first in, first out and disappears when empty', () => {
    const s = newSession('c', 1)
    expect(shiftQueued(s)).toBeUndefined()
    const a = delivery(msg('t', 'a'))
    const b = delivery(msg('t', 'b'))
    pushQueued(s, a)
    pushQueued(s, b)
    expect(s.queue).toEqual([a, b])
    expect(shiftQueued(s)).toBe(a)
    expect(s.queue).toEqual([b])
    expect(shiftQueued(s)).toBe(b)
    expect(s.queue).toBeUndefined()
    expect(shiftQueued(s)).toBeUndefined()
  })

  it('in-flight deliveries by packet id: an unknown id takes nothing, the last one takes the map', () => {
    const s = newSession('c', 1)
    expect(takeInflight(s, 1)).toBeUndefined()
    const a = {...delivery(msg('t', 'a')), packetId: 1}
    const b = {...delivery(msg('t', 'b')), packetId: 2}
    putInflight(s, a)
    putInflight(s, b)
    const a2 = {...a, released: true}
    putInflight(s, a2) // the QoS 2 state changed: same id, replaced
    expect(s.inflight?.size).toBe(2)
    expect(takeInflight(s, 3)).toBeUndefined()
    expect(s.inflight?.size).toBe(2)
    expect(takeInflight(s, 1)).toBe(a2)
    expect(takeInflight(s, 1)).toBeUndefined()
    expect(s.inflight?.size).toBe(1)
    expect(takeInflight(s, 2)).toBe(b)
    expect(s.inflight).toBeUndefined()
  })

  it('incoming QoS 2 ids: taking an unknown id is false and leaves the set; the last one takes the set', () => {
    const s = newSession('c', 1)
    expect(takeIncoming(s, 7)).toBe(false)
    putIncoming(s, 7)
    putIncoming(s, 7)
    putIncoming(s, 8)
    expect([...s.incoming!]).toEqual([7, 8])
    expect(takeIncoming(s, 9)).toBe(false)
    expect(takeIncoming(s, 7)).toBe(true)
    expect(takeIncoming(s, 7)).toBe(false)
    expect(s.incoming?.size).toBe(1)
    expect(takeIncoming(s, 8)).toBe(true)
    expect(s.incoming).toBeUndefined()
  })
})
