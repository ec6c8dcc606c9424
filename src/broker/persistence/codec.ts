/**
 * The durable store's record format, shared by the journal and the snapshot files.
 *
 *   record = u32 body length | u32 CRC-32 of the body | body
 *   body   = u8 type | fields (big-endian integers, f64 times and ids, u16/u32-length UTF-8 strings)
 *
 * Every record is an absolute change of one key (a session's header, one subscription, one queued or
 * in-flight delivery, one retained topic ...), never a relative one, so replaying the journal on top
 * of a snapshot that was written while the broker kept running gives the same state whichever
 * version of a key the snapshot caught (see durable.ts).
 */
import type {ForwardedProperties, Message} from '../message.js'
import type {SubOptions} from '../topics/types.js'
import type {WillRecord} from './store.js'
import {crc32Range} from './crc32.js'

/**
 * 2: message records carry the publisher's raw MQTT 5 property bytes; 3: retained records too.
 * Older files still load.
 */
export const FORMAT_VERSION = 3
/** "MQJ1": the first 4 bytes of every store file's header record body. */
export const MAGIC = 0x4d514a31
export const HEADER_BYTES = 8
/** No record is larger (a 256 MiB payload plus its topic and properties fits). */
export const MAX_RECORD_BYTES = 300 * 1024 * 1024

export const enum T {
  /** File header: magic, format version, kind (0 journal, 1 snapshot), generation. */
  Header = 1,
  /** Session header upsert: expiry, disconnect time, pending will. Children are kept. */
  Session = 2,
  /** A new session: every child of an earlier one with that id is gone, then the header. */
  SessionNew = 3,
  SessionDel = 4,
  Sub = 5,
  Unsub = 6,
  /** A message body, referenced by queued and in-flight deliveries by id. */
  Msg = 7,
  Queue = 8,
  Dequeue = 9,
  /** In flight under a packet id; `fromQid` (when not 0) leaves the queue in the same record. */
  Inflight = 10,
  InflightDel = 11,
  Incoming = 12,
  IncomingDel = 13,
  Retain = 14,
  RetainDel = 15,
  /** Last record of a complete snapshot: its record count. */
  SnapEnd = 16,
}

export interface SessionHeader {
  clientId: string
  expiryInterval: number
  disconnectedAt: number
  willAt: number
  pendingWill?: WillRecord
}

export interface DeliveryRef {
  clientId: string
  msgId: number
  qos: 0 | 1 | 2
  retain: boolean
  subscriptionIds?: number[]
  shared?: string
}

export type Rec =
  | {t: T.Header; kind: number; gen: number; version: number}
  | ({t: T.Session | T.SessionNew} & SessionHeader)
  | {t: T.SessionDel; clientId: string}
  | {t: T.Sub; clientId: string; filter: string; options: SubOptions}
  | {t: T.Unsub; clientId: string; filter: string}
  | {t: T.Msg; msgId: number; msg: Message}
  | ({t: T.Queue; qid: number} & DeliveryRef)
  | {t: T.Dequeue; clientId: string; qid: number}
  | ({t: T.Inflight; packetId: number; fromQid: number; released: boolean} & DeliveryRef)
  | {t: T.InflightDel; clientId: string; packetId: number}
  | {t: T.Incoming | T.IncomingDel; clientId: string; packetId: number}
  | {t: T.Retain; topic: string; payload: Buffer; qos: 0 | 1 | 2; properties?: Record<string, unknown>; expiresAt: number; raw?: Buffer}
  | {t: T.RetainDel; topic: string}
  | {t: T.SnapEnd; records: number}

/** Properties as JSON, Buffers (correlation data) as {"$b": base64}. */
function propsJson(props: object | undefined): string {
  if (props === undefined) return ''
  return JSON.stringify(props, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = key === '' ? value : this[key]
    return Buffer.isBuffer(raw) ? {$b: raw.toString('base64')} : value
  })
}

function parseProps(text: string): Record<string, unknown> | undefined {
  if (text === '') return undefined
  const value = JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && typeof (v as {$b?: unknown}).$b === 'string' && Object.keys(v).length === 1) {
      return Buffer.from((v as {$b: string}).$b, 'base64')
    }
    return v
  }) as unknown
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new RangeError('properties are not an object')
  return value as Record<string, unknown>
}

