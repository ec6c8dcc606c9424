/**
 * Validation of every client frame that mqtt-packet decodes, on the frame's own bytes, before the
 * broker acts on the packet. mqtt-packet trusts its input more than a server may:
 *  - a string or binary property whose length runs past the end comes out as `null`, no error;
 *  - a packet id cut short comes out as -1, a byte cut short as `undefined` (true for a flag);
 *  - a property given twice becomes an array (a doubled session expiry, receive maximum, topic
 *    alias or message expiry passes every later check) [MQTT-2.2.2-2];
 *  - a property section may run past its declared length, or end short of it; trailing bytes after
 *    a CONNECT, an ack or a DISCONNECT are ignored.
 * So this module walks the frame once more with bounds on every read (reader.ts, properties.ts) and
 * answers the first violation as the MQTT 5 reason code it calls for (0x81 malformed, 0x82 protocol
 * error, 0x94 topic alias invalid); the connection maps it to the client's version and closes that
 * one connection. Frames taking the decoder's hand-written fast path (PUBLISH without properties,
 * 4-byte acks, PINGREQ) are checked there and never reach this module.
 */
import {KIND, publishProperties, walkProperties} from './properties.js'
import {headerLength, malformed, protocol, Reader, type Violation} from './reader.js'

export type {Violation} from './reader.js'
export {forwardedPublishProperties} from './properties.js'

const ACK_NAMES = ['PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP']

/**
 * Validates one complete frame (fixed header included) that mqtt-packet decoded without error.
 * `version` is the connection's protocol level (3, 4, 5), or 0 before CONNECT (the CONNECT's own
 * level byte then decides). Returns the first violation, or undefined when the frame is sound.
 */
export function validateFrame(frame: Buffer, version: number): Violation | undefined {
  if (frame.length < 2) return malformed('packet too short')
  const first = frame[0]
  const type = first >> 4
  const r = new Reader(frame, headerLength(frame), frame.length)
  const v5 = version === 5
  switch (type) {
    case 1:
      return connect(r)
    case 3:
      return publish(r, first, v5)
    case 4:
    case 5:
    case 6:
    case 7: {
      const what = ACK_NAMES[type - 4]
      // 3.1.1: remaining length 2, the packet id alone.
      return packetId(r, what) ?? (v5 ? reasonAndProperties(r, KIND.Ack, what) : noMore(r, what))
    }
    case 8:
      return packetId(r, 'SUBSCRIBE') ?? properties(r, v5, KIND.Subscribe, 'SUBSCRIBE') ?? subscriptions(r, v5)
    case 10:
      return packetId(r, 'UNSUBSCRIBE') ?? properties(r, v5, KIND.Unsubscribe, 'UNSUBSCRIBE') ?? topicFilters(r)
    case 12:
      return noMore(r, 'PINGREQ')
    case 14:
      return v5 ? reasonAndProperties(r, KIND.Disconnect, 'DISCONNECT') : noMore(r, 'DISCONNECT')
    case 15:
      return v5 ? reasonAndProperties(r, KIND.Auth, 'AUTH') : malformed('AUTH before MQTT 5')
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP: server-to-client types, refused by the dispatcher.
      return undefined
  }
}

/** A non-zero packet identifier [MQTT-2.2.1-3]. */
function packetId(r: Reader, what: string): Violation | undefined {
  const id = r.u16(`${what} packet identifier`)
  if (id < 0) return r.malformed
  if (id === 0) return malformed(`${what} packet identifier 0`)
  return undefined
}

/** An MQTT 5 property section (nothing to check before MQTT 5). */
function properties(r: Reader, v5: boolean, kind: number, what: string): Violation | undefined {
  return v5 ? walkProperties(r, kind, what) : undefined
}

function noMore(r: Reader, what: string): Violation | undefined {
  return r.left === 0 ? undefined : malformed(`${what} with ${r.left} bytes after its last field`)
}

/** MQTT 5 acks, DISCONNECT and AUTH: an optional reason code, then optional properties, then nothing. */
function reasonAndProperties(r: Reader, kind: number, what: string): Violation | undefined {
  if (r.left === 0) return undefined // reason 0x00, no properties
  r.byte('reason code')
  if (r.left === 0) return undefined
  return walkProperties(r, kind, what) ?? noMore(r, what)
}

function connect(r: Reader): Violation | undefined {
  if (!r.string('protocol name')) return r.malformed
  const level = r.byte('protocol level')
  const flags = r.byte('connect flags')
  r.u16('keep alive')
  if (r.bad !== undefined) return r.malformed
  // Protocol name/level mismatches are the CONNECT handler's (a CONNACK 0x84 / return code 1).
  const v5 = level === 5
  if (flags & 1) return malformed('CONNECT reserved flag set') // [MQTT-3.1.2-3]
  const will = (flags & 0x04) !== 0
  const willQos = (flags >> 3) & 3
  if (willQos === 3) return malformed('will QoS 3') // [MQTT-3.1.2-14]
  if (!will && (willQos !== 0 || flags & 0x20)) return malformed('will QoS or retain without a will') // [MQTT-3.1.2-13] [MQTT-3.1.2-15]
  const bad = properties(r, v5, KIND.Connect, 'CONNECT')
  if (bad !== undefined) return bad
  if (!r.string('client identifier')) return r.malformed
  if (will) {
    const willBad = properties(r, v5, KIND.Will, 'will')
    if (willBad !== undefined) return willBad
    if (!r.string('will topic') || r.binary('will payload') < 0) return r.malformed
  }
  if (flags & 0x80 && !r.string('user name')) return r.malformed
  if (flags & 0x40 && r.binary('password') < 0) return r.malformed
  return noMore(r, 'CONNECT')
}

function publish(r: Reader, first: number, v5: boolean): Violation | undefined {
  const qos = (first >> 1) & 3
  if (qos === 3) return malformed('PUBLISH QoS 3') // [MQTT-3.3.1-4]
  if (!r.string('topic')) return r.malformed
  const bad = qos > 0 ? packetId(r, 'PUBLISH') : undefined
  if (bad !== undefined) return bad
  return v5 ? publishProperties(r) : undefined
}

/** SUBSCRIBE's topic filter / options pairs, at least one [MQTT-3.8.3-2]. */
function subscriptions(r: Reader, v5: boolean): Violation | undefined {
  if (r.left === 0) return protocol('SUBSCRIBE without a topic filter')
  while (r.left > 0) {
    if (!r.string('topic filter')) return r.malformed
    const options = r.byte('subscription options')
    if (options < 0) return r.malformed
    // [MQTT-3.8.3-5] reserved bits; 3.1.1 [MQTT-3-8.3-4] only QoS bits.
    if (v5 ? options & 0xc0 : options & 0xfc) return malformed(`subscription options 0x${options.toString(16)}: reserved bits set`)
    if ((options & 3) === 3) return malformed('subscription QoS 3')
    if (((options >> 4) & 3) === 3) return protocol('retain handling 3')
  }
  return undefined
}

/** UNSUBSCRIBE's topic filters, at least one [MQTT-3.10.3-2]. */
function topicFilters(r: Reader): Violation | undefined {
  if (r.left === 0) return protocol('UNSUBSCRIBE without a topic filter')
  while (r.left > 0) if (!r.string('topic filter')) return r.malformed
  return undefined
}
