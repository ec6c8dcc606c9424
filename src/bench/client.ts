/**
 * One generator connection on a raw socket: CONNECT/SUBSCRIBE from pre-encoded bytes, batched
 * PUBLISH writes that respect socket backpressure and the QoS 1/2 in-flight window, and a frame
 * scanner for what comes back (acks are answered in one write per received chunk).
 */
import net from 'node:net'
import tls from 'node:tls'
import {FrameReader, T, readVarint} from './frames.js'
import type {BenchOptions} from './options.js'
import {ack, connectPacket, nowMicros, publishTemplate, subscribePacket, type PublishTemplate} from './packets.js'

/** What a client reports to its runner. */
export interface ClientSink {
  /** A PUBLISH arrived: payload is buf[start, end). `now` is sampled once per received chunk. */
  delivered(client: BenchClient, buf: Buffer, start: number, end: number, now: number): void
  /** An acknowledgement freed in-flight room, or the socket drained. */
  ready(client: BenchClient): void
  failed(client: BenchClient, error: Error): void
}

/** CONNACK return codes (MQTT 3.1/3.1.1) and reason codes (MQTT 5): why a connection was refused. */
export const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client id rejected',
  3: 'server unavailable, e.g. at its connection limit',
  4: 'bad user name or password',
  5: 'not authorized',
  0x80: 'unspecified error',
  0x84: 'unsupported protocol version',
  0x85: 'client id not valid',
  0x86: 'bad user name or password',
  0x87: 'not authorized',
  0x88: 'server unavailable',
  0x89: 'server busy',
  0x8a: 'banned',
  0x97: 'quota exceeded, e.g. the connection limit',
  0x9f: 'connection rate exceeded',
}

export class BenchClient {
  socket!: net.Socket
  connected = false
  closed = false
  /** Messages written by this publisher, and fully acknowledged (QoS > 0). */
  sent = 0
  acked = 0
  inflight = 0
  /** Waiting for 'drain'. */
  blocked = false
  /** Messages this publisher is still allowed to send (count limit); Infinity without --count. */
  quota = Infinity
  /** Messages due under --rate but not yet written. */
  credit = 0
  /** false: CONNECT with clean session 0 (a persistent subscriber). */
  clean = true
  /** MQTT 5: the broker's Receive Maximum from CONNACK (caps QoS 1/2 in flight). */
  receiveMaximum = 65_535
  #tpl?: PublishTemplate
  #pid = 0
  #reader: FrameReader
  #lastError?: Error
  #pending?: {resolve: () => void; reject: (e: Error) => void; type: number}

  constructor(
    readonly index: number,
    readonly o: BenchOptions,
    private readonly sink: ClientSink,
    readonly clientId: string,
  ) {
    this.#reader = new FrameReader((type, flags, buf, start, end) => this.#frame(type, flags, buf, start, end))
  }

  /** Opens the socket and completes CONNECT/CONNACK. */
  connect(localAddress?: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const o = this.o
      const timer = setTimeout(() => fail(new Error('connect timeout')), o.connectTimeout * 1000)
      const fail = (e: Error) => {
        clearTimeout(timer)
        this.#pending = undefined
        this.close()
        reject(e)
      }
      const base = {host: o.host, port: o.port, localAddress}
      const sock = o.tls
        ? tls.connect({...base, ca: o.ca, cert: o.cert, key: o.key, rejectUnauthorized: !o.insecure, servername: net.isIP(o.host) ? undefined : o.host})
        : net.connect(base)
      this.socket = sock
      sock.setNoDelay(true)
      sock.on('data', (chunk: Buffer) => this.#data(chunk))
      sock.on('drain', () => {
        this.blocked = false
        this.sink.ready(this)
      })
      sock.on('error', (e) => {
        this.#lastError = e
        this.#pending?.reject(e)
      })
      sock.on('close', () => {
        const was = this.connected && !this.closed
        this.closed = true
        this.connected = false
        if (this.#pending) this.#pending.reject(this.#lastError ?? new Error('connection closed'))
        else if (was) this.sink.failed(this, this.#lastError ?? new Error('connection closed by broker'))
      })
      this.#pending = {
        type: T.CONNACK,
        resolve: () => {
          clearTimeout(timer)
          this.connected = true
          resolve()
        },
        reject: fail,
      }
      sock.once(o.tls ? 'secureConnect' : 'connect', () => sock.write(connectPacket(o, this.clientId, this.clean)))
    })
  }

