/**
 * The store's record format directly (codec.ts, encode.ts, decode.ts): every record type round-trips,
 * and scanRecords keeps what precedes the first truncated, corrupted or impossible record and says why.
 */
import {describe, expect, it} from 'vitest'
import {T} from '../../../src/broker/persistence/codec.js'
import {scanRecords} from '../../../src/broker/persistence/decode.js'
import {RecordWriter, writeHeader, writeId, writeKey, writeMsg, writeQueue, writeRetain, writeSub, writeUnsub} from '../../../src/broker/persistence/encode.js'
import type {Message} from '../../../src/broker/message.js'

function records(write: (w: RecordWriter) => void): Buffer {
  const w = new RecordWriter(64)
  write(w)
  return Buffer.concat(w.take())
}

const scan = (buf: Buffer) => {
  const got: Array<Record<string, unknown>> = []
  // Records passed to the callback are reused objects: copy them.
  const result = scanRecords(buf, (r) => got.push(structuredClone({...r, ...('msg' in r ? {msg: {...r.msg, payload: r.msg.payload.toString()}} : {}), ...('payload' in r ? {payload: r.payload.toString()} : {})})))
  return {got, result}
}

/** Byte offset of record `n` (0-based): each is u32 length | u32 CRC | body. */
function startOf(buf: Buffer, n: number): number {
  let pos = 0
  for (let i = 0; i < n; i++) pos += 8 + buf.readUInt32BE(pos)
  return pos
}

const msg: Message = {topic: 'a/b', payload: Buffer.from('hello'), qos: 1, retain: false, expiresAt: 0, properties: {userProperties: {k: 'v'}}}

const all = (w: RecordWriter) => {
  writeHeader(w, 0, 7)
  writeSub(w, 'c1', 'a/+', {qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 9})
  writeUnsub(w, 'c1', 'old/#')
  writeMsg(w, 42, msg)
  writeQueue(w, 'c1', 5, 42, {qos: 1, retain: false, subscriptionIds: [3]})
  writeId(w, T.Incoming, 'c1', 17)
  writeKey(w, T.SessionDel, 'gone')
  writeRetain(w, 'r/1', Buffer.from('on'), 1, undefined, 0)
}

describe('store record format', () => {
  it('every record written comes back, in order, with its fields', () => {
    const {got, result} = scan(records(all))
    expect(result.records).toBe(8)
    expect(result.problem).toBeUndefined()
    expect(got.map((r) => r.t)).toEqual([T.Header, T.Sub, T.Unsub, T.Msg, T.Queue, T.Incoming, T.SessionDel, T.Retain])
    expect(got[0]).toMatchObject({kind: 0, gen: 7})
    expect(got[1]).toMatchObject({clientId: 'c1', filter: 'a/+', options: {qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2, subscriptionId: 9}})
    expect(got[2]).toMatchObject({clientId: 'c1', filter: 'old/#'})
    expect(got[3]).toMatchObject({msgId: 42, msg: {topic: 'a/b', payload: 'hello', qos: 1, properties: {userProperties: {k: 'v'}}}})
    expect(got[4]).toMatchObject({clientId: 'c1', qid: 5, msgId: 42, qos: 1, retain: false, subscriptionIds: [3]})
    expect(got[5]).toMatchObject({clientId: 'c1', packetId: 17})
    expect(got[6]).toMatchObject({clientId: 'gone'})
    expect(got[7]).toMatchObject({topic: 'r/1', payload: 'on', qos: 1})
  })

  it('a truncated tail: the records before it are kept, goodBytes ends at the last whole one', () => {
    const buf = records(all)
    expect(scan(buf).result.goodBytes).toBe(buf.length)
    const lastStart = startOf(buf, 7)
    for (const cut of [1, 5, 9, 20]) {
      const {got, result} = scan(buf.subarray(0, buf.length - cut))
      expect(result.records).toBe(7)
      expect(got).toHaveLength(7)
      expect(result.problem).toMatch(/^truncated record/)
      expect(result.goodBytes).toBe(lastStart)
    }
  })

  it('a flipped byte fails that record\'s checksum: scanning stops there, the earlier ones are kept', () => {
    const buf = Buffer.from(records(all))
    const fourthStart = startOf(buf, 3)
    buf[fourthStart + 10] ^= 0x40
    const {got, result} = scan(buf)
    expect(result).toMatchObject({records: 3, goodBytes: fourthStart, problem: 'checksum mismatch'})
    expect(got.map((r) => r.t)).toEqual([T.Header, T.Sub, T.Unsub])
  })

  it('an impossible length (0, or beyond the largest record) stops the scan without reading on', () => {
    const buf = Buffer.from(records(all))
    buf.writeUInt32BE(0, 0)
    expect(scan(buf).result).toMatchObject({records: 0, goodBytes: 0, problem: 'impossible record length 0'})
    buf.writeUInt32BE(0xffffffff, 0)
    expect(scan(buf).result).toMatchObject({records: 0, goodBytes: 0, problem: `impossible record length ${0xffffffff}`})
  })
})
