/**
 * The fuzzer's material: a seeded PRNG, valid packets of every type for MQTT 3.1, 3.1.1 and 5.0
 * generated with mqtt-packet (every client property, wills, user properties, and the server-to-client
 * types too), and the mutations applied to their bytes. Everything derives from the seed, so a run
 * (and one connection of it) is reproducible.
 */
import mqtt, {type Packet} from 'mqtt-packet'

/** mulberry32: small, fast, good enough for fuzzing, and reproducible across platforms. */
export class Rng {
  #s: number
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9
  }
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.next() * n)
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }
  chance(p: number): boolean {
    return this.next() < p
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n)
    for (let i = 0; i < n; i++) b[i] = this.int(256)
    return b
  }
}

/** Seed of connection `index` of a run: one connection can be replayed alone. */
export function connectionSeed(runSeed: number, index: number): number {
  return (Math.imul(runSeed ^ 0x5bd1e995, 0x01000193) ^ Math.imul(index + 1, 0x27d4eb2d)) >>> 0
}

export type Version = 3 | 4 | 5

/** Topics and filters: ordinary, deep, '$' (incl. $SYS), wildcards where they are not allowed, non-ASCII. */
const GOOD_TOPICS = ['a', 'a/b', 'a/b/c', 'fuzz/x', 'fuzz/y/z', '$SYS/broker/uptime', '$SYS/x', 'sport/tennis', 'ü/ñ', '/', '//', 'a//b', 'x'.repeat(300), 'bystander-not']
const BAD_TOPICS = ['+', '#', 'a/#', 'a/+/c', '']
const TOPICS = [...GOOD_TOPICS, ...BAD_TOPICS]
const topic = (rng: Rng): string => (rng.chance(0.97) ? rng.pick(GOOD_TOPICS) : rng.pick(BAD_TOPICS))
const FILTERS = ['#', '+', 'a/#', 'a/+', '+/b', '$SYS/#', '$share/g/a/#', '$share/g2/#', '$share//x', '$share/g', 'a/b#', 'a/+b', 'fuzz/#', 'sport/+/x', '', '/#', 'a'.repeat(200) + '/#']
const CLIENT_IDS = ['fz-0', 'fz-1', 'fz-2', 'fz-3', 'fz-4', 'fz-5', 'fz-6', 'fz-7', 'fz-long-' + 'x'.repeat(30), '']

function userProperties(rng: Rng): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  const n = rng.range(1, 4)
  for (let i = 0; i < n; i++) {
    const key = rng.pick(['a', 'b', 'key', 'ü', 'k'.repeat(rng.range(1, 40))])
    const value = rng.pick(['1', '', 'value', 'v'.repeat(rng.range(1, 60))])
    const had = out[key]
    out[key] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value]
  }
  return out
}

function payload(rng: Rng): Buffer {
  const r = rng.next()
  if (r < 0.6) return rng.bytes(rng.range(0, 32))
  // Larger ones are one repeated byte: random content adds nothing the small ones lack, and costs time.
  return Buffer.alloc(r < 0.99 ? rng.range(33, 2000) : rng.range(2001, 70_000), rng.int(256))
}

const id = (rng: Rng): number => (rng.chance(0.9) ? rng.range(1, 20) : rng.range(1, 65535))

function publishProperties(rng: Rng): NonNullable<mqtt.IPublishPacket['properties']> {
  const p: NonNullable<mqtt.IPublishPacket['properties']> = {}
  if (rng.chance(0.3)) p.payloadFormatIndicator = rng.chance(0.5)
  if (rng.chance(0.3)) p.messageExpiryInterval = rng.pick([0, 1, 60, 0xffffffff])
  if (rng.chance(0.3)) p.topicAlias = rng.range(1, 12)
  if (rng.chance(0.2)) p.responseTopic = topic(rng)
  if (rng.chance(0.2)) p.correlationData = rng.bytes(rng.range(0, 40))
  if (rng.chance(0.4)) p.userProperties = userProperties(rng)
  if (rng.chance(0.01)) p.subscriptionIdentifier = rng.range(1, 1000) // a client must not: protocol error
  if (rng.chance(0.2)) p.contentType = rng.pick(['text/plain', 'application/json', 'ü'])
  return p
}

