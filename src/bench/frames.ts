/**
 * A minimal MQTT frame scanner for the load generator: splits a byte stream into frames by the
 * remaining-length varint and hands each one to a callback, without decoding into objects.
 */

/** Packet types the generator reacts to (upper nibble of the first byte). */
export const T = {
  CONNACK: 2,
  PUBLISH: 3,
  PUBACK: 4,
  PUBREC: 5,
  PUBREL: 6,
  PUBCOMP: 7,
  SUBACK: 9,
  PINGRESP: 13,
  DISCONNECT: 14,
} as const

/** Called per frame with the buffer and the body's [start, end) (after the fixed header). */
export type FrameHandler = (type: number, flags: number, buf: Buffer, start: number, end: number) => void

export class FrameReader {
  #rest: Buffer | null = null

  constructor(private readonly onFrame: FrameHandler) {}

  /** Feeds one chunk; frames cut at the chunk's end are kept for the next call. */
  feed(chunk: Buffer): void {
    let buf = chunk
    if (this.#rest) {
      buf = Buffer.concat([this.#rest, chunk])
      this.#rest = null
    }
    const n = buf.length
    let pos = 0
    while (pos < n) {
      if (pos + 2 > n) break
      const first = buf[pos]
      let len = 0
      let mul = 1
      let i = pos + 1
      let complete = false
      for (let k = 0; k < 4 && i < n; k++, i++) {
        const b = buf[i]
        len += (b & 0x7f) * mul
        mul *= 128
        if ((b & 0x80) === 0) {
          complete = true
          i++
          break
        }
      }
      if (!complete || i + len > n) break
      this.onFrame(first >> 4, first & 0x0f, buf, i, i + len)
      pos = i + len
    }
    if (pos < n) this.#rest = buf.subarray(pos)
  }
}

/** Reads an MQTT variable byte integer at `at`; returns [value, bytes used]. */
export function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0
  let mul = 1
  for (let k = 0; k < 4; k++) {
    const b = buf[at + k]
    value += (b & 0x7f) * mul
    if ((b & 0x80) === 0) return [value, k + 1]
    mul *= 128
  }
  return [value, 4]
}
