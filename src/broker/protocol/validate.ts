/**
 * Validation of every client frame that mqtt-packet decodes, on the frame's own bytes, before the
 * broker acts on the packet. mqtt-packet trusts its input more than a server may:
 *  - a string or binary property whose length runs past the end comes out as `null`, no error;
 *  - a packet id cut short comes out as -1, a byte cut short as `undefined` (true for a flag);
 *  - a property given twice becomes an array (a doubled session expiry, receive maximum, topic
 *    alias or message expiry passes every later check) [MQTT-2.2.2-2];
 *  - a property section may run past its declared length, or end short of it; trailing bytes after
 *    a CONNECT, an ack or a DISCONNECT are ignored.
 * So this module walks the frame once more with bounds on every read and answers the first
 * violation as the MQTT 5 reason code it calls for (0x81 malformed, 0x82 protocol error, 0x94 topic
 * alias invalid); the connection maps it to the client's version and closes that one connection.
 * Frames taking the decoder's hand-written fast path (PUBLISH without properties, 4-byte acks,
 * PINGREQ) are checked there and never reach this module.
 */
import {RC} from './reason-codes.js'
import {isValidUtf8} from './topics.js'

export interface Violation {
  /** MQTT 5 reason code: 0x81 malformed, 0x82 protocol error, 0x94 topic alias invalid. */
  reasonCode: number
  message: string
}

const enum T {
  Byte = 1,
  Int16 = 2,
  Int32 = 3,
  Var = 4,
  String = 5,
  Binary = 6,
  Pair = 7,
}

/** Packet kinds a property may appear in (bit mask). */
const enum P {
  Connect = 1 << 0,
  Will = 1 << 1,
  Publish = 1 << 2,
  Ack = 1 << 3, // PUBACK, PUBREC, PUBREL, PUBCOMP
  Subscribe = 1 << 4,
  Unsubscribe = 1 << 5,
  Disconnect = 1 << 6,
  Auth = 1 << 7,
}

const ALL = P.Connect | P.Will | P.Publish | P.Ack | P.Subscribe | P.Unsubscribe | P.Disconnect | P.Auth

interface PropSpec {
  name: string
  type: T
  /** Client-to-server packets it may appear in. */
  where: number
  /** May appear more than once (user property only, from a client). */
  multi?: boolean
  /** Extra value rule: a message when the value is not allowed (protocol error). */
  check?: (v: number) => string | undefined
}

const zeroOrOne = (v: number): string | undefined => (v === 0 || v === 1 ? undefined : `must be 0 or 1, got ${v}`)
const nonZero = (v: number): string | undefined => (v === 0 ? 'must not be 0' : undefined)

/**
 * MQTT 5 §2.2.2.2, client-to-server packets only: a property a server sends (assigned client id,
 * server keep alive, maximum QoS, ...) is not valid from a client.
 */
const PROPS: Array<PropSpec | undefined> = []
const def = (id: number, spec: PropSpec): void => void (PROPS[id] = spec)
def(0x01, {name: 'payload format indicator', type: T.Byte, where: P.Publish | P.Will, check: zeroOrOne})
def(0x02, {name: 'message expiry interval', type: T.Int32, where: P.Publish | P.Will})
def(0x03, {name: 'content type', type: T.String, where: P.Publish | P.Will})
def(0x08, {name: 'response topic', type: T.String, where: P.Publish | P.Will})
def(0x09, {name: 'correlation data', type: T.Binary, where: P.Publish | P.Will})
// A client must not send one in PUBLISH [MQTT-3.3.4-6]: allowed here only in SUBSCRIBE.
def(0x0b, {name: 'subscription identifier', type: T.Var, where: P.Subscribe, check: nonZero})
def(0x11, {name: 'session expiry interval', type: T.Int32, where: P.Connect | P.Disconnect})
def(0x15, {name: 'authentication method', type: T.String, where: P.Connect | P.Auth})
def(0x16, {name: 'authentication data', type: T.Binary, where: P.Connect | P.Auth})
def(0x17, {name: 'request problem information', type: T.Byte, where: P.Connect, check: zeroOrOne})
def(0x18, {name: 'will delay interval', type: T.Int32, where: P.Will})
def(0x19, {name: 'request response information', type: T.Byte, where: P.Connect, check: zeroOrOne})
def(0x1c, {name: 'server reference', type: T.String, where: P.Disconnect})
def(0x1f, {name: 'reason string', type: T.String, where: P.Ack | P.Disconnect | P.Auth})
def(0x21, {name: 'receive maximum', type: T.Int16, where: P.Connect, check: nonZero})
def(0x22, {name: 'topic alias maximum', type: T.Int16, where: P.Connect})
def(0x23, {name: 'topic alias', type: T.Int16, where: P.Publish})
def(0x26, {name: 'user property', type: T.Pair, where: ALL, multi: true})
def(0x27, {name: 'maximum packet size', type: T.Int32, where: P.Connect, check: nonZero})