/** One valid (as mqtt-packet generates it) packet of any type for `version`; CONNECT only when asked. */
export function randomPacket(rng: Rng, version: Version): Packet {
  const v5 = version === 5
  const r = rng.int(100)
  if (r < 40) {
    const qos = rng.pick([0, 0, 1, 1, 2] as const)
    const packet: mqtt.IPublishPacket = {cmd: 'publish', topic: topic(rng), payload: payload(rng), qos, retain: rng.chance(0.15), dup: qos > 0 && rng.chance(0.1)}
    if (qos > 0) packet.messageId = id(rng)
    if (v5 && rng.chance(0.6)) packet.properties = publishProperties(rng)
    if (v5 && packet.properties?.topicAlias !== undefined && rng.chance(0.15)) packet.topic = ''
    return packet
  }
  if (r < 55) {
    const cmd = rng.pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const)
    const packet = {cmd, messageId: id(rng)} as mqtt.IPubackPacket
    if (v5 && rng.chance(0.5)) {
      packet.reasonCode = cmd === 'pubrel' || cmd === 'pubcomp' ? rng.pick([0, 0x92]) : rng.pick([0, 0x10, 0x80, 0x83, 0x87, 0x91, 0x97])
      if (rng.chance(0.5)) packet.properties = {reasonString: 'r', userProperties: userProperties(rng)}
    }
    return packet as Packet
  }
  if (r < 70) {
    const n = rng.range(1, 5)
    const subscriptions = Array.from({length: n}, () => ({topic: rng.pick(FILTERS), qos: rng.pick([0, 1, 2] as const), nl: v5 && rng.chance(0.2), rap: v5 && rng.chance(0.3), rh: v5 ? rng.pick([0, 1, 2] as const) : 0}))
    const packet: mqtt.ISubscribePacket = {cmd: 'subscribe', messageId: id(rng), subscriptions}
    if (v5 && rng.chance(0.4)) packet.properties = {subscriptionIdentifier: rng.range(1, 268_435_455), userProperties: rng.chance(0.5) ? userProperties(rng) : undefined}
    return packet
  }
  if (r < 78) {
    const packet: mqtt.IUnsubscribePacket = {cmd: 'unsubscribe', messageId: id(rng), unsubscriptions: Array.from({length: rng.range(1, 4)}, () => rng.pick(FILTERS))}
    if (v5 && rng.chance(0.3)) packet.properties = {userProperties: userProperties(rng)}
    return packet
  }
  if (r < 88) return {cmd: 'pingreq'}
  if (r < 91) {
    const packet: mqtt.IDisconnectPacket = {cmd: 'disconnect'}
    if (v5 && rng.chance(0.6)) {
      packet.reasonCode = rng.pick([0, 4, 0x80, 0x81])
      if (rng.chance(0.5)) packet.properties = {sessionExpiryInterval: rng.pick([0, 10, 0xffffffff]), reasonString: 'bye', userProperties: userProperties(rng)}
    }
    return packet
  }
  if (rng.chance(0.85)) return randomPacket(rng, version) // the kinds below (fatal to the connection) are rare
  if (r < 96 && v5) return {cmd: 'auth', reasonCode: rng.pick([0, 0x18, 0x19]), properties: {authenticationMethod: 'SCRAM', authenticationData: rng.bytes(8)}}
  if (r < 97) return randomConnect(rng, version) // a second CONNECT
  // Server-to-client types.
  const kind = rng.int(4)
  if (kind === 0) return {cmd: 'connack', sessionPresent: false, returnCode: 0, reasonCode: 0} as Packet
  if (kind === 1) return {cmd: 'suback', messageId: id(rng), granted: [0, 1]}
  if (kind === 2) return {cmd: 'unsuback', messageId: id(rng), granted: v5 ? [0] : undefined} as Packet
  return {cmd: 'pingresp'}
}

