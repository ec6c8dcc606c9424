/**
 * Decoding store records (format in codec.ts): decodeBody for one record, scanRecords for a buffer
 * of them (stops at the first truncated, bad-checksum or undecodable record).
 */
import type {ForwardedProperties, Message} from '../message.js'
import type {SubOptions} from '../topics/types.js'
import {FORMAT_VERSION, HEADER_BYTES, MAGIC, MAX_RECORD_BYTES, NewerFormatError, parseProps, type Rec, type SessionHeader, T} from './codec.js'
import {crc32Range} from './crc32.js'
import type {WillRecord} from './store.js'

const TOPIC_SLOTS = 16_381 // prime: the slot is the hash modulo it
const TOPIC_MAX = 64

/**
 * Strings decoded from bytes, one per slot, handed out again while a slot's bytes match (compared in
 * JS: cheaper than a native call for short strings): no string allocated and kept per record.
 */
class StringCache {
  readonly #bytes: Buffer
  readonly #lens: Int32Array
  readonly #strs: string[] = []
  readonly #max: number

  constructor(slots: number, max: number) {
    this.#bytes = Buffer.alloc(slots * max)
    this.#lens = new Int32Array(slots).fill(-1)
    this.#max = max
  }

  get(buf: Buffer, at: number, n: number, slot: number): string {
    if (n > this.#max) return buf.toString('utf8', at, at + n)
    const bytes = this.#bytes
    const base = slot * this.#max
    if (this.#lens[slot] === n) {
      let i = 0
      while (i < n && buf[at + i] === bytes[base + i]) i++
      if (i === n) return this.#strs[slot]
    }
    const s = buf.toString('utf8', at, at + n)
    for (let i = 0; i < n; i++) bytes[base + i] = buf[at + i]
    this.#lens[slot] = n
    this.#strs[slot] = s
    return s
  }
}

class Reader {
  buf: Buffer = Buffer.alloc(0)
  pos = 0
  end = 0
  /** The last client id (key16). */
  readonly #keys = new StringCache(1, 256)
  #topics: StringCache | undefined

  reset(buf: Buffer, start: number, end: number): this {
    this.buf = buf
    this.pos = start
    this.end = end
    return this
  }

  #need(n: number): void {
    if (this.pos + n > this.end) throw new RangeError('record shorter than its fields')
  }

  u8(): number {
    this.#need(1)
    return this.buf[this.pos++]
  }

  u16(): number {
    this.#need(2)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  u32(): number {
    this.#need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  f64(): number {
    this.#need(8)
    const v = this.buf.readDoubleBE(this.pos)
    this.pos += 8
    return v
  }

  str16(): string {
    return this.#utf8(this.u16())
  }

  str32(): string {
    return this.#utf8(this.u32())
  }

  #utf8(n: number): string {
    this.#need(n)
    const s = this.buf.toString('utf8', this.pos, this.pos + n)
    this.pos += n
    return s
  }

  /** A message topic (u16-length UTF-8): many stored messages share a few topics, one string each (TopicCache). */
  topic16(): string {
    const n = this.u16()
    this.#need(n)
    const at = this.pos
    this.pos += n
    if (n > TOPIC_MAX) return this.buf.toString('utf8', at, at + n)
    let h = n
    for (let i = 0; i < n; i++) h = Math.imul(h ^ this.buf[at + i], 16777619)
    return (this.#topics ??= new StringCache(TOPIC_SLOTS, TOPIC_MAX)).get(this.buf, at, n, (h >>> 0) % TOPIC_SLOTS)
  }

  /** A client id (u16-length UTF-8): the records of one session come one after another in a snapshot, so the last one is reused. */
  key16(): string {
    const n = this.u16()
    this.#need(n)
    const at = this.pos
    this.pos += n
    return this.#keys.get(this.buf, at, n, 0)
  }

  /**
   * A view into the file's read chunk, no copy: loading allocates nothing per payload. The chunk
   * (16 MiB, scanFile never reuses one) lives while any message read from it does, so what a load
   * holds is at most the store's size on disk, and shrinks as messages are delivered.
   */
  bytes(): Buffer {
    const n = this.u32()
    this.#need(n)
    const b = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return b
  }
}