const malformed = (message: string): Violation => ({reasonCode: RC.MALFORMED_PACKET, message})
const protocol = (message: string): Violation => ({reasonCode: RC.PROTOCOL_ERROR, message})

/** A bounded reader over one frame's body; every read fails (sets `bad`) rather than run past `end`. */
class Reader {
  pos: number
  bad: string | undefined = undefined

  constructor(
    readonly buf: Buffer,
    pos: number,
    public end: number,
  ) {
    this.pos = pos
  }

  get left(): number {
    return this.end - this.pos
  }

  fail(message: string): void {
    this.bad ??= message
    this.pos = this.end
  }

  byte(what: string): number {
    if (this.pos + 1 > this.end) return this.fail(`${what} cut short`), -1
    return this.buf[this.pos++]
  }

  u16(what: string): number {
    if (this.pos + 2 > this.end) return this.fail(`${what} cut short`), -1
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1]
    this.pos += 2
    return v
  }

  u32(what: string): number {
    if (this.pos + 4 > this.end) return this.fail(`${what} cut short`), -1
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  /** Variable byte integer: at most 4 bytes, minimal encoding not required (MQTT 5 §1.5.5). */
  varint(what: string): number {
    let value = 0
    let mul = 1
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.end) return this.fail(`${what} cut short`), -1
      const b = this.buf[this.pos++]
      value += (b & 0x7f) * mul
      if (b < 0x80) return value
      mul *= 128
    }
    return this.fail(`${what}: variable byte integer longer than 4 bytes`), -1
  }

  /** A length-prefixed binary field: its [start, end) or -1. */
  binary(what: string): number {
    const n = this.u16(what)
    if (n < 0) return -1
    if (this.pos + n > this.end) return this.fail(`${what} length ${n} runs past the end`), -1
    const start = this.pos
    this.pos += n
    return start
  }

  /** A UTF-8 string: well-formed, no U+0000 [MQTT-1.5.4-1] [MQTT-1.5.4-2]. */
  string(what: string): boolean {
    const start = this.binary(what)
    if (start < 0) return false
    if (!isValidUtf8(this.buf, start, this.pos)) return this.fail(`${what} is not valid UTF-8`), false
    return true
  }
}

/**
 * Walks one property section at r.pos for a packet kind; on success r.pos is just past it. Returns
 * a violation or undefined.
 */
function properties(r: Reader, kind: P, what: string): Violation | undefined {
  const length = r.varint(`${what} property length`)
  if (r.bad !== undefined) return malformed(r.bad)
  if (length > r.left) return malformed(`${what} property length ${length} runs past the end of the packet`)
  const outerEnd = r.end
  r.end = r.pos + length
  let seen = 0 // bit per property id below 32
  let seenHigh = 0 // ids 32..63
  while (r.pos < r.end) {
    const id = r.varint(`${what} property identifier`)
    if (r.bad !== undefined) return malformed(r.bad)
    const spec = id < PROPS.length ? PROPS[id] : undefined
    if (spec === undefined) return malformed(`${what}: unknown property 0x${id.toString(16)}`)
    if ((spec.where & kind) === 0) return malformed(`${what}: ${spec.name} (0x${id.toString(16)}) is not allowed here`)
    if (!spec.multi) {
      const bit = 1 << (id & 31)
      const word = id < 32 ? seen : seenHigh
      // [MQTT-2.2.2-2] a property other than user property (and, server to client, subscription id) at most once.
      if (word & bit) return protocol(`${what}: ${spec.name} appears more than once`)
      if (id < 32) seen |= bit
      else seenHigh |= bit
    }
    let value = 0
    switch (spec.type) {
      case T.Byte:
        value = r.byte(spec.name)
        break
      case T.Int16:
        value = r.u16(spec.name)
        break
      case T.Int32:
        value = r.u32(spec.name)
        break
      case T.Var:
        value = r.varint(spec.name)
        break
      case T.String:
        r.string(spec.name)
        break
      case T.Binary:
        r.binary(spec.name)
        break
      case T.Pair:
        if (r.string(`${spec.name} name`)) r.string(`${spec.name} value`)
        break
    }
    if (r.bad !== undefined) return malformed(`${what}: ${r.bad} (inside the property section)`)
    if (spec.check !== undefined) {
      const bad = spec.check(value)
      if (bad !== undefined) return protocol(`${what}: ${spec.name} ${bad}`)
    }
  }
  r.end = outerEnd
  return undefined
}

