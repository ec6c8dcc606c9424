/**
 * PUBLISH encoding for fan-out: one encoding per wire variant (protocol, QoS, retain, subscription
 * ids, remaining expiry) cached on the Message; QoS > 0 copies patch the packet id and DUP bit rather
 * than encoding again. Packets without properties are written by hand (the hot path); packets with
 * MQTT 5 properties go through mqtt-packet's generate once per variant.
 */
import mqtt from 'mqtt-packet'
import type {EncodedVariant, Message} from './message.js'

const MAX_VARIANTS = 8

function varintSize(n: number): number {
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

/** PUBLISH with no properties (3.1.1, or MQTT 5 with an empty property block). */
export function encodePlainPublish(topic: string, payload: Buffer, qos: number, retain: boolean, v5: boolean): EncodedVariant {
  const topicLen = Buffer.byteLength(topic)
  const remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.length
  const header = 1 + varintSize(remaining)
  const buf = Buffer.allocUnsafe(header + remaining)
  buf[0] = 0x30 | (qos << 1) | (retain ? 1 : 0)
  let off = writeVarint(buf, 1, remaining)
  buf.writeUInt16BE(topicLen, off)
  off += 2
  off += buf.write(topic, off, 'utf8')
  const idOffset = off
  if (qos > 0) {
    buf.writeUInt16BE(0, off)
    off += 2
  }
  if (v5) buf[off++] = 0
  payload.copy(buf, off)
  return {slot: -1, key: '', buf, idOffset}
}

/** PUBLISH with MQTT 5 properties, through mqtt-packet. */
export function encodeV5Publish(
  topic: string,
  payload: Buffer,
  qos: number,
  retain: boolean,
  properties: Record<string, unknown>,
): EncodedVariant {
  const buf = mqtt.generate(
    {cmd: 'publish', topic, payload, qos: qos as 0, retain, dup: false, messageId: qos > 0 ? 1 : undefined, properties} as mqtt.IPublishPacket,
    {protocolVersion: 5},
  )
  let header = 1
  while (buf[header] & 0x80) header++
  header++
  return {slot: -1, key: '', buf, idOffset: header + 2 + Buffer.byteLength(topic)}
}

/** The MQTT 5 properties of a forwarded copy: the publisher's, plus remaining expiry and subscription ids. */
export function outboundProperties(msg: Message, subscriptionIds: number[] | undefined, now: number): Record<string, unknown> | undefined {
  if (msg.properties === undefined && msg.expiresAt === 0 && (subscriptionIds === undefined || subscriptionIds.length === 0)) return undefined
  const props: Record<string, unknown> = {...msg.properties}
  // [MQTT-3.3.2-6] the forwarded expiry is the received value minus the time spent in the broker.
  if (msg.expiresAt !== 0) props.messageExpiryInterval = Math.max(1, Math.ceil((msg.expiresAt - now) / 1000))
  if (subscriptionIds !== undefined && subscriptionIds.length > 0) {
    props.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0] : subscriptionIds
  }
  return props
}

/**
 * The cached encoding of `msg` for one variant, encoding it on first use. The common variants (no
 * subscription ids, no expiry) are found by a small integer slot (protocol x QoS x retain), with no
 * key built per delivery; only variants carrying subscription ids or a remaining expiry use a string key.
 */
export function variantFor(msg: Message, qos: number, retain: boolean, v5: boolean, subscriptionIds: number[] | undefined, now: number): EncodedVariant {
  const withIds = v5 && subscriptionIds !== undefined && subscriptionIds.length > 0
  if (!withIds && (!v5 || msg.expiresAt === 0)) {
    const slot = (v5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0)
    let cached = 0
    for (let v = msg.enc; v !== undefined; v = v.next, cached++) if (v.slot === slot) return v
    const variant = encodeVariant(msg, qos, retain, v5, undefined, now)
    variant.slot = slot
    return remember(msg, variant, cached)
  }
  const ids = withIds ? subscriptionIds.join(',') : ''
  const exp = v5 && msg.expiresAt !== 0 ? Math.ceil((msg.expiresAt - now) / 1000) : 0
  const key = `${v5 ? 5 : 4}${qos}${retain ? 1 : 0}:${ids}:${exp}`
  let cached = 0
  for (let v = msg.enc; v !== undefined; v = v.next, cached++) if (v.key === key) return v
  const variant = encodeVariant(msg, qos, retain, v5, subscriptionIds, now)
  variant.key = key
  return remember(msg, variant, cached)
}

function encodeVariant(msg: Message, qos: number, retain: boolean, v5: boolean, subscriptionIds: number[] | undefined, now: number): EncodedVariant {
  const props = v5 ? outboundProperties(msg, subscriptionIds, now) : undefined
  return props === undefined ? encodePlainPublish(msg.topic, msg.payload, qos, retain, v5) : encodeV5Publish(msg.topic, msg.payload, qos, retain, props)
}

/** Adds a variant to the message's cache; bounded, since subscribers with distinct subscription ids would otherwise make it O(n). */
function remember(msg: Message, variant: EncodedVariant, cached: number): EncodedVariant {
  if (cached >= MAX_VARIANTS) return variant
  variant.next = msg.enc
  msg.enc = variant
  return variant
}

/** The bytes for one subscriber: shared for QoS 0, a patched copy (packet id, DUP) for QoS 1/2. */
export function withPacketId(variant: EncodedVariant, packetId: number, dup: boolean): Buffer {
  const buf = Buffer.allocUnsafe(variant.buf.length)
  variant.buf.copy(buf)
  buf.writeUInt16BE(packetId, variant.idOffset)
  if (dup) buf[0] |= 0x08
  return buf
}

/** Any other packet (acks, CONNACK, SUBACK, DISCONNECT...). */
export function encodePacket(packet: mqtt.Packet, protocolVersion: number): Buffer {
  return mqtt.generate(packet, {protocolVersion})
}

export const ACK = {puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70} as const

/** PUBACK/PUBREC/PUBREL/PUBCOMP with reason 0 and no properties: 4 bytes in every version. */
export function encodeAck(firstByte: number, packetId: number): Buffer {
  const buf = Buffer.allocUnsafe(4)
  buf[0] = firstByte
  buf[1] = 2
  buf.writeUInt16BE(packetId, 2)
  return buf
}