function readWill(r: Reader): WillRecord | undefined {
  if (r.u8() !== 1) return undefined
  const topic = r.str16()
  const payload = r.bytes()
  const qos = qosOf(r.u8())
  const retain = r.u8() === 1
  const properties = parseProps(r.str32())
  const will: WillRecord = {topic, payload, qos, retain, properties, delay: r.u32()}
  if (properties === undefined) delete will.properties
  return will
}

function qosOf(v: number): 0 | 1 | 2 {
  const q = v & 3
  if (q > 2) throw new RangeError(`QoS ${q}`)
  return q as 0 | 1 | 2
}

function readIds(r: Reader): number[] | undefined {
  const n = r.u16()
  if (n === 0) return undefined
  const ids: number[] = []
  for (let i = 0; i < n; i++) ids.push(r.u32())
  return ids
}

function readShared(r: Reader): string | undefined {
  const shared = r.str16()
  return r.u8() === 1 ? shared : undefined
}

/** The delivery part of a queued or in-flight record (encode.ts writeRef), into `into`. */
function readRef<R extends {msgId: number; qos: 0 | 1 | 2; retain: boolean; subscriptionIds?: number[]; shared?: string}>(r: Reader, into: R): R {
  into.msgId = r.f64()
  const flags = r.u8()
  into.qos = qosOf(flags)
  into.retain = (flags & 4) !== 0
  into.subscriptionIds = readIds(r)
  into.shared = readShared(r)
  return into
}

const reader = new Reader()

// The records a load has millions of are decoded into these scratch objects (no allocation per
// record): a decoded record is valid only until the next one is decoded (scanRecords' callback).
type QueueRec = Extract<Rec, {t: T.Queue}>
type InflightRec = Extract<Rec, {t: T.Inflight}>
type MsgRec = Extract<Rec, {t: T.Msg}>
const queueRec: QueueRec = {t: T.Queue, clientId: '', qid: 0, msgId: 0, qos: 0, retain: false, subscriptionIds: undefined, shared: undefined}
const inflightRec: InflightRec = {t: T.Inflight, clientId: '', packetId: 0, fromQid: 0, released: false, msgId: 0, qos: 0, retain: false, subscriptionIds: undefined, shared: undefined}
const msgRec: MsgRec = {t: T.Msg, msgId: 0, msg: undefined as unknown as Message}