/** First byte and fixed-header length of a complete frame. */
function headerLength(frame: Buffer): number {
  let i = 1
  while (i < frame.length && frame[i] & 0x80 && i < 5) i++
  return i + 1
}

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
    case 7:
      return ack(r, v5, type === 4 ? 'PUBACK' : type === 5 ? 'PUBREC' : type === 6 ? 'PUBREL' : 'PUBCOMP')
    case 8:
      return subscribe(r, v5)
    case 10:
      return unsubscribe(r, v5)
    case 12:
      return r.left === 0 ? undefined : malformed('PINGREQ with a body')
    case 14:
      return disconnect(r, v5)
    case 15:
      return v5 ? auth(r) : malformed('AUTH before MQTT 5')
    default:
      // CONNACK, SUBACK, UNSUBACK, PINGRESP: server-to-client types, refused by the dispatcher.
      return undefined
  }
}

/** A non-zero packet identifier [MQTT-2.2.1-3]. */
function packetId(r: Reader, what: string): Violation | undefined {
  const id = r.u16(`${what} packet identifier`)
  if (id < 0) return malformed(r.bad!)
  if (id === 0) return malformed(`${what} packet identifier 0`)
  return undefined
}

function connect(r: Reader): Violation | undefined {
  if (!r.string('protocol name')) return malformed(r.bad!)
  const level = r.byte('protocol level')
  const flags = r.byte('connect flags')
  r.u16('keep alive')
  if (r.bad !== undefined) return malformed(r.bad)
  // Protocol name/level mismatches are the CONNECT handler's (a CONNACK 0x84 / return code 1).
  const v5 = level === 5
  if (flags & 1) return malformed('CONNECT reserved flag set') // [MQTT-3.1.2-3]
  const will = (flags & 0x04) !== 0
  const willQos = (flags >> 3) & 3
  if (willQos === 3) return malformed('will QoS 3') // [MQTT-3.1.2-14]
  if (!will && (willQos !== 0 || flags & 0x20)) return malformed('will QoS or retain without a will') // [MQTT-3.1.2-13] [MQTT-3.1.2-15]
  if (v5) {
    const bad = properties(r, P.Connect, 'CONNECT')
    if (bad !== undefined) return bad
  }
  if (!r.string('client identifier')) return malformed(r.bad!)
  if (will) {
    if (v5) {
      const bad = properties(r, P.Will, 'will')
      if (bad !== undefined) return bad
    }
    if (!r.string('will topic')) return malformed(r.bad!)
    if (r.binary('will payload') < 0) return malformed(r.bad!)
  }
  if (flags & 0x80 && !r.string('user name')) return malformed(r.bad!)
  if (flags & 0x40 && r.binary('password') < 0) return malformed(r.bad!)
  if (r.left !== 0) return malformed(`CONNECT has ${r.left} bytes after its last field`)
  return undefined
}

function publish(r: Reader, first: number, v5: boolean): Violation | undefined {
  const qos = (first >> 1) & 3
  if (qos === 3) return malformed('PUBLISH QoS 3') // [MQTT-3.3.1-4]
  if (!r.string('topic')) return malformed(r.bad!)
  if (qos > 0) {
    const bad = packetId(r, 'PUBLISH')
    if (bad !== undefined) return bad
  }
  if (v5) {
    const start = r.pos
    const bad = properties(r, P.Publish, 'PUBLISH')
    if (bad !== undefined) return bad
    const alias = topicAliasAt(r.buf, start, r.pos)
    if (alias === 0) return {reasonCode: RC.TOPIC_ALIAS_INVALID, message: 'topic alias 0'} // [MQTT-3.3.2-8]
  }
  return undefined
}

function ack(r: Reader, v5: boolean, what: string): Violation | undefined {
  const bad = packetId(r, what)
  if (bad !== undefined) return bad
  if (!v5) return r.left === 0 ? undefined : malformed(`${what} with ${r.left} extra bytes`) // 3.1.1: remaining length 2
  if (r.left === 0) return undefined // reason 0x00, no properties
  r.byte('reason code')
  if (r.left === 0) return undefined
  const propBad = properties(r, P.Ack, what)
  if (propBad !== undefined) return propBad
  return r.left === 0 ? undefined : malformed(`${what} has ${r.left} bytes after its properties`)
}

