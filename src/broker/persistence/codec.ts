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
 *
 * Writing: encode.ts (RecordWriter and one encoder per record type); reading: decode.ts.
 */
import type {Message} from '../message.js'
import type {SubOptions} from '../topics/types.js'
import type {WillRecord} from './store.js'

/**
 * 2: message records carry the publisher's raw MQTT 5 property bytes; 3: retained records too;
 * 4: session records carry the will of the session's live connection. Older files still load.
 */
export const FORMAT_VERSION = 4
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
  /** Written only while the session is connected (disconnectedAt 0). */
  connectionWill?: WillRecord
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
export function propsJson(props: object | undefined): string {
  if (props === undefined) return ''
  return JSON.stringify(props, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = key === '' ? value : this[key]
    return Buffer.isBuffer(raw) ? {$b: raw.toString('base64')} : value
  })
}

export function parseProps(text: string): Record<string, unknown> | undefined {
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

/** The per-delivery fields of a queued or in-flight record (a Delivery has them). */
export interface DeliveryFields {
  qos: 0 | 1 | 2
  retain: boolean
  subscriptionIds?: number[]
  shared?: string
}

/** A store file written by a newer broker: never read (nor moved aside) by this one. */
export class NewerFormatError extends Error {}