/** Decodes one record body of a file in format `version` (CRC already checked); throws RangeError/SyntaxError on a malformed one. */
export function decodeBody(buf: Buffer, start: number, end: number, version = FORMAT_VERSION): Rec {
  const r = reader.reset(buf, start, end)
  const t = r.u8() as T
  let rec: Rec
  switch (t) {
    case T.Header: {
      if (r.u32() !== MAGIC) throw new RangeError('not a store file (bad magic)')
      const version = r.u16()
      rec = {t, version, kind: r.u8(), gen: r.f64()}
      break
    }
    case T.Session:
    case T.SessionNew: {
      const h: {t: T.Session | T.SessionNew} & SessionHeader = {t, clientId: r.key16(), expiryInterval: r.u32(), disconnectedAt: r.f64(), willAt: r.f64(), pendingWill: undefined}
      h.pendingWill = readWill(r)
      h.connectionWill = version >= 4 ? readWill(r) : undefined
      rec = h
      break
    }
    case T.SessionDel:
      rec = {t, clientId: r.key16()}
      break
    case T.Sub: {
      const clientId = r.key16()
      const filter = r.str16()
      const qos = qosOf(r.u8())
      const f = r.u8()
      const rh = (f >> 2) & 3
      if (rh > 2) throw new RangeError(`retain handling ${rh}`)
      const options: SubOptions = {qos, noLocal: (f & 1) !== 0, retainAsPublished: (f & 2) !== 0, retainHandling: rh as 0 | 1 | 2}
      const sid = r.u32()
      if (sid !== 0) options.subscriptionId = sid
      rec = {t, clientId, filter, options}
      break
    }
    case T.Unsub:
      rec = {t, clientId: r.key16(), filter: r.str16()}
      break
    case T.Msg: {
      const msgId = r.f64()
      const topic = r.topic16()
      const payload = r.bytes()
      const flags = r.u8()
      const expiresAt = r.f64()
      const from = r.str16()
      const hasFrom = r.u8() === 1
      const properties = parseProps(r.str32()) as ForwardedProperties | undefined
      const raw = version >= 2 && r.u8() === 1 ? r.bytes() : undefined
      // The fields in the order the PUBLISH handler creates them (one hidden class), none deleted
      // afterwards (a delete turns each of a million objects into a slow dictionary).
      const msg = {topic, payload, qos: qosOf(flags), retain: (flags & 4) !== 0, properties, raw, expiresAt, from: hasFrom ? from : undefined} as Message
      msg.owned = true
      msgRec.msgId = msgId
      msgRec.msg = msg
      rec = msgRec
      break
    }
    case T.Queue: {
      const clientId = r.key16()
      const qid = r.f64()
      const q = queueRec
      q.clientId = clientId
      q.qid = qid
      rec = readRef(r, q)
      break
    }
    case T.Dequeue:
      rec = {t, clientId: r.key16(), qid: r.f64()}
      break
    case T.Inflight: {
      const clientId = r.key16()
      const packetId = r.u16()
      const fromQid = r.f64()
      const released = r.u8() === 1
      if (packetId === 0) throw new RangeError('packet id 0')
      const f = inflightRec
      f.clientId = clientId
      f.packetId = packetId
      f.fromQid = fromQid
      f.released = released
      rec = readRef(r, f)
      break
    }
    case T.InflightDel:
    case T.Incoming:
    case T.IncomingDel:
      rec = {t, clientId: r.key16(), packetId: r.u16()}
      break
    case T.Retain: {
      const topic = r.str16()
      const payload = r.bytes()
      const qos = qosOf(r.u8())
      const expiresAt = r.f64()
      const properties = parseProps(r.str32())
      const raw = version >= 3 && r.u8() === 1 ? r.bytes() : undefined
      rec = {t, topic, payload, qos, expiresAt, properties, raw}
      break
    }
    case T.RetainDel:
      rec = {t, topic: r.str16()}
      break
    case T.SnapEnd:
      rec = {t, records: r.f64()}
      break
    default:
      throw new RangeError(`unknown record type ${t}`)
  }
  if (r.pos !== end) throw new RangeError(`record type ${t} has ${end - r.pos} bytes too many`)
  return rec
}

export interface ScanResult {
  /** Byte offset after the last good record. */
  goodBytes: number
  records: number
  /** The file's format version as its header said (for the next chunk of the same file). */
  version: number
  /** Why scanning stopped before the end of the buffer; undefined when every byte was a good record. */
  problem?: string
}

/**
 * Walks the records of a file's bytes, calling `each` for every good one, and stops at the first
 * that is truncated, fails its checksum or does not decode: the caller keeps what came before.
 * A record passed to `each` is valid during the call only (queued, in-flight and message records are
 * decoded into reused objects); what it references (a Message, a payload) may be kept.
 */
export function scanRecords(buf: Buffer, each: (rec: Rec) => void, fileVersion = FORMAT_VERSION): ScanResult {
  let pos = 0
  let version = fileVersion
  let records = 0
  while (pos < buf.length) {
    if (buf.length - pos < HEADER_BYTES) return {goodBytes: pos, records, version, problem: `truncated record header (${buf.length - pos} bytes)`}
    const len = buf.readUInt32BE(pos)
    if (len === 0 || len > MAX_RECORD_BYTES) return {goodBytes: pos, records, version, problem: `impossible record length ${len}`}
    const bodyStart = pos + HEADER_BYTES
    if (bodyStart + len > buf.length) return {goodBytes: pos, records, version, problem: `truncated record (${buf.length - bodyStart} of ${len} bytes)`}
    if (crc32Range(buf, bodyStart, bodyStart + len) !== buf.readUInt32BE(pos + 4)) return {goodBytes: pos, records, version, problem: 'checksum mismatch'}
    let rec: Rec
    try {
      rec = decodeBody(buf, bodyStart, bodyStart + len, version)
      if (rec.t === T.Header) {
        if (rec.version > FORMAT_VERSION) throw new NewerFormatError(`format version ${rec.version}, newer than this broker's ${FORMAT_VERSION}`)
        version = rec.version
      }
    } catch (error) {
      if (error instanceof NewerFormatError) throw error
      return {goodBytes: pos, records, version, problem: `undecodable record: ${(error as Error).message}`}
    }
    each(rec)
    records++
    pos = bodyStart + len
  }
  return {goodBytes: pos, records, version}
}
