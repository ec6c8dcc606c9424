/**
 * The durable store's retained table directly (retained-journal.ts): every change of a retained
 * topic is one journal record, an empty payload is a delete, expired matches are deleted on disk too,
 * `$SYS/...` statistics and loaded messages are never written.
 */
import {describe, expect, it} from 'vitest'
import {T} from '../../../src/broker/persistence/codec.js'
import {scanRecords} from '../../../src/broker/persistence/decode.js'
import {RecordWriter} from '../../../src/broker/persistence/encode.js'
import {isSys, JournaledRetained} from '../../../src/broker/persistence/retained-journal.js'
import type {RetainedMessage} from '../../../src/broker/retained.js'

function table() {
  const w = new RecordWriter(64)
  let begun = 0
  const t = new JournaledRetained(() => {
    begun++
    return w
  })
  /** The records written since the last call: [type, topic, payload?]. */
  const written = () => {
    const out: Array<[number, string, string?]> = []
    const scan = scanRecords(Buffer.concat(w.take()), (r) => {
      if (r.t === T.Retain) out.push([r.t, r.topic, r.payload.toString()])
      else if (r.t === T.RetainDel) out.push([r.t, r.topic])
      else out.push([r.t, '?'])
    })
    expect(scan.problem).toBeUndefined()
    return out
  }
  return {t, written, begun: () => begun}
}

const ret = (topic: string, payload: string, expiresAt?: number): RetainedMessage => ({topic, payload: Buffer.from(payload), qos: 1, ...(expiresAt === undefined ? {} : {expiresAt})})

describe('JournaledRetained', () => {
  it('isSys: only topics under $SYS/', () => {
    expect(isSys('$SYS/broker/uptime')).toBe(true)
    expect(isSys('$SYS')).toBe(false)
    expect(isSys('a/$SYS/b')).toBe(false)
    expect(isSys('$share/g/t')).toBe(false)
  })

  it('a set and a replacement are each one Retain record; the table holds the latest', () => {
    const {t, written} = table()
    t.set(ret('a/b', 'one'))
    t.set(ret('a/b', 'two'))
    expect(written()).toEqual([
      [T.Retain, 'a/b', 'one'],
      [T.Retain, 'a/b', 'two'],
    ])
    expect(t.size).toBe(1)
    expect(t.match('a/#', 0).map((m) => m.payload.toString())).toEqual(['two'])
  })

  it('an empty payload deletes the topic: one RetainDel when it existed, nothing when it did not', () => {
    const {t, written, begun} = table()
    t.set(ret('x', ''))
    expect(written()).toEqual([])
    expect(begun()).toBe(0) // nothing counted: no ack waits for it
    t.set(ret('x', 'v'))
    written()
    t.set(ret('x', ''))
    expect(written()).toEqual([[T.RetainDel, 'x']])
    expect(t.size).toBe(0)
  })

  it('delete: true and one record for a kept topic, false and nothing for an unknown one', () => {
    const {t, written} = table()
    t.set(ret('k', 'v'))
    written()
    expect(t.delete('nope')).toBe(false)
    expect(written()).toEqual([])
    expect(t.delete('k')).toBe(true)
    expect(written()).toEqual([[T.RetainDel, 'k']])
  })

  it('$SYS statistics are kept in memory but never written, set or deleted', () => {
    const {t, written, begun} = table()
    t.set(ret('$SYS/broker/clients', '3'))
    expect(t.size).toBe(1)
    expect(t.delete('$SYS/broker/clients')).toBe(true)
    t.set(ret('$SYS/broker/expiring', '1', 1000))
    expect(t.match('$SYS/#', 2000, [])).toEqual([])
    expect(written()).toEqual([])
    expect(begun()).toBe(0)
  })

  it("a match at `now` drops the expired ones, writes their delete and hands them to the caller", () => {
    const {t, written} = table()
    t.set(ret('s/old', 'o', 1000))
    t.set(ret('s/live', 'l', 5000))
    t.set(ret('s/never', 'n'))
    written()
    const expired: RetainedMessage[] = []
    const live = t.match('s/+', 1000, expired)
    expect(live.map((m) => m.topic).sort()).toEqual(['s/live', 's/never'])
    expect(expired.map((m) => m.topic)).toEqual(['s/old'])
    expect(written()).toEqual([[T.RetainDel, 's/old']])
    expect(t.size).toBe(2)
    // Without an `expired` list the delete is still written.
    expect(t.match('s/#', 5000).map((m) => m.topic)).toEqual(['s/never'])
    expect(written()).toEqual([[T.RetainDel, 's/live']])
  })

  it('loaded messages are held, not written again', () => {
    const {t, written, begun} = table()
    t.load(ret('l/1', 'a'))
    t.load(ret('l/2', 'b'))
    expect(begun()).toBe(0)
    expect(written()).toEqual([])
    expect([...t.all()].map((m) => m.topic).sort()).toEqual(['l/1', 'l/2'])
  })
})
