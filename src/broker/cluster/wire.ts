/**
 * A broker Message as a NATS message and back. The payload is the MQTT payload unchanged; the rest
 * travels in NATS headers, only when it differs from the default (a QoS 0 message without
 * properties has no headers at all):
 *
 *   Mqtt-Qos: 1 | 2            Mqtt-Retain: 1            Mqtt-From: <publisher client id, JSON> (only when asked)
 *   Mqtt-Expiry: <ms left>     (MQTT 5 message expiry: the time left when it leaves this node, so
 *                               the receiver counts the time spent here and no clocks are compared)
 *   Mqtt-Expires-At: <epoch ms> (stored messages only: retained, queued; compared to the receiver's clock)
 *   Mqtt-Pfi: 1                Mqtt-Ct / Mqtt-Rt: <content type / response topic, JSON>
 *   Mqtt-Cd: <correlation data, base64>
 *   Mqtt-Up: ["name","value"]  one header per user property, in the order of the PUBLISH
 *   Mqtt-Node: <node id>       (where it came from)
 *
 * Strings are JSON-encoded because NATS trims header values and forbids CR/LF in them. Decoding
 * validates every header: a malformed one drops the message (the caller counts it).
 */
import {type MsgHdrs, headers as natsHeaders} from 'nats'
import type {ForwardedProperties, Message} from '../message.js'

export const H = {
  qos: 'Mqtt-Qos',
  retain: 'Mqtt-Retain',
  from: 'Mqtt-From',
  expiry: 'Mqtt-Expiry',
  expiresAt: 'Mqtt-Expires-At',
  pfi: 'Mqtt-Pfi',
  contentType: 'Mqtt-Ct',
  responseTopic: 'Mqtt-Rt',
  correlationData: 'Mqtt-Cd',
  userProperty: 'Mqtt-Up',
  node: 'Mqtt-Node',
} as const

export interface EncodeOptions {
  /** Write the absolute expiry (stored messages) instead of the time left. */
  absoluteExpiry?: boolean
  node?: string
  /**
   * Write the publisher's client id. Live messages leave it out: no-local [MQTT-3.8.3-3] only
   * concerns the publisher's own subscriptions, which live on the node it is connected to (a client
   * id is connected on one node at a time, its session moves with it), where local delivery already
   * applied it. Leaving it out lets a plain QoS 0 message travel with no headers at all.
   */
  withFrom?: boolean
}

/** Headers for `msg`, or undefined when it needs none. `now` = the clock's now(). */
export function encodeHeaders(msg: Message, now: number, options: EncodeOptions = {}): MsgHdrs | undefined {
  const p = msg.properties
  if (msg.qos === 0 && !msg.retain && p === undefined && msg.expiresAt === 0 && (msg.from === undefined || !options.withFrom) && options.node === undefined) {
    return undefined
  }
  const h = natsHeaders()
  if (msg.qos !== 0) h.append(H.qos, String(msg.qos))
  if (msg.retain) h.append(H.retain, '1')
  if (msg.from !== undefined && options.withFrom) h.append(H.from, JSON.stringify(msg.from))
  if (msg.expiresAt !== 0) {
    if (options.absoluteExpiry) h.append(H.expiresAt, String(msg.expiresAt))
    else h.append(H.expiry, String(Math.max(0, msg.expiresAt - now)))
  }
  if (options.node !== undefined) h.append(H.node, options.node)
  if (p !== undefined) {
    if (p.payloadFormatIndicator) h.append(H.pfi, '1')
    if (p.contentType !== undefined) h.append(H.contentType, JSON.stringify(p.contentType))
    if (p.responseTopic !== undefined) h.append(H.responseTopic, JSON.stringify(p.responseTopic))
    if (p.correlationData !== undefined) h.append(H.correlationData, Buffer.from(p.correlationData).toString('base64'))
    if (p.userProperties !== undefined) {
      for (const [name, value] of Object.entries(p.userProperties)) {
        if (Array.isArray(value)) for (const v of value) h.append(H.userProperty, JSON.stringify([name, v]))
        else h.append(H.userProperty, JSON.stringify([name, value]))
      }
    }
  }
  return h
}

