/**
 * MQTT 5 properties from a client (§2.2.2.2): which property may appear in which packet, its type and
 * value rule, the bounded walk over one property section (validate.ts), and the forwarded PUBLISH
 * properties as the raw bytes the publisher sent.
 */
import {RC} from './reason-codes.js'
import {headerLength, malformed, protocol, Reader, type Violation} from './reader.js'

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
export const KIND = {
  Connect: 1 << 0,
  Will: 1 << 1,
  Publish: 1 << 2,
  Ack: 1 << 3, // PUBACK, PUBREC, PUBREL, PUBCOMP
  Subscribe: 1 << 4,
  Unsubscribe: 1 << 5,
  Disconnect: 1 << 6,
  Auth: 1 << 7,
} as const

const ALL = 0xff

interface PropSpec {
  name: string
  type: T
  /** Client-to-server packets it may appear in (KIND bits). */
  where: number
  /** May appear more than once (user property only, from a client). */
  multi?: boolean
  /** Extra value rule: a message when the value is not allowed (protocol error). */
  check?: (v: number) => string | undefined
}

const zeroOrOne = (v: number): string | undefined => (v === 0 || v === 1 ? undefined : `must be 0 or 1, got ${v}`)
const nonZero = (v: number): string | undefined => (v === 0 ? 'must not be 0' : undefined)

/**
 * Client-to-server packets only: a property a server sends (assigned client id, server keep alive,
 * maximum QoS, ...) is not valid from a client.
 */
const PROPS: Array<PropSpec | undefined> = []
const def = (id: number, name: string, type: T, where: number, check?: PropSpec['check']): void => void (PROPS[id] = {name, type, where, check})
const {Connect, Will, Publish, Ack, Subscribe, Disconnect, Auth} = KIND
def(0x01, 'payload format indicator', T.Byte, Publish | Will, zeroOrOne)
def(0x02, 'message expiry interval', T.Int32, Publish | Will)
def(0x03, 'content type', T.String, Publish | Will)
def(0x08, 'response topic', T.String, Publish | Will)
def(0x09, 'correlation data', T.Binary, Publish | Will)
// A client must not send one in PUBLISH [MQTT-3.3.4-6]: allowed here only in SUBSCRIBE.
def(0x0b, 'subscription identifier', T.Var, Subscribe, nonZero)
def(0x11, 'session expiry interval', T.Int32, Connect | Disconnect)
def(0x15, 'authentication method', T.String, Connect | Auth)
def(0x16, 'authentication data', T.Binary, Connect | Auth)
def(0x17, 'request problem information', T.Byte, Connect, zeroOrOne)
def(0x18, 'will delay interval', T.Int32, Will)
def(0x19, 'request response information', T.Byte, Connect, zeroOrOne)
def(0x1c, 'server reference', T.String, Disconnect)
def(0x1f, 'reason string', T.String, Ack | Disconnect | Auth)
def(0x21, 'receive maximum', T.Int16, Connect, nonZero)
def(0x22, 'topic alias maximum', T.Int16, Connect)
def(0x23, 'topic alias', T.Int16, Publish)
PROPS[0x26] = {name: 'user property', type: T.Pair, where: ALL, multi: true}
def(0x27, 'maximum packet size', T.Int32, Connect, nonZero)

/**
 * Reads one property value; numeric types return it, the others 0. `skip` (a frame already
 * validated): strings are stepped over without checking their UTF-8 again.
 */
function value(r: Reader, type: T, name: string, skip = false): number {
  switch (type) {
    case T.Byte:
      return r.byte(name)
    case T.Int16:
      return r.u16(name)
    case T.Int32:
      return r.u32(name)
    case T.Var:
      return r.varint(name)
    case T.String:
      if (skip) r.binary(name)
      else r.string(name)
      return 0
    case T.Binary:
      r.binary(name)
      return 0
    case T.Pair:
      if (skip) r.binary(name), r.binary(name)
      else if (r.string(`${name} name`)) r.string(`${name} value`)
      return 0
  }
}

/**
 * Walks one property section at r.pos for a packet kind (a KIND bit); on success r.pos is just past
 * it. Unknown or misplaced ids are malformed; a single-valued one twice is a protocol error
 * [MQTT-2.2.2-2], as is a value its rule refuses.
 */
export function walkProperties(r: Reader, kind: number, what: string): Violation | undefined {
  const length = r.varint(`${what} property length`)
  if (r.bad !== undefined) return r.malformed
  if (length > r.left) return malformed(`${what} property length ${length} runs past the end of the packet`)
  const outerEnd = r.end
  r.end = r.pos + length
  let seen = 0 // bit per property id below 32
  let seenHigh = 0 // ids 32..63
  while (r.pos < r.end) {
    const id = r.varint(`${what} property identifier`)
    if (r.bad !== undefined) return r.malformed
    const spec = id < PROPS.length ? PROPS[id] : undefined
    if (spec === undefined) return malformed(`${what}: unknown property 0x${id.toString(16)}`)
    if ((spec.where & kind) === 0) return malformed(`${what}: ${spec.name} (0x${id.toString(16)}) is not allowed here`)
    if (!spec.multi) {
      const bit = 1 << (id & 31)
      if ((id < 32 ? seen : seenHigh) & bit) return protocol(`${what}: ${spec.name} appears more than once`)
      if (id < 32) seen |= bit
      else seenHigh |= bit
    }
    const v = value(r, spec.type, spec.name)
    if (r.bad !== undefined) return malformed(`${what}: ${r.bad} (inside the property section)`)
    const bad = spec.check?.(v)
    if (bad !== undefined) return protocol(`${what}: ${spec.name} ${bad}`)
  }
  r.end = outerEnd
  return undefined
}

/** A PUBLISH property section at r.pos: valid, and topic alias 0 is 0x94 [MQTT-3.3.2-8]. */
export function publishProperties(r: Reader): Violation | undefined {
  const start = r.pos
  const bad = walkProperties(r, KIND.Publish, 'PUBLISH')
  if (bad !== undefined) return bad
  if (topicAliasAt(r.buf, start, r.pos) === 0) return {reasonCode: RC.TOPIC_ALIAS_INVALID, message: 'topic alias 0'}
  return undefined
}

/** The topic alias in a (validated) property block [start, end), or -1 when absent. */
function topicAliasAt(buf: Buffer, start: number, end: number): number {
  const r = new Reader(buf, start, end)
  r.varint('')
  while (r.pos < end) {
    const id = r.varint('')
    if (id === 0x23) return r.u16('')
    value(r, PROPS[id]!.type, '', true)
  }
  return -1
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
    value(r, PROPS[id]!.type, '', true)
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