  /** SUBSCRIBE and wait for a successful SUBACK. */
  subscribe(filter: string, qos: 0 | 1 | 2): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error('subscribe timeout')), this.o.connectTimeout * 1000)
      const done = (e?: Error) => {
        clearTimeout(timer)
        this.#pending = undefined
        if (e) reject(e)
        else resolve()
      }
      this.#pending = {type: T.SUBACK, resolve: () => done(), reject: (e) => done(e)}
      this.socket.write(subscribePacket(this.o, filter, qos))
    })
  }

  /** Prepares the pre-encoded PUBLISH for this publisher's topic. */
  usePublish(topic: string, qos: 0 | 1 | 2 = this.o.qos): void {
    this.#tpl = publishTemplate(this.o, topic, this.o.batch, qos)
  }

  /** How many messages could be written now (in-flight window, quota, backpressure). */
  room(): number {
    if (this.blocked || !this.connected) return 0
    const q = this.#tpl!.pidOffset >= 0 ? Math.min(this.o.inflight, this.receiveMaximum) - this.inflight : this.o.batch
    return Math.max(0, Math.min(q, this.o.batch, this.quota))
  }

  /** Writes n (≤ batch) messages in one write, stamped with now and consecutive sequence numbers. */
  publish(n: number, seq = 0): void {
    const tpl = this.#tpl!
    const len = tpl.frame.length
    const buf = Buffer.allocUnsafe(n * len)
    tpl.repeated.copy(buf, 0, 0, n * len)
    const now = nowMicros()
    for (let k = 0, at = 0; k < n; k++, at += len) {
      buf.writeDoubleLE(now, at + tpl.payloadOffset)
      buf.writeUInt32LE((seq + k) >>> 0, at + tpl.payloadOffset + 8)
      if (tpl.pidOffset >= 0) {
        this.#pid = this.#pid >= 65_535 ? 1 : this.#pid + 1
        buf.writeUInt16BE(this.#pid, at + tpl.pidOffset)
      }
    }
    if (tpl.pidOffset >= 0) this.inflight += n
    this.sent += n
    this.quota -= n
    if (!this.socket.write(buf)) this.blocked = true
  }

  write(buf: Buffer): void {
    if (this.connected) this.socket.write(buf)
  }

  close(): void {
    this.closed = true
    this.connected = false
    this.socket?.destroy()
  }

  #data(chunk: Buffer): void {
    this.#now = 0
    this.#acks = 0
    this.#reader.feed(chunk)
    if (this.#acks > 0) {
      this.socket.write(this.#ackBuf.subarray(0, this.#acks * 4))
      this.#ackBuf = Buffer.allocUnsafe(this.#ackBuf.length)
    }
  }

  #now = 0
  #acks = 0
  #ackBuf = Buffer.allocUnsafe(4096)

  #queueAck(type: 0x40 | 0x50 | 0x62 | 0x70, pid: number): void {
    if ((this.#acks + 1) * 4 > this.#ackBuf.length) {
      const bigger = Buffer.allocUnsafe(this.#ackBuf.length * 2)
      this.#ackBuf.copy(bigger)
      this.#ackBuf = bigger
    }
    ack(type, pid, this.#ackBuf, this.#acks * 4)
    this.#acks++
  }

  #frame(type: number, flags: number, buf: Buffer, start: number, end: number): void {
    switch (type) {
      case T.PUBLISH: {
        const qos = (flags >> 1) & 3
        let at = start + 2 + buf.readUInt16BE(start)
        let pid = 0
        if (qos > 0) {
          pid = buf.readUInt16BE(at)
          at += 2
        }
        if (this.o.protocol === 5) {
          const [plen, used] = readVarint(buf, at)
          at += used + plen
        }
        if (this.#now === 0) this.#now = nowMicros()
        this.sink.delivered(this, buf, at, end, this.#now)
        if (qos === 1) this.#queueAck(0x40, pid)
        else if (qos === 2) this.#queueAck(0x50, pid)
        return
      }
      case T.PUBACK:
      case T.PUBCOMP:
        this.inflight--
        this.acked++
        this.sink.ready(this)
        return
      case T.PUBREC:
        this.#queueAck(0x62, buf.readUInt16BE(start))
        return
      case T.PUBREL:
        this.#queueAck(0x70, buf.readUInt16BE(start))
        return
      case T.CONNACK: {
        const code = buf[start + 1]
        if (this.o.protocol === 5 && end > start + 2) this.receiveMaximum = receiveMaximum(buf, start + 2, end)
        const p = this.#pending
        if (p?.type !== T.CONNACK) return
        if (code === 0) p.resolve()
        else p.reject(new Error(`CONNACK refused (code ${code}${CONNACK_REASONS[code] ? `: ${CONNACK_REASONS[code]}` : ''})`))
        return
      }
      case T.SUBACK: {
        const p = this.#pending
        if (p?.type !== T.SUBACK) return
        let at = start + 2
        if (this.o.protocol === 5) {
          const [plen, used] = readVarint(buf, at)
          at += used + plen
        }
        if (buf[at] >= 0x80) p.reject(new Error(`SUBACK refused (code ${buf[at]})`))
        else p.resolve()
        return
      }
      case T.DISCONNECT:
        this.sink.failed(this, new Error(`DISCONNECT from broker (reason ${end > start ? buf[start] : 0})`))
        return
    }
  }
}

/** Receive Maximum (property 0x21) from CONNACK properties at buf[at…end), default 65,535. */
function receiveMaximum(buf: Buffer, at: number, end: number): number {
  const [len, used] = readVarint(buf, at)
  let p = at + used
  const stop = Math.min(end, p + len)
  const size: Record<number, number> = {0x24: 1, 0x25: 1, 0x28: 1, 0x29: 1, 0x2a: 1, 0x21: 2, 0x22: 2, 0x13: 2, 0x11: 4, 0x27: 4}
  while (p < stop) {
    const id = buf[p++]
    if (id === 0x21) return buf.readUInt16BE(p) || 65_535
    if (size[id]) p += size[id]
    else if (id === 0x26) p += 2 + buf.readUInt16BE(p) + 2 + buf.readUInt16BE(p + 2 + buf.readUInt16BE(p))
    else p += 2 + buf.readUInt16BE(p) // strings and binary data
  }
  return 65_535
}