export class WireError extends Error {}

function jsonString(value: string, what: string): string {
  let v: unknown
  try {
    v = JSON.parse(value)
  } catch {
    throw new WireError(`${what} is not a JSON string`)
  }
  if (typeof v !== 'string') throw new WireError(`${what} is not a JSON string`)
  return v
}

function intHeader(value: string, what: string, max: number): number {
  if (!/^\d{1,16}$/.test(value)) throw new WireError(`${what} ${JSON.stringify(value.slice(0, 40))} is not an integer`)
  const n = Number(value)
  if (n > max) throw new WireError(`${what} ${n} is larger than ${max}`)
  return n
}

/** Limits on what a peer may send (a peer is a broker node, but bytes from the network are checked). */
export interface DecodeLimits {
  maxUserProperties: number
}

/**
 * The Message of a NATS message on `topic`. `payload` is used as is (the caller copies it when it
 * keeps it). Throws WireError on a malformed header.
 */
export function decodeMessage(topic: string, payload: Uint8Array, h: MsgHdrs | undefined, now: number, limits: DecodeLimits = {maxUserProperties: 1024}): {msg: Message; node?: string} {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  const msg: Message = {topic, payload: buf, qos: 0, retain: false, expiresAt: 0}
  if (h === undefined) return {msg}
  let node: string | undefined
  let props: ForwardedProperties | undefined
  for (const [key, values] of h) {
    switch (key) {
      case H.qos: {
        const q = intHeader(values[0], 'Mqtt-Qos', 2)
        msg.qos = q as 0 | 1 | 2
        break
      }
      case H.retain:
        msg.retain = values[0] === '1'
        break
      case H.from:
        msg.from = jsonString(values[0], 'Mqtt-From')
        break
      case H.expiry:
        msg.expiresAt = now + intHeader(values[0], 'Mqtt-Expiry', 4_294_967_295_000)
        break
      case H.expiresAt:
        msg.expiresAt = intHeader(values[0], 'Mqtt-Expires-At', 8.64e15)
        break
      case H.node:
        node = values[0]
        break
      case H.pfi:
        ;(props ??= {}).payloadFormatIndicator = values[0] === '1'
        break
      case H.contentType:
        ;(props ??= {}).contentType = jsonString(values[0], 'Mqtt-Ct')
        break
      case H.responseTopic:
        ;(props ??= {}).responseTopic = jsonString(values[0], 'Mqtt-Rt')
        break
      case H.correlationData:
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(values[0])) throw new WireError('Mqtt-Cd is not base64')
        ;(props ??= {}).correlationData = Buffer.from(values[0], 'base64')
        break
      case H.userProperty: {
        if (values.length > limits.maxUserProperties) throw new WireError(`more than ${limits.maxUserProperties} user properties`)
        const up: Record<string, string | string[]> = ((props ??= {}).userProperties = {})
        for (const v of values) {
          let pair: unknown
          try {
            pair = JSON.parse(v)
          } catch {
            throw new WireError('Mqtt-Up is not JSON')
          }
          if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
            throw new WireError('Mqtt-Up is not a ["name","value"] pair')
          }
          const [name, value] = pair as [string, string]
          const had = Object.hasOwn(up, name) ? up[name] : undefined
          // defineProperty: a property named "__proto__" is data, not the object's prototype.
          if (had === undefined) Object.defineProperty(up, name, {value, enumerable: true, writable: true, configurable: true})
          else if (Array.isArray(had)) had.push(value)
          else up[name] = [had, value]
        }
        break
      }
      default:
        break // unknown headers (a newer peer) are ignored
    }
  }
  if (props !== undefined) msg.properties = props
  return {msg, node}
}
