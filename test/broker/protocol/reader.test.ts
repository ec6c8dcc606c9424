/**
 * protocol/reader.ts: the bounded reader validation walks client frames with. Every read past the
 * frame's end fails with a line naming the field, and nothing is read beyond `end`.
 */
import {describe, expect, it} from 'vitest'
import {headerLength, malformed, protocol, Reader} from '../../../src/broker/protocol/reader.js'
import {RC} from '../../../src/broker/protocol/reason-codes.js'

const reader = (bytes: number[], pos = 0, end = bytes.length) => new Reader(Buffer.from(bytes), pos, end)

describe('Reader', () => {
  it('reads bytes, u16, u32 and length-prefixed fields big-endian, and counts what is left', () => {
    const r = reader([0x07, 0x01, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x02, 0x68, 0x69])
    expect(r.byte('b')).toBe(7)
    expect(r.u16('u')).toBe(0x0102)
    expect(r.u32('w')).toBe(0x100)
    expect(r.left).toBe(4)
    expect(r.string('s')).toBe(true)
    expect(r.left).toBe(0)
    expect(r.bad).toBeUndefined()
  })

  it('a read past the end fails once, names the field, and moves to the end (the first failure is kept)', () => {
    const r = reader([0x00, 0x05, 0x61], 0, 3)
    expect(r.binary('topic')).toBe(-1)
    expect(r.bad).toBe('topic length 5 runs past the end')
    expect(r.pos).toBe(3)
    expect(r.u16('packet id')).toBe(-1)
    expect(r.bad).toBe('topic length 5 runs past the end')
    expect(r.malformed).toEqual({reasonCode: RC.MALFORMED_PACKET, message: 'topic length 5 runs past the end'})
  })

  it('stops at `end`, not at the buffer: bytes after the frame are never read', () => {
    const r = reader([0x01, 0x02, 0x03, 0x04], 0, 2)
    expect(r.u16('id')).toBe(0x0102)
    expect(r.byte('next')).toBe(-1)
    expect(r.bad).toBe('next cut short')
    const w = reader([0x01, 0x02, 0x03, 0x04], 1, 4)
    expect(w.u32('four')).toBe(-1)
    expect(w.bad).toBe('four cut short')
  })

  it('variable byte integers: 1 to 4 bytes, the largest 268,435,455; a fifth byte or a cut one fails', () => {
    expect(reader([0x00]).varint('v')).toBe(0)
    expect(reader([0x7f]).varint('v')).toBe(127)
    expect(reader([0x80, 0x01]).varint('v')).toBe(128)
    expect(reader([0xff, 0xff, 0xff, 0x7f]).varint('v')).toBe(268_435_455)
    // Not minimal, still allowed (MQTT 5 §1.5.5 does not require the shortest form).
    expect(reader([0x80, 0x00]).varint('v')).toBe(0)
    const five = reader([0xff, 0xff, 0xff, 0xff, 0x01])
    expect(five.varint('property length')).toBe(-1)
    expect(five.bad).toBe('property length: variable byte integer longer than 4 bytes')
    const cut = reader([0x80])
    expect(cut.varint('remaining length')).toBe(-1)
    expect(cut.bad).toBe('remaining length cut short')
  })

  it('strings: well-formed UTF-8 without U+0000, else a failure naming the field', () => {
    expect(reader([0x00, 0x02, 0xc3, 0xa9]).string('client id')).toBe(true)
    const nul = reader([0x00, 0x01, 0x00])
    expect(nul.string('topic')).toBe(false)
    expect(nul.bad).toBe('topic is not valid UTF-8')
    const broken = reader([0x00, 0x02, 0xc3, 0x28])
    expect(broken.string('user name')).toBe(false)
    expect(broken.bad).toBe('user name is not valid UTF-8')
    const surrogate = reader([0x00, 0x03, 0xed, 0xa0, 0x80])
    expect(surrogate.string('s')).toBe(false)
  })
})

describe('headerLength and violations', () => {
  it('headerLength: type byte plus 1 to 4 remaining-length bytes', () => {
    expect(headerLength(Buffer.from([0x30, 0x00]))).toBe(2)
    expect(headerLength(Buffer.from([0x30, 0x80, 0x01]))).toBe(3)
    expect(headerLength(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toBe(5)
  })

  it('malformed and protocol carry the MQTT 5 reason codes', () => {
    expect(malformed('x')).toEqual({reasonCode: 0x81, message: 'x'})
    expect(protocol('y')).toEqual({reasonCode: 0x82, message: 'y'})
  })
})