function subscribe(r: Reader, v5: boolean): Violation | undefined {
  const bad = packetId(r, 'SUBSCRIBE')
  if (bad !== undefined) return bad
  if (v5) {
    const propBad = properties(r, P.Subscribe, 'SUBSCRIBE')
    if (propBad !== undefined) return propBad
  }
  // [MQTT-3.8.3-2] at least one topic filter / options pair.
  if (r.left === 0) return protocol('SUBSCRIBE without a topic filter')
  while (r.left > 0) {
    if (!r.string('topic filter')) return malformed(r.bad!)
    const options = r.byte('subscription options')
    if (options < 0) return malformed(r.bad!)
    // [MQTT-3.8.3-5] reserved bits; 3.1.1 [MQTT-3-8.3-4] only QoS bits.
    if (v5 ? options & 0xc0 : options & 0xfc) return malformed(`subscription options 0x${options.toString(16)}: reserved bits set`)
    if ((options & 3) === 3) return malformed('subscription QoS 3')
    if (((options >> 4) & 3) === 3) return protocol('retain handling 3')
  }
  return undefined
}

function unsubscribe(r: Reader, v5: boolean): Violation | undefined {
  const bad = packetId(r, 'UNSUBSCRIBE')
  if (bad !== undefined) return bad
  if (v5) {
    const propBad = properties(r, P.Unsubscribe, 'UNSUBSCRIBE')
    if (propBad !== undefined) return propBad
  }
  if (r.left === 0) return protocol('UNSUBSCRIBE without a topic filter') // [MQTT-3.10.3-2]
  while (r.left > 0) if (!r.string('topic filter')) return malformed(r.bad!)
  return undefined
}

function disconnect(r: Reader, v5: boolean): Violation | undefined {
  if (!v5) return r.left === 0 ? undefined : malformed('DISCONNECT with a body')
  if (r.left === 0) return undefined
  r.byte('reason code')
  if (r.left === 0) return undefined
  const bad = properties(r, P.Disconnect, 'DISCONNECT')
  if (bad !== undefined) return bad
  return r.left === 0 ? undefined : malformed(`DISCONNECT has ${r.left} bytes after its properties`)
}

function auth(r: Reader): Violation | undefined {
  if (r.left === 0) return undefined
  r.byte('reason code')
  if (r.left === 0) return undefined
  const bad = properties(r, P.Auth, 'AUTH')
  if (bad !== undefined) return bad
  return r.left === 0 ? undefined : malformed(`AUTH has ${r.left} bytes after its properties`)
}

/** The topic alias in a (validated) property block [start, end), or -1 when absent. */
function topicAliasAt(buf: Buffer, start: number, end: number): number {
  const r = new Reader(buf, start, end)
  r.varint('')
  while (r.pos < end) {
    const id = r.varint('')
    if (id === 0x23) return r.u16('')
    skipValue(r, PROPS[id]!.type)
  }
  return -1
}

function skipValue(r: Reader, type: T): void {
  switch (type) {
    case T.Byte:
      r.pos += 1
      break
    case T.Int16:
      r.pos += 2
      break
    case T.Int32:
      r.pos += 4
      break
    case T.Var:
      r.varint('')
      break
    case T.String:
    case T.Binary:
      r.binary('')
      break
    case T.Pair:
      r.binary('')
      r.binary('')
      break
  }
}

/** Property identifiers of a client PUBLISH that are forwarded to subscribers byte for byte. */
const FORWARDED = new Set([0x01, 0x03, 0x08, 0x09, 0x26])

/**
 * The forwardable properties of a validated MQTT 5 PUBLISH frame, as the raw bytes of each one in
 * the order received: payload format indicator, content type, response topic, correlation data and
 * user properties [MQTT-3.3.2-4] [MQTT-3.3.2-17] [MQTT-3.3.2-18] (order kept). Topic alias and
 * message expiry are left out: the broker writes its own per subscriber. Returns undefined when
 * there is nothing to forward; the buffer is a copy (the frame is the socket's read chunk).
 */
export function forwardedPublishProperties(frame: Buffer): Buffer | undefined {
  const r = new Reader(frame, headerLength(frame), frame.length)
  const qos = (frame[0] >> 1) & 3
  r.binary('')
  if (qos > 0) r.pos += 2
  const length = r.varint('')
  if (length <= 0) return undefined
  const end = r.pos + length
  let out: Buffer | undefined
  let fill = 0
  let runStart = -1
  while (r.pos < end) {
    const at = r.pos
    const id = r.varint('')
    skipValue(r, PROPS[id]!.type)
    const keep = FORWARDED.has(id)
    if (keep && runStart < 0) runStart = at
    if (!keep && runStart >= 0) {
      out ??= Buffer.allocUnsafeSlow(length)
      fill += frame.copy(out, fill, runStart, at)
      runStart = -1
    }
  }
  if (runStart >= 0) {
    out ??= Buffer.allocUnsafeSlow(length)
    fill += frame.copy(out, fill, runStart, end)
  }
  if (out === undefined || fill === 0) return undefined
  return fill === out.length ? out : Buffer.from(out.subarray(0, fill))
}
