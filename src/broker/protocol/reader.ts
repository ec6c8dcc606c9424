/**
 * A bounded reader over one client frame's bytes, for validation (validate.ts, properties.ts): every
 * read fails (sets `bad`) rather than run past `end`, and a violation is the MQTT 5 reason code it
 * calls for with one line saying why.
 */
import {RC} from './reason-codes.js'
import {isValidUtf8} from './topics.js'

export interface Violation {
  /** MQTT 5 reason code: 0x81 malformed, 0x82 protocol error, 0x94 topic alias invalid. */
  reasonCode: number
  message: string
}

export const malformed = (message: string): Violation => ({reasonCode: RC.MALFORMED_PACKET, message})
export const protocol = (message: string): Violation => ({reasonCode: RC.PROTOCOL_ERROR, message})

/** Fixed-header length of a complete frame (type byte + remaining length, at most 4 bytes). */
export function headerLength(frame: Buffer): number {
  let i = 1
  while (i < frame.length && frame[i] & 0x80 && i < 5) i++
  return i + 1
}

export class Reader {
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

  /** The failure so far as a malformed-packet violation (call after a read that returned its failure value). */
  get malformed(): Violation {
    return malformed(this.bad ?? 'malformed')
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

  /** A length-prefixed binary field: its start offset, or -1. */
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