export function randomConnect(rng: Rng, version: Version): mqtt.IConnectPacket {
  const v5 = version === 5
  const packet: mqtt.IConnectPacket = {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clientId: rng.pick(CLIENT_IDS),
    clean: rng.chance(0.7),
    keepalive: rng.pick([0, 0, 5, 60, 65535]),
  }
  if (version === 3 && packet.clientId === '') packet.clientId = 'fz-31'
  if (rng.chance(0.3)) {
    packet.will = {topic: rng.chance(0.97) ? rng.pick(GOOD_TOPICS) : rng.pick(TOPICS), payload: payload(rng), qos: rng.pick([0, 1, 2] as const), retain: rng.chance(0.3)}
    if (v5 && rng.chance(0.6)) {
      packet.will.properties = {
        willDelayInterval: rng.pick([0, 1, 3600]),
        payloadFormatIndicator: rng.chance(0.5),
        messageExpiryInterval: rng.pick([1, 600]),
        contentType: 'text/plain',
        responseTopic: 'r/t',
        correlationData: rng.bytes(4),
        userProperties: userProperties(rng),
      }
    }
  }
  if (rng.chance(0.3)) packet.username = rng.pick(['u', 'admin', 'ü'])
  if (packet.username !== undefined && rng.chance(0.5)) packet.password = rng.bytes(rng.range(0, 20))
  if (v5 && rng.chance(0.7)) {
    packet.properties = {
      sessionExpiryInterval: rng.pick([0, 0, 5, 3600, 0xffffffff]),
      receiveMaximum: rng.pick([1, 2, 10, 65535]),
      maximumPacketSize: rng.pick([64, 1024, 268_435_455]),
      topicAliasMaximum: rng.pick([0, 2, 10]),
      requestResponseInformation: rng.chance(0.3),
      requestProblemInformation: rng.chance(0.7),
    }
    if (rng.chance(0.3)) packet.properties.userProperties = userProperties(rng)
    if (rng.chance(0.03)) packet.properties.authenticationMethod = 'SCRAM'
  }
  return packet
}

/** mqtt-packet's bytes for a packet; undefined when it refuses to generate it. */
export function encode(packet: Packet, version: Version): Buffer | undefined {
  try {
    return mqtt.generate(packet, {protocolVersion: version})
  } catch {
    return undefined
  }
}

function varint(n: number): number[] {
  const out: number[] = []
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0 && out.length < 4)
  return out
}

function headerLength(frame: Buffer): number {
  let i = 1
  while (i < frame.length && frame[i] & 0x80 && i < 5) i++
  return Math.min(i + 1, frame.length)
}

/** Same first byte, new body, remaining length recomputed. */
function reframe(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...varint(body.length)]), body])
}

/**
 * Offset (in the body) of the MQTT 5 property length of a generated frame, or -1. Works on the
 * layouts mqtt-packet generates (valid input), which is all the mutator needs.
 */
function propertyOffset(frame: Buffer, version: Version): number {
  if (version !== 5) return -1
  const body = frame.subarray(headerLength(frame))
  const type = frame[0] >> 4
  const u16 = (o: number): number => (o + 1 < body.length ? body.readUInt16BE(o) : 0)
  switch (type) {
    case 1: {
      const name = u16(0)
      return 2 + name + 4
    }
    case 3: {
      const qos = (frame[0] >> 1) & 3
      return 2 + u16(0) + (qos > 0 ? 2 : 0)
    }
    case 4:
    case 5:
    case 6:
    case 7:
      return body.length > 3 ? 3 : -1
    case 8:
    case 10:
      return 2
    case 14:
    case 15:
      return body.length > 1 ? 1 : -1
    default:
      return -1
  }
}

