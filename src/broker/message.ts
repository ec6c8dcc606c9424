/**
 * The two message shapes of the runtime. A Message is one PUBLISH as the broker received it, shared
 * by every subscriber; a Delivery is one subscriber's copy of it (its QoS, packet id, QoS 2 state).
 * Encodings are cached on the Message per wire variant so a fan-out encodes once (./encode.ts).
 */

/** MQTT 5 PUBLISH properties the broker forwards unchanged [MQTT-3.3.2-4..20]. */
export interface ForwardedProperties {
  payloadFormatIndicator?: boolean
  contentType?: string
  responseTopic?: string
  correlationData?: Buffer
  userProperties?: Record<string, string | string[]>
}

export interface Message {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  properties?: ForwardedProperties
  /** Date.now() after which the message is dropped (MQTT 5 message expiry); 0 = never. */
  expiresAt: number
  /** Publishing client id (no-local), undefined for the broker itself. */
  from?: string
  /** Encoding cache, see encode.ts. */
  enc?: EncodedVariant
  /**
   * The publisher's forwarded MQTT 5 properties as the raw property bytes it sent, in its order (user
   * properties included [MQTT-3.3.2-18]); for a message built from `properties` (wills, retained), made
   * from them on first encoding. An empty Buffer: none.
   */
  raw?: Buffer
  /** Set once payload (and correlation data) are the broker's own copies, see ownMessage(). */
  owned?: true
}

export interface EncodedVariant {
  /** Plain variants (no subscription ids, no expiry): v5 x QoS x retain as 0..11, else -1. */
  slot: number
  /** Variants with subscription ids or a remaining expiry: their key, else ''. */
  key: string
  /** The whole packet, or its head when `tail` is set. */
  buf: Buffer
  /** The payload, shared by every copy, written after buf (large payloads); undefined when buf has it. */
  tail: Buffer | undefined
  /** Offset of the packet identifier in buf (QoS > 0). */
  idOffset: number
  next?: EncodedVariant
}

export interface Delivery {
  msg: Message
  qos: 0 | 1 | 2
  retain: boolean
  subscriptionIds?: number[]
  /** 0 until the delivery is in flight. */
  packetId: number
  /** QoS 2: PUBREC received, PUBREL sent; only PUBCOMP is missing. */
  released: boolean
  /** Set once the PUBLISH was written; a resend carries DUP. */
  sent: boolean
  /** "$share/group/filter" the delivery was chosen for; re-routed when the member leaves. */
  shared?: string
  /** The durable store's id of this delivery while it is queued in a persistent session (persistence/durable.ts). */
  storeQid?: number
}

export function messageBytes(d: Delivery): number {
  return d.msg.payload.length + d.msg.topic.length + 16
}

/**
 * `buf` as a buffer of its own: received payloads are views into the socket's read chunk (up to 64 KB),
 * so keeping a 10-byte view would keep the whole chunk alive. Exact-size, outside Node's shared pool.
 */
export function ownCopy(buf: Buffer): Buffer {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) return buf
  const copy = Buffer.allocUnsafeSlow(buf.length)
  buf.copy(copy)
  return copy
}

/**
 * Makes a message that outlives the read (queued, in flight, retained) hold only its own bytes. Once
 * per message, not per subscriber; the live QoS 0 path never calls it.
 */
export function ownMessage(msg: Message): void {
  if (msg.owned) return
  msg.owned = true
  msg.payload = ownCopy(msg.payload)
  // Encodings made before share the payload as their tail: they follow it, so the old bytes can go.
  for (let v = msg.enc; v !== undefined; v = v.next) if (v.tail !== undefined) v.tail = msg.payload
  const cd = msg.properties?.correlationData
  if (cd !== undefined) msg.properties = {...msg.properties, correlationData: ownCopy(cd)}
}
