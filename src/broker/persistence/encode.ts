/**
 * Encoding store records (format in codec.ts): RecordWriter appends records in place to one growing
 * buffer, and one function per record type writes its fields.
 */
import type {Message} from '../message.js'
import type {SubOptions} from '../topics/types.js'
import {type DeliveryFields, FORMAT_VERSION, HEADER_BYTES, MAGIC, propsJson, type SessionHeader, T} from './codec.js'
import {crc32Range} from './crc32.js'
import type {WillRecord} from './store.js'

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
  writeWill(w, h.pendingWill)
  // A connection's will means nothing once the session is disconnected (its will went out or is pending).
  writeWill(w, h.disconnectedAt === 0 ? h.connectionWill : undefined)
  w.end()
}

function writeWill(w: RecordWriter, will: WillRecord | undefined): void {
  if (will === undefined) w.u8(0)
  else w.u8(1).str16(will.topic).bytes(will.payload).u8(will.qos).u8(will.retain ? 1 : 0).str32(propsJson(will.properties)).u32(will.delay)
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
