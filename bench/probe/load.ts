/**
 * Raw-socket load clients for the throughput probe: pre-encoded MQTT 3.1.1 frames, a minimal frame
 * counter (no full parse), publishers that flood with socket backpressure or keep N QoS 1 in flight.
 */
import net from 'node:net'
import mqtt from 'mqtt-packet'

let ids = 0

export class Client {
  readonly socket: net.Socket
  /** PUBLISH frames received. */
  received = 0
  /** PUBACKs received (publisher side). */
  acked = 0
  #rx: Buffer | undefined
  #ackQos1: boolean
  #onAck: (() => void) | undefined
  #waiters: Array<{type: number; resolve: () => void}> = []

  private constructor(socket: net.Socket, ackQos1: boolean) {
    this.socket = socket
    this.#ackQos1 = ackQos1
    socket.setNoDelay(true)
    socket.on('data', (d: Buffer) => this.#data(d))
    socket.on('error', () => {})
  }

  static async open(port: number, options: {ackQos1?: boolean} = {}): Promise<Client> {
    const socket = net.connect({port, host: '127.0.0.1'})
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const c = new Client(socket, options.ackQos1 ?? false)
    const connack = c.#wait(2)
    socket.write(mqtt.generate({cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `probe-${process.pid}-${ids++}`, keepalive: 0}))
    await connack
    return c
  }

  async subscribe(topic: string, qos: 0 | 1): Promise<void> {
    const suback = this.#wait(9)
    this.socket.write(mqtt.generate({cmd: 'subscribe', messageId: 1, subscriptions: [{topic, qos}]}))
    await suback
  }

  onAck(fn: () => void): void {
    this.#onAck = fn
  }

  #wait(type: number): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({type, resolve}))
  }

  #data(chunk: Buffer): void {
    let buf = this.#rx === undefined ? chunk : Buffer.concat([this.#rx, chunk])
    this.#rx = undefined
    let off = 0
    let acks: Buffer[] | undefined
    while (off < buf.length) {
      let len = 0
      let mul = 1
      let i = off + 1
      let done = false
      while (i < buf.length && i - off <= 4) {
        const b = buf[i++]
        len += (b & 0x7f) * mul
        mul *= 128
        if (b < 0x80) {
          done = true
          break
        }
      }
      if (!done || buf.length - i < len) break
      const type = buf[off] >> 4
      if (type === 3) {
        this.received++
        if (this.#ackQos1 && ((buf[off] >> 1) & 3) === 1) {
          const tl = buf.readUInt16BE(i)
          const ack = Buffer.allocUnsafe(4)
          ack[0] = 0x40
          ack[1] = 2
          ack[2] = buf[i + 2 + tl]
          ack[3] = buf[i + 3 + tl]
          ;(acks ??= []).push(ack)
        }
      } else if (type === 4) {
        this.acked++
        this.#onAck?.()
      } else {
        const w = this.#waiters.findIndex((x) => x.type === type)
        if (w >= 0) this.#waiters.splice(w, 1)[0].resolve()
      }
      off = i + len
    }
    if (off < buf.length) this.#rx = Buffer.from(buf.subarray(off))
    if (acks !== undefined) this.socket.write(acks.length === 1 ? acks[0] : Buffer.concat(acks))
  }

  close(): void {
    this.socket.destroy()
  }
}

export function publishFrame(topic: string, payloadBytes: number, qos: 0 | 1, messageId = 1): Buffer {
  return mqtt.generate({cmd: 'publish', topic, payload: Buffer.alloc(payloadBytes, 0x61), qos, retain: false, dup: false, messageId: qos > 0 ? messageId : undefined})
}

/**
 * Writes `batch` copies of a QoS 0 frame once per event-loop turn while the socket is not backed up,
 * until stop() is called (one write per publisher per turn: the subscribers in this process get to
 * read between writes, so the probe measures the broker rather than its own write loop).
 */
export function flood(c: Client, frame: Buffer, batch = 64): {stop(): void} {
  const chunk = Buffer.concat(Array.from({length: batch}, () => frame))
  let stopped = false
  const pump = (): void => {
    if (stopped) return
    if (c.socket.write(chunk)) setImmediate(pump)
    else c.socket.once('drain', pump)
  }
  pump()
  return {stop: () => (stopped = true)}
}

/** QoS 1 publisher keeping `inflight` messages unacknowledged. */
export function qos1Publisher(c: Client, topic: string, payloadBytes: number, inflight: number): {stop(): void} {
  const base = publishFrame(topic, payloadBytes, 1, 1)
  const idOffset = base.length - payloadBytes - 2
  let nextId = 1
  let stopped = false
  const frame = (): Buffer => {
    const f = Buffer.from(base)
    f.writeUInt16BE(nextId, idOffset)
    nextId = nextId >= 65_535 ? 1 : nextId + 1
    return f
  }
  let pendingAcks = 0
  c.onAck(() => {
    if (stopped) return
    if (pendingAcks++ === 0) setImmediate(refill)
  })
  const refill = (): void => {
    const n = pendingAcks
    pendingAcks = 0
    if (stopped || n === 0) return
    c.socket.write(Buffer.concat(Array.from({length: n}, frame)))
  }
  c.socket.write(Buffer.concat(Array.from({length: inflight}, frame)))
  return {stop: () => (stopped = true)}
}
