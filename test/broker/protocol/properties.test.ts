/**
 * protocol/properties.ts directly: the bounded walk over one MQTT 5 property section (which id is
 * allowed in which packet, duplicates, value rules, lengths running past their bounds), the PUBLISH
 * topic-alias check, and the forwarded PUBLISH properties as the publisher's raw bytes.
 */
import {describe, expect, it} from 'vitest'
import {forwardedPublishProperties, KIND, publishProperties, walkProperties} from '../../../src/broker/protocol/properties.js'
import {Reader} from '../../../src/broker/protocol/reader.js'

const MALFORMED = 0x81
const PROTOCOL = 0x82
const str = (s: string): number[] => [s.length >> 8, s.length & 0xff, ...Buffer.from(s)]
/** A property section (length byte + body) followed by `after` bytes that are not part of it. */
const section = (body: number[], after: number[] = []) => {
  const buf = Buffer.from([body.length, ...body, ...after])
  return new Reader(buf, 0, buf.length)
}
const walk = (kind: number, body: number[], after: number[] = []) => {
  const r = section(body, after)
  return {v: walkProperties(r, kind, 'TEST'), r}
}

describe('walkProperties', () => {
  it('accepts an empty section and a valid one, leaving pos just past it and end restored', () => {
    const e = walk(KIND.Connect, [], [0xaa])
    expect(e.v).toBeUndefined()
    expect([e.r.pos, e.r.end]).toEqual([1, 2])
    const body = [0x11, 0, 0, 0, 60, 0x21, 0, 10, 0x27, 0, 1, 0, 0, 0x26, ...str('k'), ...str('v'), 0x26, ...str('k'), ...str('w')]
    const ok = walk(KIND.Connect, body, [0xbb, 0xcc])
    expect(ok.v).toBeUndefined()
    expect([ok.r.pos, ok.r.end]).toEqual([1 + body.length, body.length + 3])
  })

  it('an id not allowed in this packet is malformed and names it', () => {
    expect(walk(KIND.Connect, [0x23, 0, 1]).v).toEqual({reasonCode: MALFORMED, message: 'TEST: topic alias (0x23) is not allowed here'})
    expect(walk(KIND.Publish, [0x11, 0, 0, 0, 1]).v?.message).toBe('TEST: session expiry interval (0x11) is not allowed here')
    expect(walk(KIND.Will, [0x18, 0, 0, 0, 5]).v).toBeUndefined()
    expect(walk(KIND.Subscribe, [0x0b, 0x05]).v).toBeUndefined()
    expect(walk(KIND.Ack, [0x1f, ...str('why')]).v).toBeUndefined()
  })

  it('unknown ids (server-only, unassigned, past the table, multi-byte) are malformed', () => {
    for (const id of [[0x12], [0x13], [0x00], [0x28], [0x7f], [0x80, 0x01]]) {
      const v = walk(KIND.Connect, [...id, 0, 0]).v
      expect(v?.reasonCode, String(id)).toBe(MALFORMED)
      expect(v?.message).toMatch(/^TEST: unknown property 0x/)
    }
  })

  it('a single-valued property twice is a protocol error, for low and high ids alike; user properties may repeat', () => {
    expect(walk(KIND.Connect, [0x11, 0, 0, 0, 1, 0x11, 0, 0, 0, 2]).v).toEqual({reasonCode: PROTOCOL, message: 'TEST: session expiry interval appears more than once'})
    expect(walk(KIND.Connect, [0x27, 0, 0, 1, 0, 0x27, 0, 0, 1, 0]).v?.message).toBe('TEST: maximum packet size appears more than once')
    expect(walk(KIND.Connect, [0x21, 0, 5, 0x22, 0, 5]).v).toBeUndefined() // neighbours, not the same id
    // 0x01 and 0x21 share a bit position (id & 31): both allowed once each in their own word.
    expect(walk(KIND.Publish | KIND.Connect, [0x01, 1, 0x21, 0, 1]).v).toBeUndefined()
  })

  it('value rules: 0/1 flags, non-zero receive maximum, maximum packet size and subscription identifier', () => {
    expect(walk(KIND.Connect, [0x17, 2]).v).toEqual({reasonCode: PROTOCOL, message: 'TEST: request problem information must be 0 or 1, got 2'})
    expect(walk(KIND.Connect, [0x19, 1]).v).toBeUndefined()
    expect(walk(KIND.Connect, [0x21, 0, 0]).v?.message).toBe('TEST: receive maximum must not be 0')
    expect(walk(KIND.Connect, [0x27, 0, 0, 0, 0]).v?.message).toBe('TEST: maximum packet size must not be 0')
    expect(walk(KIND.Subscribe, [0x0b, 0x00]).v?.message).toBe('TEST: subscription identifier must not be 0')
    expect(walk(KIND.Subscribe, [0x0b, 0xff, 0xff, 0xff, 0x7f]).v).toBeUndefined() // 268,435,455: the largest
  })

  it('lengths past their bounds are malformed: the section past the packet, a value past the section', () => {
    const r = new Reader(Buffer.from([10, 0x01, 1]), 0, 3)
    expect(walkProperties(r, KIND.Publish, 'TEST')).toEqual({reasonCode: MALFORMED, message: 'TEST property length 10 runs past the end of the packet'})
    // one byte longer than what is left, with a byte after the packet's end in the buffer: still refused
    const edge = new Reader(Buffer.from([3, 0x01, 1, 0x01]), 0, 3)
    expect(walkProperties(edge, KIND.Publish, 'TEST')?.message).toBe('TEST property length 3 runs past the end of the packet')
    // int32 cut by the section end although the packet has bytes after it
    expect(walk(KIND.Publish, [0x02, 0, 0], [0, 0]).v?.message).toMatch(/^TEST: .*cut short \(inside the property section\)$/)
    // a string longer than the section
    expect(walk(KIND.Publish, [0x03, 0, 9, 0x61], [0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61, 0x61]).v?.reasonCode).toBe(MALFORMED)
    // a five-byte variable integer as the section length
    const five = new Reader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x01]), 0, 5)
    expect(walkProperties(five, KIND.Publish, 'TEST')?.reasonCode).toBe(MALFORMED)
  })

  it('strings are UTF-8 checked: invalid bytes or U+0000 in a user property name or value are malformed', () => {
    expect(walk(KIND.Publish, [0x03, 0, 2, 0xc3, 0x28]).v?.reasonCode).toBe(MALFORMED)
    expect(walk(KIND.Publish, [0x26, 0, 1, 0, ...str('v')]).v?.reasonCode).toBe(MALFORMED)
    expect(walk(KIND.Publish, [0x26, ...str('k'), 0, 1, 0]).v?.reasonCode).toBe(MALFORMED)
    expect(walk(KIND.Publish, [0x09, 0, 2, 0xc3, 0x28]).v).toBeUndefined() // correlation data is binary
  })
})