/**
 * Appends records to one growing buffer: a record is written in place (header reserved, body, then
 * length and CRC filled in), so encoding allocates nothing per record. take() hands out the bytes of
 * the complete records and starts a new buffer.
 */
export class RecordWriter {
  #buf: Buffer
  /** Start of the complete records not yet taken. */
  #taken = 0
  /** Start of the record being written. */
  #start = 0
  #pos = 0
  #done: Buffer[] = []
  #doneBytes = 0
  records = 0
  readonly #chunk: number

  constructor(chunk = 256 * 1024) {
    this.#chunk = chunk
    this.#buf = Buffer.allocUnsafe(chunk)
  }

  /** Bytes of complete records not yet taken. */
  get pending(): number {
    return this.#doneBytes + this.#start - this.#taken
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return
    const partial = this.#pos - this.#start
    const next = Buffer.allocUnsafe(Math.max(this.#chunk, (partial + n) * 2))
    this.#buf.copy(next, 0, this.#start, this.#pos)
    if (this.#start > this.#taken) {
      this.#done.push(this.#buf.subarray(this.#taken, this.#start))
      this.#doneBytes += this.#start - this.#taken
    }
    this.#buf = next
    this.#taken = 0
    this.#start = 0
    this.#pos = partial
  }

  begin(type: T): this {
    this.#ensure(HEADER_BYTES + 1)
    this.#pos += HEADER_BYTES
    this.#buf[this.#pos++] = type
    return this
  }

  end(): void {
    const bodyStart = this.#start + HEADER_BYTES
    const len = this.#pos - bodyStart
    this.#buf.writeUInt32BE(len, this.#start)
    this.#buf.writeUInt32BE(crc32Range(this.#buf, bodyStart, this.#pos), this.#start + 4)
    this.#start = this.#pos
    this.records++
  }

  /** Drops a record begun but not ended (an encoding error). */
  abort(): void {
    this.#pos = this.#start
  }

  u8(v: number): this {
    this.#ensure(1)
    this.#buf[this.#pos++] = v
    return this
  }

  u16(v: number): this {
    this.#ensure(2)
    this.#buf.writeUInt16BE(v, this.#pos)
    this.#pos += 2
    return this
  }

  u32(v: number): this {
    this.#ensure(4)
    this.#buf.writeUInt32BE(v >>> 0, this.#pos)
    this.#pos += 4
    return this
  }

  f64(v: number): this {
    this.#ensure(8)
    this.#buf.writeDoubleBE(v, this.#pos)
    this.#pos += 8
    return this
  }

  /** UTF-8 with a u16 length (MQTT strings: topics, filters, client ids). */
  str16(s: string): this {
    const n = Buffer.byteLength(s)
    if (n > 0xffff) throw new RangeError(`string of ${n} bytes is longer than 65,535`)
    this.#ensure(2 + n)
    this.#buf.writeUInt16BE(n, this.#pos)
    this.#buf.write(s, this.#pos + 2, n, 'utf8')
    this.#pos += 2 + n
    return this
  }

  /** UTF-8 with a u32 length. */
  str32(s: string): this {
    const n = Buffer.byteLength(s)
    this.#ensure(4 + n)
    this.#buf.writeUInt32BE(n, this.#pos)
    this.#buf.write(s, this.#pos + 4, n, 'utf8')
    this.#pos += 4 + n
    return this
  }

  bytes(b: Uint8Array): this {
    this.#ensure(4 + b.length)
    this.#buf.writeUInt32BE(b.length, this.#pos)
    this.#buf.set(b, this.#pos + 4)
    this.#pos += 4 + b.length
    return this
  }

  /**
   * The complete records' bytes (in order), leaving the writer empty. Handed-out bytes are never
   * written again: later records go after them in the same buffer, or into a new one.
   */
  take(): Buffer[] {
    const out = this.#done
    if (this.#start > this.#taken) out.push(this.#buf.subarray(this.#taken, this.#start))
    this.#taken = this.#start
    this.#done = []
    this.#doneBytes = 0
    return out
  }
}

// ---- encoders (one function per record type) ----

export function writeHeader(w: RecordWriter, kind: 0 | 1, gen: number): void {
  w.begin(T.Header).u32(MAGIC).u16(FORMAT_VERSION).u8(kind).f64(gen).end()
}

export function writeSession(w: RecordWriter, type: T.Session | T.SessionNew, h: SessionHeader): void {
  w.begin(type).str16(h.clientId).u32(h.expiryInterval).f64(h.disconnectedAt).f64(h.willAt)
  const will = h.pendingWill
  if (will === undefined) w.u8(0)
  else {
    w.u8(1).str16(will.topic).bytes(will.payload).u8(will.qos).u8(will.retain ? 1 : 0).str32(propsJson(will.properties)).u32(will.delay)
  }
  w.end()
}

export function writeKey(w: RecordWriter, type: T.SessionDel, clientId: string): void {
  w.begin(type).str16(clientId).end()
}

export function writeSub(w: RecordWriter, clientId: string, filter: string, o: SubOptions): void {
  w.begin(T.Sub).str16(clientId).str16(filter).u8(o.qos).u8((o.noLocal ? 1 : 0) | (o.retainAsPublished ? 2 : 0) | (o.retainHandling << 2))
  w.u32(o.subscriptionId ?? 0).end()
}

export function writeUnsub(w: RecordWriter, clientId: string, filter: string): void {
  w.begin(T.Unsub).str16(clientId).str16(filter).end()
}

export function writeMsg(w: RecordWriter, msgId: number, m: Message): void {
  w.begin(T.Msg).f64(msgId).str16(m.topic).bytes(m.payload).u8(m.qos | (m.retain ? 4 : 0)).f64(m.expiresAt)
  w.str16(m.from ?? '').u8(m.from === undefined ? 0 : 1).str32(propsJson(m.properties))
  // The publisher's MQTT 5 property bytes as received, when the broker kept them (user property order).
  const raw = (m as {raw?: Buffer}).raw
  if (raw === undefined) w.u8(0)
  else w.u8(1).bytes(raw)
  w.end()
}

/** The per-delivery fields of a queued or in-flight record (a Delivery has them). */
export interface DeliveryFields {
  qos: 0 | 1 | 2
  retain: boolean
  subscriptionIds?: number[]
  shared?: string
}

function writeRef(w: RecordWriter, msgId: number, d: DeliveryFields): void {
  w.f64(msgId).u8(d.qos | (d.retain ? 4 : 0))
  const ids = d.subscriptionIds
  w.u16(ids?.length ?? 0)
  if (ids !== undefined) for (const id of ids) w.u32(id)
  w.str16(d.shared ?? '').u8(d.shared === undefined ? 0 : 1)
}

export function writeQueue(w: RecordWriter, clientId: string, qid: number, msgId: number, d: DeliveryFields): void {
  w.begin(T.Queue).str16(clientId).f64(qid)
  writeRef(w, msgId, d)
  w.end()
}

export function writeDequeue(w: RecordWriter, clientId: string, qid: number): void {
  w.begin(T.Dequeue).str16(clientId).f64(qid).end()
}

export function writeInflight(w: RecordWriter, clientId: string, packetId: number, fromQid: number, released: boolean, msgId: number, d: DeliveryFields): void {
  w.begin(T.Inflight).str16(clientId).u16(packetId).f64(fromQid).u8(released ? 1 : 0)
  writeRef(w, msgId, d)
  w.end()
}

export function writeId(w: RecordWriter, type: T.InflightDel | T.Incoming | T.IncomingDel, clientId: string, packetId: number): void {
  w.begin(type).str16(clientId).u16(packetId).end()
}

export function writeRetain(w: RecordWriter, topic: string, payload: Buffer, qos: number, properties: Record<string, unknown> | undefined, expiresAt: number, raw?: Buffer): void {
  w.begin(T.Retain).str16(topic).bytes(payload).u8(qos).f64(expiresAt).str32(propsJson(properties))
  if (raw === undefined) w.u8(0)
  else w.u8(1).bytes(raw)
  w.end()
}

export function writeRetainDel(w: RecordWriter, topic: string): void {
  w.begin(T.RetainDel).str16(topic).end()
}

export function writeSnapEnd(w: RecordWriter, records: number): void {
  w.begin(T.SnapEnd).f64(records).end()
}

// ---- decoding ----

class Reader {
  buf: Buffer = Buffer.alloc(0)
  pos = 0
  end = 0
  /** The last short string decoded and its bytes: consecutive records of one session share the id. */
  #lastStr = ''
  #lastBytes = Buffer.alloc(256)
  #lastLen = -1

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
    const n = this.u16()
    this.#need(n)
    const buf = this.buf
    const at = this.pos
    this.pos += n
    if (n === this.#lastLen && buf.compare(this.#lastBytes, 0, n, at, at + n) === 0) return this.#lastStr
    const s = buf.toString('utf8', at, at + n)
    if (n <= this.#lastBytes.length) {
      buf.copy(this.#lastBytes, 0, at, at + n)
      this.#lastLen = n
      this.#lastStr = s
    }
    return s
  }

  str32(): string {
    const n = this.u32()
    this.#need(n)
    const s = this.buf.toString('utf8', this.pos, this.pos + n)
    this.pos += n
    return s
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

const reader = new Reader()

// The records a load has millions of are decoded into these scratch objects (no allocation per
// record): a decoded record is valid only until the next one is decoded (scanRecords' callback).
type QueueRec = Extract<Rec, {t: T.Queue}>
type InflightRec = Extract<Rec, {t: T.Inflight}>
type MsgRec = Extract<Rec, {t: T.Msg}>
const queueRec: QueueRec = {t: T.Queue, clientId: '', qid: 0, msgId: 0, qos: 0, retain: false, subscriptionIds: undefined, shared: undefined}
const inflightRec: InflightRec = {t: T.Inflight, clientId: '', packetId: 0, fromQid: 0, released: false, msgId: 0, qos: 0, retain: false, subscriptionIds: undefined, shared: undefined}
const msgRec: MsgRec = {t: T.Msg, msgId: 0, msg: undefined as unknown as Message}

/** Decodes one record body (CRC already checked); throws RangeError/SyntaxError on a malformed one. */
/** A store file written by a newer broker: never read (nor moved aside) by this one. */
export class NewerFormatError extends Error {}

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
      const h: {t: T.Session | T.SessionNew} & SessionHeader = {t, clientId: r.str16(), expiryInterval: r.u32(), disconnectedAt: r.f64(), willAt: r.f64(), pendingWill: undefined}
      if (r.u8() === 1) {
        const topic = r.str16()
        const payload = r.bytes()
        const qos = qosOf(r.u8())
        const retain = r.u8() === 1
        const properties = parseProps(r.str32())
        h.pendingWill = {topic, payload, qos, retain, properties, delay: r.u32()}
        if (properties === undefined) delete h.pendingWill.properties
      }
      rec = h
      break
    }
    case T.SessionDel:
      rec = {t, clientId: r.str16()}
      break
    case T.Sub: {
      const clientId = r.str16()
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
      rec = {t, clientId: r.str16(), filter: r.str16()}
      break
    case T.Msg: {
      const msgId = r.f64()
      const topic = r.str16()
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
      const clientId = r.str16()
      const qid = r.f64()
      const q = queueRec
      q.clientId = clientId
      q.qid = qid
      q.msgId = r.f64()
      const flags = r.u8()
      q.qos = qosOf(flags)
      q.retain = (flags & 4) !== 0
      q.subscriptionIds = readIds(r)
      q.shared = readShared(r)
      rec = q
      break
    }
    case T.Dequeue:
      rec = {t, clientId: r.str16(), qid: r.f64()}
      break
    case T.Inflight: {
      const clientId = r.str16()
      const packetId = r.u16()
      const fromQid = r.f64()
      const released = r.u8() === 1
      if (packetId === 0) throw new RangeError('packet id 0')
      const f = inflightRec
      f.clientId = clientId
      f.packetId = packetId
      f.fromQid = fromQid
      f.released = released
      f.msgId = r.f64()
      const flags = r.u8()
      f.qos = qosOf(flags)
      f.retain = (flags & 4) !== 0
      f.subscriptionIds = readIds(r)
      f.shared = readShared(r)
      rec = f
      break
    }
    case T.InflightDel:
    case T.Incoming:
    case T.IncomingDel:
      rec = {t, clientId: r.str16(), packetId: r.u16()}
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
