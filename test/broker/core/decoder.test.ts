/**
 * The framer and fast paths of src/broker/decoder.ts against mqtt-packet's own parser: byte-by-byte
 * and coalesced delivery, the fast path's packets equal mqtt-packet's, and its fall-backs keep
 * mqtt-packet's errors (plus the size, varint and UTF-8 checks).
 */
import mqtt, {type Packet} from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {Decoder, type FrameSink} from '../../../src/broker/decoder.js'
import type {Violation} from '../../../src/broker/protocol/validate.js'

class Sink implements FrameSink {
  rx: Buffer | undefined = undefined
  rxFill = 0
  rxNeed = 0
  packets: Packet[] = []
  errors: Array<{message: string; cmd: string | undefined; protocolVersion: number}> = []
  constructor(
    public version: number,
    public connected = true,
  ) {}
  get open(): boolean {
    return this.errors.length === 0
  }
  get decoding(): boolean {
    return this.open
  }
  onPacket(packet: Packet): void {
    this.packets.push(packet)
  }
  onParseError(err: Error, cmd: string | undefined, protocolVersion: number): void {
    this.errors.push({message: err.message, cmd, protocolVersion})
  }
  onViolation(v: Violation, cmd: string, protocolVersion: number): void {
    this.errors.push({message: v.message, cmd, protocolVersion})
  }
}

const gen = (p: Packet, version = 4): Buffer => mqtt.generate(p, {protocolVersion: version})
/** What mqtt-packet alone makes of the bytes, as plain data. */
function reference(bytes: Buffer, version: number): unknown[] {
  const parser = mqtt.parser({protocolVersion: version})
  const out: unknown[] = []
  parser.on('packet', (p) => out.push(plain(p)))
  parser.parse(bytes)
  return out
}
function plain(p: object): unknown {
  const o: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== null && k !== 'length') o[k] = Buffer.isBuffer(v) ? v.toString('hex') : v
  // Properties are compared elsewhere; the decoder adds their raw bytes (rawProperties) for forwarding.
  if (o.cmd === 'publish') {
    delete o.properties
    delete o.rawProperties
  } else if (o.cmd !== 'subscribe' && o.cmd !== 'connect') {
    // Header bits mean nothing on acks and PINGREQ; reason code 0 is the same as none.
    delete o.retain
    delete o.qos
    delete o.dup
    if (o.reasonCode === 0) delete o.reasonCode
  }
  return o
}

const PACKETS: Array<[string, Packet, number]> = [
  ['QoS 0 publish', {cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false}, 4],
  ['QoS 1 retained publish', {cmd: 'publish', topic: 'x', payload: Buffer.alloc(300, 7), qos: 1, retain: true, dup: false, messageId: 42}, 4],
  ['QoS 2 dup publish, v5', {cmd: 'publish', topic: 'é/ü', payload: Buffer.from('x'), qos: 2, retain: false, dup: true, messageId: 7}, 5],
  ['empty payload, v3', {cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, dup: false}, 3],
  ['puback', {cmd: 'puback', messageId: 9}, 4],
  ['pubrel', {cmd: 'pubrel', messageId: 65_535}, 4],
  ['pubcomp v5', {cmd: 'pubcomp', messageId: 3}, 5],
  ['pingreq', {cmd: 'pingreq'}, 4],
  ['subscribe (slow path)', {cmd: 'subscribe', messageId: 1, subscriptions: [{topic: 'a/#', qos: 1}]}, 4],
  ['v5 publish with properties (slow path)', {cmd: 'publish', topic: 'p', payload: Buffer.from('z'), qos: 1, retain: false, dup: false, messageId: 5, properties: {contentType: 'text/plain'}}, 5],
]

describe('decoder', () => {
  it.each(PACKETS)('%s: same packet as mqtt-packet, whole or byte by byte', (_name, packet, version) => {
    const bytes = gen(packet, version)
    const expected = reference(bytes, version)
    const whole = new Sink(version)
    new Decoder(1 << 20).feed(whole, bytes)
    expect(whole.packets.map(plain)).toEqual(expected)
    const split = new Sink(version)
    const d = new Decoder(1 << 20)
    for (let i = 0; i < bytes.length; i++) d.feed(split, bytes.subarray(i, i + 1))
    expect(split.packets.map(plain)).toEqual(expected)
    expect(split.rx).toBeUndefined()
  })

  it('splits coalesced frames and keeps a partial one for the next chunk', () => {
    const frames = PACKETS.filter(([, , v]) => v === 4).map(([, p]) => gen(p))
    const all = Buffer.concat(frames)
    const sink = new Sink(4)
    const d = new Decoder(1 << 20)
    d.feed(sink, all.subarray(0, all.length - 3))
    expect(sink.packets).toHaveLength(frames.length - 1)
    d.feed(sink, all.subarray(all.length - 3))
    expect(sink.packets.map(plain)).toEqual(reference(all, 4))
  })

  it('refuses a packet over the maximum size from its fixed header, before the body arrives', () => {
    const sink = new Sink(4)
    const bytes = gen({cmd: 'publish', topic: 't', payload: Buffer.alloc(200), qos: 0, retain: false, dup: false})
    new Decoder(100).feed(sink, bytes.subarray(0, 4))
    expect(sink.errors[0].message).toMatch(/^Packet too large/)
    expect(sink.packets).toEqual([])
  })

  it('a remaining length longer than 4 bytes is malformed', () => {
    const sink = new Sink(4)
    new Decoder(1 << 30).feed(sink, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))
    expect(sink.errors[0].message).toBe('Invalid variable byte integer')
  })

  it('invalid UTF-8 in a PUBLISH topic goes to the strict check and fails', () => {
    const sink = new Sink(4)
    new Decoder(1 << 20).feed(sink, Buffer.from([0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 0x41]))
    expect(sink.errors[0].message).toBe('Invalid UTF-8 string')
  })

  it('QoS 3 and a PUBREL with wrong flags fall back to mqtt-packet, which refuses them', () => {
    const a = new Sink(4)
    new Decoder(1 << 20).feed(a, Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]))
    expect(a.errors).toHaveLength(1)
    const b = new Sink(4)
    new Decoder(1 << 20).feed(b, Buffer.from([0x60, 0x02, 0x00, 0x01]))
    expect(b.errors).toHaveLength(1)
  })

  it('the shared parser is clean after an error: the next connection decodes normally', () => {
    const d = new Decoder(1 << 20)
    const bad = new Sink(0, false)
    const level6 = gen({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'x', clean: true, keepalive: 0})
    level6[8] = 6 // protocol level: mqtt-packet stops mid-frame (a stale read offset once broke the next frame)
    d.feed(bad, level6)
    expect(bad.errors[0]).toMatchObject({cmd: 'connect'})
    const good = new Sink(0, false)
    d.feed(good, gen({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'y', clean: true, keepalive: 0}))
    expect(good.errors).toEqual([])
    expect(good.packets[0]).toMatchObject({cmd: 'connect', clientId: 'y'})
  })

  it('before CONNECT every frame takes the slow path (a PUBLISH is still decoded, dispatch refuses it)', () => {
    const sink = new Sink(0, false)
    new Decoder(1 << 20).feed(sink, gen({cmd: 'publish', topic: 'a', payload: Buffer.from('b'), qos: 0, retain: false, dup: false}))
    expect(sink.packets[0]).toMatchObject({cmd: 'publish', topic: 'a'})
  })
})