/** A v5 PUBLISH frame: fixed header, topic, packet id when qos > 0, property section, payload. */
function publish(props: number[], qos = 0, payload = [0x50]): Buffer {
  const body = [...str('t/1'), ...(qos > 0 ? [0, 7] : []), props.length, ...props, ...payload]
  if (body.length > 127) throw new Error('test frame too long')
  return Buffer.from([0x30 | (qos << 1), body.length, ...body])
}
const propsAt = (frame: Buffer, qos = 0) => new Reader(frame, 2 + 5 + (qos > 0 ? 2 : 0), frame.length)

describe('publishProperties', () => {
  it('topic alias 0 is 0x94; 1 and 65535 pass; no alias passes', () => {
    expect(publishProperties(propsAt(publish([0x23, 0, 0])))).toEqual({reasonCode: 0x94, message: 'topic alias 0'})
    expect(publishProperties(propsAt(publish([0x23, 0, 1])))).toBeUndefined()
    expect(publishProperties(propsAt(publish([0x26, ...str('a'), ...str('b'), 0x23, 0xff, 0xff])))).toBeUndefined()
    expect(publishProperties(propsAt(publish([0x01, 1])))).toBeUndefined()
  })

  it('a subscription identifier from a client is malformed [MQTT-3.3.4-6]', () => {
    expect(publishProperties(propsAt(publish([0x0b, 1])))?.reasonCode).toBe(MALFORMED)
  })
})

describe('forwardedPublishProperties', () => {
  it('keeps payload format, content type, response topic, correlation data and user properties byte for byte, in order', () => {
    const kept = [0x26, ...str('z'), ...str('1'), 0x01, 1, 0x03, ...str('ct'), 0x08, ...str('r/t'), 0x09, 0, 2, 9, 8, 0x26, ...str('a'), ...str('2')]
    expect(forwardedPublishProperties(publish(kept))).toEqual(Buffer.from(kept))
  })

  it('drops topic alias and message expiry wherever they are, joining the runs around them', () => {
    const frame = publish([0x02, 0, 0, 0, 9, 0x01, 0, 0x23, 0, 3, 0x26, ...str('k'), ...str('v')], 1)
    expect(forwardedPublishProperties(frame)).toEqual(Buffer.from([0x01, 0, 0x26, ...str('k'), ...str('v')]))
  })

  it('nothing to forward (no section, only alias/expiry) is undefined', () => {
    expect(forwardedPublishProperties(publish([]))).toBeUndefined()
    expect(forwardedPublishProperties(publish([0x23, 0, 1, 0x02, 0, 0, 0, 5], 2))).toBeUndefined()
  })

  it('returns a copy: changing the frame afterwards does not change it', () => {
    const frame = publish([0x01, 1])
    const out = forwardedPublishProperties(frame)!
    frame.fill(0)
    expect(out).toEqual(Buffer.from([0x01, 1]))
  })
})
