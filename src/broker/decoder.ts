/**
 * Client bytes -> packets. The framer reads the fixed header itself, enforces the maximum packet
 * size before buffering a body, and keeps at most one partial frame per connection (`conn.rx`). The
 * partial frame grows geometrically as its bytes actually arrive (never past the declared size), so
 * memory follows the bytes received, not the remaining length a client declares: five bytes
 * declaring 256 MB cost a few KB. Before CONNECT is accepted a frame may not exceed
 * MAX_CONNECT_BYTES (or the maximum packet size when smaller).
 * Complete frames take a hand-written fast path for the hot packets of a connected client (PUBLISH
 * without properties, 2-byte PUBACK/PUBREC/PUBREL/PUBCOMP, PINGREQ); anything else, or anything the
 * fast path is not sure about, goes to the broker's one shared mqtt-packet parser (./parser.ts), so
 * errors and edge cases behave exactly as mqtt-packet (plus our UTF-8 check) decides.
 */
import type {IPublishPacket, Packet} from 'mqtt-packet'
import {FrameParser} from './parser.js'
import {type Violation, forwardedPublishProperties, validateFrame} from './protocol/validate.js'

/** A decoded PUBLISH with its forwardable MQTT 5 properties as raw bytes (undefined: none). */
export type RawPublish = IPublishPacket & {rawProperties?: Buffer}

export interface FrameSink {
  /** Partial frame: header bytes only while rxFill is 0, else the frame's first rxFill bytes. */
  rx: Buffer | undefined
  rxFill: number
  /** Size of the partial frame once its header is known (rx grows towards it), else 0. */
  rxNeed: number
  /** Protocol level of the accepted CONNECT, 0 before. */
  version: number
  /** True once CONNECT was accepted (the fast paths apply only then). */
  readonly connected: boolean
  /** False once the connection is closing: decoding stops. */
  readonly open: boolean
  /**
   * False while closing, or while a CONNECT is being authenticated: decoding stops, and (when still
   * open) the unread rest of the chunk is kept in rx until the sink feeds an empty chunk to go on.
   */
  readonly decoding: boolean
  onPacket(packet: Packet): void
  onParseError(err: Error, cmd: string | undefined, protocolVersion: number): void
  /** A frame mqtt-packet decoded but protocol/validate.ts refused (`protocolVersion`: the connection's, or the CONNECT's). */
  onViolation(v: Violation, cmd: string, protocolVersion: number): void
}

/**
 * Largest frame accepted before CONNECT: a CONNECT (client id, user name, password, will topic and
 * payload, properties) beyond 64 KB is refused and the socket closed. An unauthenticated socket can
 * thus make the broker buffer at most this much; connected clients get limits.maxPacketSize.
 */
export const MAX_CONNECT_BYTES = 64 * 1024
/** First allocation for a partial frame, doubled as bytes arrive. */
const MIN_PARTIAL = 4096

const ACK_CMD = [undefined, undefined, undefined, undefined, 'puback', 'pubrec', 'pubrel', 'pubcomp'] as const
/** Required first byte of each 2-byte ack (PUBREL has flags 0010 [MQTT-3.6.1-1]). */
const ACK_FIRST = [0, 0, 0, 0, 0x40, 0x50, 0x62, 0x70]

export class Decoder {
  readonly #parser = new FrameParser()
  maxPacketSize: number

  constructor(maxPacketSize: number) {
    this.maxPacketSize = maxPacketSize
  }

