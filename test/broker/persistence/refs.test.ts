/**
 * Message bodies on disk directly (refs.ts): a message queued for many sessions is written once per
 * journal generation or per snapshot and referenced by id; ids are never handed out twice, loaded ones
 * included; a session's children are written with the right references and queue ids.
 */
import {describe, expect, it} from 'vitest'
import {type Rec, T} from '../../../src/broker/persistence/codec.js'
import {scanRecords} from '../../../src/broker/persistence/decode.js'
import {RecordWriter} from '../../../src/broker/persistence/encode.js'
import {MessageRefs} from '../../../src/broker/persistence/refs.js'
import {newSession, pushQueued, putIncoming, putInflight} from '../../../src/broker/persistence/session-record.js'
import {delivery, msg, opts} from './helpers.js'

/** The records written since the last call, each summarised as a small plain object. */
function reader(w: RecordWriter) {
  return () => {
    const out: Array<Record<string, unknown>> = []
    const scan = scanRecords(Buffer.concat(w.take()), (r: Rec) => {
      if (r.t === T.Msg) out.push({t: 'msg', id: r.msgId, payload: r.msg.payload.toString()})
      else if (r.t === T.Queue) out.push({t: 'queue', client: r.clientId, qid: r.qid, msgId: r.msgId, qos: r.qos})
      else if (r.t === T.Inflight) out.push({t: 'inflight', client: r.clientId, packetId: r.packetId, msgId: r.msgId, released: r.released, fromQid: r.fromQid})
      else if (r.t === T.Sub) out.push({t: 'sub', client: r.clientId, filter: r.filter, qos: r.options.qos})
      else if (r.t === T.Incoming) out.push({t: 'incoming', client: r.clientId, packetId: r.packetId})
      else out.push({t: r.t})
    })
    expect(scan.problem).toBeUndefined()
    return out
  }
}

/** Fresh refs, a writer and a reader of what it wrote. */
function fresh() {
  const w = new RecordWriter(64)
  return {refs: new MessageRefs(), w, read: reader(w)}
}

describe('MessageRefs', () => {
  it('ids count up from 1; loaded ids are never handed out again, a lower load changes nothing', () => {
    const refs = new MessageRefs()
    expect(refs.nextId()).toBe(1)
    expect(refs.nextId()).toBe(2)
    refs.loaded(41)
    expect(refs.nextId()).toBe(42)
    refs.loaded(5)
    expect(refs.nextId()).toBe(43)
  })

  it('a body is written once per journal generation; the id stays the same across generations', () => {
    const {refs, w, read} = fresh()
    const m = msg('t', 'body')
    const id = refs.inJournal(w, m, 3)
    expect(refs.inJournal(w, m, 3)).toBe(id)
    expect(read()).toEqual([{t: 'msg', id, payload: 'body'}])
    expect(refs.inJournal(w, m, 4)).toBe(id)
    expect(read()).toEqual([{t: 'msg', id, payload: 'body'}]) // the new journal needs its own copy
    expect(refs.inJournal(w, m, 4)).toBe(id)
    expect(read()).toEqual([])
    const other = msg('t', 'other')
    expect(refs.inJournal(w, other, 4)).not.toBe(id)
  })

  it('a body is written once per snapshot, whatever the journal has', () => {
    const {refs, w, read} = fresh()
    const m = msg('t', 'b')
    const id = refs.inJournal(w, m, 1)
    read()
    const written = new Set<number>()
    expect(refs.inSnapshot(w, m, written)).toBe(id)
    expect(refs.inSnapshot(w, m, written)).toBe(id)
    expect(read()).toEqual([{t: 'msg', id, payload: 'b'}])
    expect(refs.inSnapshot(w, m, new Set())).toBe(id)
    expect(read()).toHaveLength(1) // another snapshot: written again
  })

  it('a message written to disk holds its own bytes, not a view into a larger read buffer', () => {
    const refs = new MessageRefs()
    const chunk = Buffer.from('xxxxPAYLOADxxxx')
    const m = {...msg('t', ''), payload: chunk.subarray(4, 11)}
    refs.inJournal(new RecordWriter(64), m, 0)
    expect(m.payload.toString()).toBe('PAYLOAD')
    expect(m.payload.buffer).not.toBe(chunk.buffer)
    expect(m.owned).toBe(true)
  })

  it("a session's children: subscriptions, incoming ids, in-flight and queued deliveries, one body for a shared message", () => {
    const {refs, w, read} = fresh()
    const s = newSession('c1', 60)
    s.subscriptions.set('a/+', opts(1))
    putIncoming(s, 9)
    const shared = msg('a/b', 'shared')
    putInflight(s, {...delivery(shared, 2), packetId: 5, released: true})
    const q1 = delivery(shared)
    const q2 = delivery(msg('a/c', 'second'))
    q2.storeQid = 77 // already on disk under this id: kept
    pushQueued(s, q1)
    pushQueued(s, q2)
    refs.writeChildren(w, s, 2)
    const recs = read()
    const mid = (p: string) => recs.find((r) => r.t === 'msg' && r.payload === p)?.id
    expect(recs.filter((r) => r.t === 'msg')).toHaveLength(2)
    expect(q1.storeQid).toBeTypeOf('number')
    expect(q2.storeQid).toBe(77)
    expect(recs).toEqual([
      {t: 'sub', client: 'c1', filter: 'a/+', qos: 1},
      {t: 'incoming', client: 'c1', packetId: 9},
      {t: 'msg', id: mid('shared'), payload: 'shared'},
      {t: 'inflight', client: 'c1', packetId: 5, msgId: mid('shared'), released: true, fromQid: 0},
      {t: 'queue', client: 'c1', qid: q1.storeQid, msgId: mid('shared'), qos: 1},
      {t: 'msg', id: mid('second'), payload: 'second'},
      {t: 'queue', client: 'c1', qid: 77, msgId: mid('second'), qos: 1},
    ])
    // Queue ids and message ids come from one counter: never the same number twice.
    const ids = [mid('shared'), mid('second'), q1.storeQid]
    expect(new Set(ids).size).toBe(3)
  })

  it('into a snapshot, a body already in that snapshot is not written again', () => {
    const {refs, w, read} = fresh()
    const m = msg('t', 'm')
    const a = newSession('a', 1)
    const b = newSession('b', 1)
    pushQueued(a, delivery(m))
    pushQueued(b, delivery(m))
    const written = new Set<number>()
    refs.writeChildren(w, a, 0, written)
    refs.writeChildren(w, b, 0, written)
    expect(read().map((r) => r.t)).toEqual(['msg', 'queue', 'queue'])
  })
})
