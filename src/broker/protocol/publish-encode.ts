/**
 * Outbound PUBLISH bytes by hand, for every version: the head (fixed header, topic, packet id slot,
 * MQTT 5 properties) is built here and the payload is written after it, so a large payload can go to
 * every subscriber as the same Buffer (only the head, with its packet id, differs per subscriber).
 * MQTT 5 properties: the broker's own per-copy ones (message expiry left, topic alias, subscription
 * identifiers) first, then the publisher's forwarded properties as the raw bytes it sent, in its
 * order (user properties included [MQTT-3.3.2-18]).
 */
import type {ForwardedProperties} from '../message.js'

export interface PublishHead {
  head: Buffer
  /** Offset of the packet id in head (QoS > 0). */
  idOffset: number
}

export interface HeadProperties {
  /** Forwarded properties as raw property bytes (no length prefix). */
  raw?: Buffer
  /** Message expiry interval to send, seconds; 0 = none. */
  expiry?: number
  alias?: number
  subscriptionIds?: readonly number[]
}

export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4
}

function writeVarint(buf: Buffer, offset: number, n: number): number {
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    buf[offset++] = byte
  } while (n > 0)
  return offset
}

/**
 * Writes a PUBLISH's fixed header, topic and (QoS > 0) a zero packet id slot at the start of `buf`
 * (`remaining`: the packet's remaining length, `topicLen`: the topic's UTF-8 bytes); returns the
 * offset just after them. The one writer of PUBLISH heads (encode.ts's plain encoder uses it too).
 */
export function writePublishStart(buf: Buffer, topic: string, topicLen: number, qos: number, retain: boolean, remaining: number): number {
  buf[0] = 0x30 | (qos << 1) | (retain ? 1 : 0)
  let off = writeVarint(buf, 1, remaining)
  buf.writeUInt16BE(topicLen, off)
  off += 2
  off += buf.write(topic, off, 'utf8')
  if (qos > 0) {
    buf.writeUInt16BE(0, off)
    off += 2
  }
  return off
}

/**
 * The head of a PUBLISH whose payload (payloadLength bytes) follows it; with `payload`, the whole
 * packet in one buffer (the payload copied in after the head).
 */
export function publishHead(topic: string, payloadLength: number, qos: number, retain: boolean, v5: boolean, p?: HeadProperties, payload?: Buffer): PublishHead {
  const topicLen = Buffer.byteLength(topic)
  let props = 0
  if (v5 && p !== undefined) {
    if (p.expiry !== undefined && p.expiry > 0) props += 5
    if (p.alias !== undefined && p.alias > 0) props += 3
    if (p.subscriptionIds !== undefined) for (const id of p.subscriptionIds) props += 1 + varintSize(id)
    if (p.raw !== undefined) props += p.raw.length
  }
  const remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + (v5 ? varintSize(props) + props : 0) + payloadLength
  const headLen = 1 + varintSize(remaining) + remaining - payloadLength
  const head = Buffer.allocUnsafe(payload === undefined ? headLen : headLen + payload.length)
  let off = writePublishStart(head, topic, topicLen, qos, retain, remaining)
  const idOffset = qos > 0 ? off - 2 : off
  if (v5) {
    off = writeVarint(head, off, props)
    if (p !== undefined && props > 0) {
      if (p.expiry !== undefined && p.expiry > 0) {
        head[off++] = 0x02
        head.writeUInt32BE(p.expiry, off)
        off += 4
      }
      if (p.alias !== undefined && p.alias > 0) {
        head[off++] = 0x23
        head.writeUInt16BE(p.alias, off)
        off += 2
      }
      if (p.subscriptionIds !== undefined) {
        for (const id of p.subscriptionIds) {
          head[off++] = 0x0b
          off = writeVarint(head, off, id)
        }
      }
      if (p.raw !== undefined) off += p.raw.copy(head, off)
    }
  }
  if (payload !== undefined) payload.copy(head, off)
  return {head, idOffset}
}

/**
 * Raw property bytes for forwarded properties held as an object (wills, retained messages from a
 * store, the broker's own): the same bytes a client would have sent. User properties given as an
 * object keep the object's order (the received order is only kept when the raw bytes are).
 */
export function rawProperties(p: ForwardedProperties | Record<string, unknown>): Buffer | undefined {
  const parts: Buffer[] = []
  const fp = p as ForwardedProperties
  if (fp.payloadFormatIndicator !== undefined) parts.push(Buffer.from([0x01, fp.payloadFormatIndicator ? 1 : 0]))
  if (typeof fp.contentType === 'string') parts.push(property(0x03, Buffer.from(fp.contentType, 'utf8')))
  if (typeof fp.responseTopic === 'string') parts.push(property(0x08, Buffer.from(fp.responseTopic, 'utf8')))
  if (Buffer.isBuffer(fp.correlationData)) parts.push(property(0x09, fp.correlationData))
  if (fp.userProperties !== undefined && fp.userProperties !== null && typeof fp.userProperties === 'object') {
    for (const [k, v] of Object.entries(fp.userProperties)) {
      const kb = Buffer.from(k, 'utf8')
      for (const value of Array.isArray(v) ? v : [v]) parts.push(property(0x26, kb, Buffer.from(String(value), 'utf8')))
    }
  }
  return parts.length === 0 ? undefined : Buffer.concat(parts)
}

/** One property: its id, then each value as a two-byte length and its bytes (string, binary, pair). */
function property(id: number, ...values: Buffer[]): Buffer {
  let size = 1
  for (const v of values) size += 2 + v.length
  const out = Buffer.allocUnsafe(size)
  out[0] = id
  let off = 1
  for (const v of values) {
    out.writeUInt16BE(v.length, off)
    off += 2 + v.copy(out, off + 2)
  }
  return out
}