  /** Feeds one chunk read from the connection's socket. */
  feed(conn: FrameSink, chunk: Buffer): void {
    let buf = chunk
    let off = 0
    const rx = conn.rx
    if (rx !== undefined) {
      if (conn.rxFill === 0) {
        // Only part of a fixed header was buffered (at most 4 bytes): join it to the chunk.
        buf = Buffer.concat([rx, chunk])
        conn.rx = undefined
      } else {
        const need = conn.rxNeed
        const fill = conn.rxFill
        const n = Math.min(need - fill, chunk.length)
        let frame = rx
        if (fill + n > rx.length) {
          // Grow geometrically towards the declared size: copies stay O(frame), memory follows bytes.
          frame = Buffer.allocUnsafe(Math.min(need, Math.max(rx.length * 2, fill + n)))
          rx.copy(frame, 0, 0, fill)
          conn.rx = frame
        }
        chunk.copy(frame, fill, 0, n)
        conn.rxFill = fill + n
        if (conn.rxFill < need) return
        // Complete: frame.length === need (growth never passes it).
        conn.rx = undefined
        conn.rxFill = 0
        conn.rxNeed = 0
        this.#frame(conn, frame, headerLength(frame))
        off = n
      }
    }
    const end = buf.length
    while (off < end && conn.decoding) {
      // Fixed header: type byte + remaining length (1-4 bytes, 7 bits each).
      let length = 0
      let mul = 1
      let i = off + 1
      let done = false
      while (i < end && i - off <= 4) {
        const b = buf[i++]
        length += (b & 0x7f) * mul
        mul *= 128
        if (b < 0x80) {
          done = true
          break
        }
      }
      if (!done) {
        if (i - off > 4) return this.#error(conn, buf[off], new Error('Invalid variable byte integer'))
        conn.rx = Buffer.from(buf.subarray(off)) // a copy: keeps a few bytes, not the whole chunk
        conn.rxFill = 0
        return
      }
      const header = i - off
      const total = header + length
      // Our maximum packet size [MQTT-3.2.2-15] (past it: 0x95, MQTT 5 §4.13), checked before a body is buffered (before CONNECT:
      // at most MAX_CONNECT_BYTES).
      const limit = conn.connected || this.maxPacketSize < MAX_CONNECT_BYTES ? this.maxPacketSize : MAX_CONNECT_BYTES
      if (total > limit) return this.#error(conn, buf[off], new Error(`Packet too large: ${length} bytes`))
      if (end - off < total) {
        const have = end - off
        const partial = Buffer.allocUnsafe(Math.min(total, Math.max(2 * have, MIN_PARTIAL)))
        buf.copy(partial, 0, off, end)
        conn.rx = partial
        conn.rxFill = have
        conn.rxNeed = total
        return
      }
      this.#frame(conn, off === 0 && total === end ? buf : buf.subarray(off, off + total), header)
      off += total
    }
    // Stopped by an authentication in progress: keep the rest (at most one read chunk; the socket is paused).
    if (off < end && conn.open) {
      conn.rx = Buffer.from(buf.subarray(off))
      conn.rxFill = 0
    }
  }

  #frame(conn: FrameSink, frame: Buffer, header: number): void {
    if (conn.connected) {
      const first = frame[0]
      const type = first >> 4
      if (type === 3) {
        const packet = fastPublish(frame, header, first, conn.version === 5)
        if (packet !== undefined) return conn.onPacket(packet)
      } else if (frame.length === 4 && type >= 4 && type <= 7 && first === ACK_FIRST[type] && (frame[2] | frame[3]) !== 0) {
        return conn.onPacket({cmd: ACK_CMD[type]!, messageId: frame.readUInt16BE(2), reasonCode: 0} as Packet)
      } else if (first === 0xc0 && frame.length === 2) {
        return conn.onPacket({cmd: 'pingreq'})
      }
    }
    const r = this.#parser.decode(frame, conn.version)
    if (r.error !== undefined) return conn.onParseError(r.error, r.cmd, r.protocolVersion)
    // mqtt-packet accepts more than a server may (null / -1 values, duplicated properties, lengths
    // that disagree): the frame's own bytes decide before the broker acts on the packet.
    const violation = validateFrame(frame, conn.version)
    if (violation !== undefined) return conn.onViolation(violation, r.packet.cmd, conn.version || ((r.packet as {protocolVersion?: number}).protocolVersion ?? 0))
    const packet = r.packet
    // MQTT 5 PUBLISH properties travel on as the bytes the client sent (user property order [MQTT-3.3.2-18]).
    if (packet.cmd === 'publish' && packet.properties !== undefined && conn.version === 5) {
      ;(packet as RawPublish).rawProperties = forwardedPublishProperties(frame)
    }
    conn.onPacket(packet)
  }

  #error(conn: FrameSink, first: number, err: Error): void {
    conn.rx = undefined
    conn.rxFill = 0
    conn.rxNeed = 0
    conn.onParseError(err, (first >> 4) === 1 ? 'connect' : undefined, 0)
  }
}

function headerLength(frame: Buffer): number {
  let i = 1
  while (frame[i] & 0x80) i++
  return i + 1
}

/** PUBLISH without properties; undefined sends the frame to mqtt-packet (errors, properties, odd cases). */
function fastPublish(frame: Buffer, pos: number, first: number, v5: boolean): Packet | undefined {
  const qos = (first >> 1) & 3
  if (qos === 3) return undefined
  const end = frame.length
  if (end - pos < 2) return undefined
  const topicLength = (frame[pos] << 8) | frame[pos + 1]
  pos += 2
  const topicEnd = pos + topicLength
  if (topicEnd > end) return undefined
  const topic = frame.toString('utf8', pos, topicEnd)
  // A replacement character or U+0000: let mqtt-packet and the strict UTF-8 check decide.
  if (topic.includes('\uFFFD') || topic.includes('\u0000')) return undefined
  pos = topicEnd
  let messageId: number | undefined
  if (qos > 0) {
    if (end - pos < 2) return undefined
    messageId = (frame[pos] << 8) | frame[pos + 1]
    if (messageId === 0) return undefined
    pos += 2
  }
  if (v5) {
    if (pos >= end || frame[pos] !== 0) return undefined // properties: mqtt-packet reads them
    pos++
  }
  return {cmd: 'publish', topic, payload: frame.subarray(pos), qos, retain: (first & 1) === 1, dup: (first & 8) !== 0, messageId} as Packet
}