const PROPERTY_SIZE: Record<number, number | 'var' | 'str' | 'pair'> = {
  0x01: 1, 0x02: 4, 0x03: 'str', 0x08: 'str', 0x09: 'str', 0x0b: 'var', 0x11: 4, 0x12: 'str', 0x13: 2, 0x15: 'str', 0x16: 'str', 0x17: 1, 0x18: 4,
  0x19: 1, 0x1a: 'str', 0x1c: 'str', 0x1f: 'str', 0x21: 2, 0x22: 2, 0x23: 2, 0x24: 1, 0x25: 1, 0x26: 'pair', 0x27: 4, 0x28: 1, 0x29: 1, 0x2a: 1,
}

/** [start, end) of each property entry in the block at body[off] (valid input). */
function propertyEntries(body: Buffer, off: number): {start: number; end: number; lenBytes: number; entries: Array<[number, number]>} | undefined {
  let len = 0
  let mul = 1
  let i = off
  for (; i < body.length && i < off + 4; i++) {
    len += (body[i] & 0x7f) * mul
    mul *= 128
    if (body[i] < 0x80) break
  }
  i++
  const start = i
  const end = start + len
  if (end > body.length) return undefined
  const entries: Array<[number, number]> = []
  while (i < end) {
    const at = i
    const pid = body[i++]
    const size = PROPERTY_SIZE[pid]
    if (size === undefined) return undefined
    if (typeof size === 'number') i += size
    else if (size === 'var') {
      while (i < end && body[i] & 0x80) i++
      i++
    } else {
      i += 2 + body.readUInt16BE(i)
      if (size === 'pair') i += 2 + body.readUInt16BE(i)
    }
    entries.push([at, i])
  }
  return {start, end, lenBytes: start - off, entries}
}

export const MUTATIONS = [
  'bitflip',
  'truncate',
  'truncate-reframed',
  'remaining-length',
  'property-length',
  'string-length',
  'duplicate-property',
  'reserved-bits',
  'bad-utf8',
  'nul',
  'random-type',
  'garbage',
  'splice',
  'packet-id',
] as const
export type Mutation = (typeof MUTATIONS)[number]

