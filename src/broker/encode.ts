/**
 * PUBLISH encoding for fan-out: one encoding per wire variant (protocol, QoS, retain, subscription
 * ids, remaining expiry) cached on the Message; QoS > 0 copies patch the packet id and DUP bit rather
 * than encoding again. Every PUBLISH is written by hand: without properties in one buffer (the hot
 * path), with MQTT 5 properties through protocol/publish-encode.ts (the publisher's properties as the
 * raw bytes it sent). A large payload is never copied per subscriber (SHARE_PAYLOAD_BYTES).
 */
import type {Packet} from 'mqtt-packet'
import type {EncodedVariant, Message} from './message.js'
import {mqttPacket} from './mqtt-packet.js'
import {type HeadProperties, publishHead, rawProperties, varintSize, writePublishStart} from './protocol/publish-encode.js'

const MAX_VARIANTS = 8

/** PUBLISH with no properties (3.1.1, or MQTT 5 with an empty property block), in one buffer. */
export function encodePlainPublish(topic: string, payload: Buffer, qos: number, retain: boolean, v5: boolean): EncodedVariant {
  const topicLen = Buffer.byteLength(topic)
  const remaining = 2 + topicLen + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.length
  const fixed = 1 + varintSize(remaining)
  const buf = Buffer.allocUnsafe(fixed + remaining)
  let off = writePublishStart(buf, topic, topicLen, qos, retain, remaining)
  if (v5) buf[off++] = 0 // property length 0
  payload.copy(buf, off)
  return {slot: -1, key: '', buf, tail: undefined, idOffset: fixed + 2 + topicLen}
}

/**
 * Payloads of at least this many bytes are not copied into an encoding: the encoding is the head
 * alone and the payload (one Buffer for every subscriber) is written after it (`tail`), so a 8 MB
 * message to 20 subscribers holds 8 MB, not 160 MB.
 */
export const SHARE_PAYLOAD_BYTES = 16 * 1024

/** What a writer needs of an encoding: the bytes, and the shared payload after them if any. */
export type EncodedVariantLike = Pick<EncodedVariant, 'buf' | 'tail' | 'idOffset'>

/** A PUBLISH with its head and payload, for the paths that do not cache (topic aliases). */
export function encodePublish(msg: Message, topic: string, qos: number, retain: boolean, v5: boolean, props: HeadProperties | undefined): EncodedVariant {
  const payload = msg.payload
  const shared = payload.length >= SHARE_PAYLOAD_BYTES
  const {head, idOffset} = publishHead(topic, payload.length, qos, retain, v5, props, shared ? undefined : payload)
  return {slot: -1, key: '', buf: head, tail: shared ? payload : undefined, idOffset}
}

/**
 * The MQTT 5 properties of a forwarded copy: remaining expiry [MQTT-3.3.2-6], subscription ids, and
 * the publisher's own as the raw bytes it sent (received order kept [MQTT-3.3.2-18]); undefined when
 * there are none.
 */
export function headProperties(msg: Message, subscriptionIds: readonly number[] | undefined, now: number): HeadProperties | undefined {
  if (msg.raw === undefined && msg.properties !== undefined) msg.raw = rawProperties(msg.properties) ?? EMPTY_RAW
  const raw = msg.raw === EMPTY_RAW ? undefined : msg.raw
  const ids = subscriptionIds !== undefined && subscriptionIds.length > 0 ? subscriptionIds : undefined
  if (raw === undefined && msg.expiresAt === 0 && ids === undefined) return undefined
  return {raw, expiry: msg.expiresAt !== 0 ? Math.max(1, Math.ceil((msg.expiresAt - now) / 1000)) : 0, subscriptionIds: ids}
}

const EMPTY_RAW = Buffer.alloc(0)

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
  const props = v5 ? headProperties(msg, subscriptionIds, now) : undefined
  if (props === undefined && msg.payload.length < SHARE_PAYLOAD_BYTES) return encodePlainPublish(msg.topic, msg.payload, qos, retain, v5)
  return encodePublish(msg, msg.topic, qos, retain, v5, props)
}

/** Adds a variant to the message's cache; bounded, since subscribers with distinct subscription ids would otherwise make it O(n). */
function remember(msg: Message, variant: EncodedVariant, cached: number): EncodedVariant {
  if (cached >= MAX_VARIANTS) return variant
  variant.next = msg.enc
  msg.enc = variant
  return variant
}

/**
 * The head for one subscriber: shared for QoS 0, a patched copy (packet id, DUP) for QoS 1/2 — of
 * the head only when the payload is a shared tail.
 */
export function withPacketId(variant: EncodedVariant, packetId: number, dup: boolean): Buffer {
  const buf = Buffer.allocUnsafe(variant.buf.length)
  variant.buf.copy(buf)
  buf.writeUInt16BE(packetId, variant.idOffset)
  if (dup) buf[0] |= 0x08
  return buf
}

/** Any other packet (acks, CONNACK, SUBACK, DISCONNECT...): mqtt-packet's generate(), without its number cache (./mqtt-packet.ts). */
export function encodePacket(packet: Packet, protocolVersion: number): Buffer {
  return mqttPacket.generate(packet, {protocolVersion})
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
