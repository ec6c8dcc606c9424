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
 *   Mqtt-Up: ["name","value"]  one header per user property (messages built from a property object)
 *   Mqtt-Raw: <base64>         the publisher's forwarded property bytes as it sent them (Message.raw),
 *                              instead of Pfi/Ct/Rt/Cd/Up: user properties keep their exact order,
 *                              repeated names interleaved with others included [MQTT-3.3.2-18]
 *   Mqtt-Node: <node id>       (where it came from)
 *
 * Strings are JSON-encoded because NATS trims header values and forbids CR/LF in them. Decoding
 * validates every header: a malformed one throws WireError (the caller drops the message and counts
 * it); a header given twice, a flag other than 0/1, a string or binary over 65,535 bytes, a property
 * other than the five forwarded ones in Mqtt-Raw: all malformed.
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
  raw: 'Mqtt-Raw',
} as const

/** Longest MQTT string or binary value (two-byte length). */
const MAX_FIELD = 65_535

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
  if (msg.raw !== undefined && msg.raw.length > 0) h.append(H.raw, msg.raw.toString('base64'))
  else if (p !== undefined) {
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
  if (Buffer.byteLength(v) > MAX_FIELD) throw new WireError(`${what} is longer than ${MAX_FIELD} bytes`)
  return v
}

function flag(value: string, what: string): boolean {
  if (value !== '0' && value !== '1') throw new WireError(`${what} ${JSON.stringify(value.slice(0, 40))} is not 0 or 1`)
  return value === '1'
}

function base64(value: string, what: string, maxBytes: number): Buffer {
  if (value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw new WireError(`${what} is not base64`)
  if ((value.length / 4) * 3 > maxBytes + 2) throw new WireError(`${what} is longer than ${maxBytes} bytes`)
  return Buffer.from(value, 'base64')
}

const utf8 = new TextDecoder('utf-8', {fatal: true})

/**
 * The ForwardedProperties of raw MQTT 5 property bytes, checked: only the five forwarded properties,
 * lengths inside the buffer, well-formed UTF-8 strings without U+0000, at most `maxUser` user properties.
 */
export function parseRawProperties(raw: Buffer, maxUser: number): ForwardedProperties {
  const p: ForwardedProperties = {}
  let users = 0
  let i = 0
  const str = (what: string): string => {
    if (i + 2 > raw.length) throw new WireError(`Mqtt-Raw: ${what} is cut short`)
    const n = raw.readUInt16BE(i)
    if (i + 2 + n > raw.length) throw new WireError(`Mqtt-Raw: ${what} is cut short`)
    let s: string
    try {
      s = utf8.decode(raw.subarray(i + 2, i + 2 + n))
    } catch {
      throw new WireError(`Mqtt-Raw: ${what} is not UTF-8`)
    }
    if (s.includes('\u0000')) throw new WireError(`Mqtt-Raw: ${what} contains U+0000`)
    i += 2 + n
    return s
  }
  while (i < raw.length) {
    const id = raw[i++]
    switch (id) {
      case 0x01:
        if (i >= raw.length || raw[i] > 1) throw new WireError('Mqtt-Raw: bad payload format indicator')
        p.payloadFormatIndicator = raw[i++] === 1
        break
      case 0x03:
        p.contentType = str('content type')
        break
      case 0x08:
        p.responseTopic = str('response topic')
        break
      case 0x09: {
        if (i + 2 > raw.length || i + 2 + raw.readUInt16BE(i) > raw.length) throw new WireError('Mqtt-Raw: correlation data is cut short')
        const n = raw.readUInt16BE(i)
        p.correlationData = Buffer.from(raw.subarray(i + 2, i + 2 + n))
        i += 2 + n
        break
      }
      case 0x26: {
        if (++users > maxUser) throw new WireError(`more than ${maxUser} user properties`)
        const name = str('user property name')
        addUserProperty((p.userProperties ??= {}), name, str('user property value'))
        break
      }
      default:
        throw new WireError(`Mqtt-Raw: property 0x${id.toString(16)} is not one that is forwarded`)
    }
  }
  return p
}

function addUserProperty(up: Record<string, string | string[]>, name: string, value: string): void {
  const had = Object.hasOwn(up, name) ? up[name] : undefined
  // defineProperty: a property named "__proto__" is data, not the object's prototype.
  if (had === undefined) Object.defineProperty(up, name, {value, enumerable: true, writable: true, configurable: true})
  else if (Array.isArray(had)) had.push(value)
  else up[name] = [had, value]
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
    if (values.length !== 1 && key !== H.userProperty && key.startsWith('Mqtt-')) throw new WireError(`${key} given ${values.length} times`)
    switch (key) {
      case H.qos: {
        const q = intHeader(values[0], 'Mqtt-Qos', 2)
        msg.qos = q as 0 | 1 | 2
        break
      }
      case H.retain:
        msg.retain = flag(values[0], 'Mqtt-Retain')
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
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(values[0])) throw new WireError('Mqtt-Node is not a node id')
        node = values[0]
        break
      case H.raw: {
        const raw = base64(values[0], 'Mqtt-Raw', 4 * 1024 * 1024)
        props = {...props, ...parseRawProperties(raw, limits.maxUserProperties)}
        if (raw.length > 0) msg.raw = raw
        break
      }
      case H.pfi:
        ;(props ??= {}).payloadFormatIndicator = flag(values[0], 'Mqtt-Pfi')
        break
      case H.contentType:
        ;(props ??= {}).contentType = jsonString(values[0], 'Mqtt-Ct')
        break
      case H.responseTopic:
        ;(props ??= {}).responseTopic = jsonString(values[0], 'Mqtt-Rt')
        break
      case H.correlationData:
        ;(props ??= {}).correlationData = base64(values[0], 'Mqtt-Cd', MAX_FIELD)
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
          if (Buffer.byteLength(pair[0]) > MAX_FIELD || Buffer.byteLength(pair[1]) > MAX_FIELD) throw new WireError(`Mqtt-Up: a name or value is longer than ${MAX_FIELD} bytes`)
          addUserProperty(up, pair[0] as string, pair[1] as string)
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