/** One mutation of a valid frame. */
export function mutate(rng: Rng, frame: Buffer, version: Version, kind: Mutation = rng.pick(MUTATIONS)): Buffer {
  const h = headerLength(frame)
  const first = frame[0]
  const body = Buffer.from(frame.subarray(h))
  switch (kind) {
    case 'bitflip': {
      const out = Buffer.from(frame)
      const n = rng.range(1, 8)
      for (let i = 0; i < n; i++) out[rng.int(out.length)] ^= 1 << rng.int(8)
      return out
    }
    case 'truncate':
      return frame.subarray(0, rng.int(frame.length))
    case 'truncate-reframed':
      return reframe(first, body.subarray(0, body.length === 0 ? 0 : rng.int(body.length)))
    case 'remaining-length': {
      const declared = rng.pick([0, 1, body.length - 1, body.length + 1, body.length + 100, 127, 128, 16_383, 16_384, 2_097_151, 268_435_455])
      const bytes = rng.chance(0.1) ? [0xff, 0xff, 0xff, 0xff, 0x7f] : varint(Math.max(0, declared))
      return Buffer.concat([Buffer.from([first, ...bytes]), body])
    }
    case 'property-length': {
      const off = propertyOffset(frame, version)
      if (off < 0 || off >= body.length) return mutate(rng, frame, version, 'bitflip')
      const old = propertyEntries(body, off)
      const lenBytes = old?.lenBytes ?? 1
      const value = rng.pick([0, 1, 2, 3, 5, 64, 127, 200, 16_384, 268_435_455, (old ? old.end - old.start : 0) + rng.range(-3, 3)])
      const out = Buffer.concat([body.subarray(0, off), Buffer.from(varint(Math.max(0, value))), body.subarray(off + lenBytes)])
      return reframe(first, out)
    }
    case 'string-length': {
      if (body.length < 2) return mutate(rng, frame, version, 'garbage')
      const type = first >> 4
      // The topic / protocol name length sits at body[0]; otherwise any aligned-looking 2 bytes.
      const at = type === 1 || type === 3 ? 0 : rng.int(body.length - 1)
      const value = rng.pick([0, 1, body.length, body.length + 1, 0x7fff, 0xffff, rng.int(65536)])
      body.writeUInt16BE(Math.min(value, 0xffff), at)
      return reframe(first, body)
    }
    case 'duplicate-property': {
      const off = propertyOffset(frame, version)
      const block = off >= 0 && off < body.length ? propertyEntries(body, off) : undefined
      if (block === undefined || block.entries.length === 0) return mutate(rng, frame, version, 'bitflip')
      const [s, e] = rng.pick(block.entries)
      const entry = body.subarray(s, e)
      const props = Buffer.concat([body.subarray(block.start, block.end), entry])
      return reframe(first, Buffer.concat([body.subarray(0, off), Buffer.from(varint(props.length)), props, body.subarray(block.end)]))
    }
    case 'reserved-bits': {
      const out = Buffer.from(frame)
      const type = first >> 4
      if (rng.chance(0.5) || body.length === 0) out[0] = (type << 4) | rng.int(16)
      else if (type === 1) out[h + 2 + out.readUInt16BE(h) + 1] |= 1 // CONNECT flags bit 0
      else if (type === 8) out[out.length - 1] |= rng.pick([0x40, 0x80, 0x30, 0x03, 0x0c])
      else out[h] ^= 0x80
      return out
    }
    case 'bad-utf8':
    case 'nul': {
      const type = first >> 4
      if ((type !== 3 && type !== 1 && type !== 8 && type !== 10) || body.length < 3) return mutate(rng, frame, version, 'bitflip')
      // A string: the topic / protocol name at body[0], or the first filter of (UN)SUBSCRIBE.
      const at = type === 8 || type === 10 ? (version === 5 ? 2 + 1 + (body[2] < 0x80 ? body[2] : 0) : 2) : 0
      if (at + 2 >= body.length) return mutate(rng, frame, version, 'bitflip')
      const len = body.readUInt16BE(at)
      if (len === 0 || at + 2 + len > body.length) return mutate(rng, frame, version, 'bitflip')
      const pos = at + 2 + rng.int(len)
      if (kind === 'nul') body[pos] = 0
      else {
        const bad = rng.pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80]])
        for (let i = 0; i < bad.length && pos + i < at + 2 + len; i++) body[pos + i] = bad[i]
      }
      return reframe(first, body)
    }
    case 'random-type':
      return reframe((rng.int(16) << 4) | (first & 0x0f), body)
    case 'garbage':
      return rng.chance(0.5) ? rng.bytes(rng.range(1, 64)) : reframe(rng.int(256), rng.bytes(rng.range(0, 100)))
    case 'splice': {
      const other = encode(randomPacket(rng, version), version) ?? frame
      const cut = rng.int(frame.length)
      return Buffer.concat([frame.subarray(0, cut), other.subarray(rng.int(other.length))])
    }
    case 'packet-id': {
      const type = first >> 4
      const out = Buffer.from(frame)
      let at = -1
      if (type === 3 && ((first >> 1) & 3) > 0) at = h + 2 + out.readUInt16BE(h)
      else if ((type >= 4 && type <= 11) && body.length >= 2) at = h
      if (at < 0 || at + 2 > out.length) return mutate(rng, frame, version, 'truncate')
      out.writeUInt16BE(rng.pick([0, 0, 1, 65535]), at)
      return out
    }
  }
}
