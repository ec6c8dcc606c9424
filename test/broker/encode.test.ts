/**
 * src/broker/encode.ts: every encoding mqtt-packet reads back as the PUBLISH it should be (3.1.1 and
 * 5.0, QoS 0-2, retain, large shared payloads, subscription ids, remaining expiry), variants are
 * cached per message and bounded, packet ids and DUP are patched into copies only.
 */
import mqtt, {type IPublishPacket} from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {ACK, SHARE_PAYLOAD_BYTES, encodeAck, variantFor, withPacketId} from '../../src/broker/encode.js'
import type {EncodedVariant, Message} from '../../src/broker/message.js'

function parse(bytes: Buffer, version: 4 | 5): IPublishPacket {
  const parser = mqtt.parser({protocolVersion: version})
  const out: mqtt.Packet[] = []
  parser.on('packet', (p) => out.push(p))
  parser.on('error', (e) => {
    throw e
  })
  parser.parse(bytes)
  expect(out).toHaveLength(1)
  return out[0] as IPublishPacket
}

const wire = (v: EncodedVariant, packetId = 0, dup = false): Buffer => {
  const head = packetId > 0 ? withPacketId(v, packetId, dup) : v.buf
  return v.tail === undefined ? head : Buffer.concat([head, v.tail])
}

const message = (over: Partial<Message> = {}): Message => ({topic: 'a/b', payload: Buffer.from('hello'), qos: 2, retain: true, expiresAt: 0, ...over})

describe('encode', () => {
  it.each([4, 5] as const)('v%i: QoS 0/1/2, retain or not, small and shared-tail payloads read back exactly', (version) => {
    for (const size of [0, 5, 200, SHARE_PAYLOAD_BYTES + 3]) {
      const payload = Buffer.alloc(size, 0x61)
      for (const qos of [0, 1, 2] as const) {
        for (const retain of [false, true]) {
          const msg = message({payload, topic: 'sensors/é/1'})
          const v = variantFor(msg, qos, retain, version === 5, undefined, 0)
          expect(v.tail === undefined).toBe(size < SHARE_PAYLOAD_BYTES)
          const p = parse(wire(v, qos > 0 ? 513 : 0), version)
          expect([p.topic, p.qos, p.retain, p.dup, p.payload.length]).toEqual(['sensors/é/1', qos, retain, false, size])
          if (qos > 0) expect(p.messageId).toBe(513)
        }
      }
    }
  })

  it('MQTT 5: subscription ids and the remaining expiry go on the wire; the publisher properties are kept', () => {
    const now = 1_000_000
    const msg = message({expiresAt: now + 59_200, properties: {contentType: 'text/plain', userProperties: {a: '1'}}})
    const p = parse(wire(variantFor(msg, 1, false, true, [7, 9], now), 1), 5)
    expect(p.properties?.subscriptionIdentifier).toEqual([7, 9])
    expect(p.properties?.messageExpiryInterval).toBe(60)
    expect(p.properties?.contentType).toBe('text/plain')
    expect(p.properties?.userProperties).toEqual({a: '1'})
    // 3.1.1 gets none of them
    expect(parse(wire(variantFor(msg, 1, false, false, [7], now), 1), 4).properties).toBeUndefined()
  })

  it('caches one encoding per variant on the message, at most 8 of them', () => {
    const msg = message()
    const a = variantFor(msg, 1, false, false, undefined, 0)
    expect(variantFor(msg, 1, false, false, undefined, 0)).toBe(a)
    expect(variantFor(msg, 0, false, false, undefined, 0)).not.toBe(a)
    for (let id = 1; id <= 20; id++) variantFor(msg, 1, false, true, [id], 0)
    let n = 0
    for (let v = msg.enc; v !== undefined; v = v.next) n++
    expect(n).toBe(8)
  })

  it('withPacketId patches a copy (id, DUP) and leaves the shared encoding alone', () => {
    const msg = message()
    const v = variantFor(msg, 1, false, false, undefined, 0)
    const before = Buffer.from(v.buf)
    const dup = parse(withPacketId(v, 65_535, true), 4)
    expect([dup.messageId, dup.dup]).toEqual([65_535, true])
    expect(v.buf.equals(before)).toBe(true)
  })

  it('encodeAck writes the 4-byte PUBACK/PUBREC/PUBREL/PUBCOMP every version reads', () => {
    for (const [cmd, first] of Object.entries(ACK)) {
      for (const version of [4, 5] as const) {
        const parser = mqtt.parser({protocolVersion: version})
        const got: mqtt.Packet[] = []
        parser.on('packet', (p) => got.push(p))
        parser.parse(encodeAck(first, 4242))
        expect(got[0]).toMatchObject({cmd, messageId: 4242})
      }
    }
  })
})
