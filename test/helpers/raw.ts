/**
 * A raw TCP MQTT client for protocol tests: send hand-built bytes or mqtt-packet-generated packets,
 * read what the broker sends with mqtt-packet's parser, and observe when the broker closes.
 *
 *   const raw = await RawClient.open(port, {version: 5})
 *   const connack = await raw.connect({clientId: 'x'})
 *   raw.send([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f])      // hand-built bytes
 *   await raw.waitClosed()
 */
import {EventEmitter} from 'node:events'
import net from 'node:net'
import type {Duplex} from 'node:stream'
import {generate, parser as createParser, type IConnackPacket, type IConnectPacket, type Packet} from 'mqtt-packet'
import {track, type Version} from './mqtt.js'

export type {Packet} from 'mqtt-packet'

export interface RawOptions {
  /** Protocol version used to generate and parse packets (default 4 = MQTT 3.1.1). */
  version?: Version
  host?: string
}

export class RawClient extends EventEmitter {
  /** A TCP socket (open()), or one end of an in-memory pair (over(), see wire.ts). */
  readonly socket: Duplex
  readonly version: Version
  /** Every packet received, in order. */
  readonly packets: Packet[] = []
  /** Every byte received, in order. */
  bytes: Buffer = Buffer.alloc(0)
  /** Set when the broker sent bytes mqtt-packet could not parse. */
  parseError?: Error
  isClosed = false
  readonly closed: Promise<void>
  #consumed = new Set<Packet>()

  private constructor(socket: Duplex, version: Version) {
    super()
    this.setMaxListeners(0)
    this.socket = socket
    this.version = version
    const parser = createParser({protocolVersion: version})
    parser.on('packet', (packet: Packet) => {
      this.packets.push(packet)
      this.emit('packet', packet)
    })
    parser.on('error', (error: Error) => {
      this.parseError = error
    })
    socket.on('data', (chunk: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, chunk])
      parser.parse(chunk)
    })
    socket.on('error', () => {
      // ECONNRESET / EPIPE: the broker closing on us is what many tests expect.
    })
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosed = true
        this.emit('closed')
        resolve()
      })
    })
  }

  /** Opens a TCP connection (no MQTT yet); tracked for closeAll(). */
  static async open(port: number, options: RawOptions = {}): Promise<RawClient> {
    const socket = net.connect({host: options.host ?? '127.0.0.1', port})
    socket.setNoDelay(true)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const client = new RawClient(socket, options.version ?? 4)
    track({close: async () => client.destroy()})
    return client
  }

  /** A client on any Duplex carrying the broker's bytes (an in-memory pair: test/helpers/wire.ts); tracked for closeAll(). */
  static over(socket: Duplex, options: RawOptions = {}): RawClient {
    const client = new RawClient(socket, options.version ?? 4)
    track({close: async () => client.destroy()})
    return client
  }

  /** Writes raw bytes (ignored once the socket is gone). */
  send(bytes: Buffer | Uint8Array | number[]): void {
    if (this.socket.destroyed || this.socket.writableEnded) return
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes as number[]))
  }

  /** Encodes a packet with mqtt-packet for this client's protocol version and writes it. */
  sendPacket(packet: Packet | Record<string, unknown>): void {
    this.send(encode(packet, this.version))
  }

  /** The CONNECT packet object this client would send (version-correct protocol name and level). */
  connectPacket(fields: Partial<IConnectPacket> = {}): IConnectPacket {
    return {
      cmd: 'connect',
      protocolId: this.version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: this.version,
      clean: true,
      keepalive: 60,
      clientId: `raw-${Math.floor(Math.random() * 1e9)}`,
      ...fields,
    }
  }

  /** Sends CONNECT and returns the CONNACK (whatever its code). */
  async connect(fields: Partial<IConnectPacket> = {}, timeoutMs = 5000): Promise<IConnackPacket> {
    this.sendPacket(this.connectPacket(fields))
    return (await this.next('connack', timeoutMs)) as IConnackPacket
  }

  /**
   * The next not-yet-returned packet (of `cmd` when given, leaving others for later calls).
   * Rejects when the connection closes first or after timeoutMs.
   */
  next(cmd?: Packet['cmd'], timeoutMs = 5000): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const take = (): boolean => {
        const found = this.packets.find((p) => !this.#consumed.has(p) && (cmd === undefined || p.cmd === cmd))
        if (!found) return false
        this.#consumed.add(found)
        cleanup()
        resolve(found)
        return true
      }
      const onClosed = () => {
        if (take()) return
        cleanup()
        reject(new Error(`connection closed while waiting for ${cmd ?? 'a packet'} (received: ${this.describe()})`))
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${cmd ?? 'a packet'} (received: ${this.describe()})`))
      }, timeoutMs)
      const onPacket = () => void take()
      const cleanup = () => {
        clearTimeout(timer)
        this.off('packet', onPacket)
        this.off('closed', onClosed)
      }
      if (take()) return
      if (this.isClosed) return onClosed()
      this.on('packet', onPacket)
      this.on('closed', onClosed)
    })
  }

  /** Resolves when the broker (or anyone) closed the connection; rejects after timeoutMs. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        this.closed,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`connection still open after ${timeoutMs} ms (received: ${this.describe()})`)),
            timeoutMs,
          )
        }),
      ])
    } finally {
      clearTimeout(timer)
    }
  }

  /** PINGREQ → PINGRESP round trip. */
  async ping(timeoutMs = 5000): Promise<void> {
    this.sendPacket({cmd: 'pingreq'})
    await this.next('pingresp', timeoutMs)
  }

  /** Packets received and not yet returned by next() (of `cmd` when given), in order. */
  unread(cmd?: Packet['cmd']): Packet[] {
    return this.packets.filter((p) => !this.#consumed.has(p) && (cmd === undefined || p.cmd === cmd))
  }

  /** Received packets of one type. */
  received(cmd: Packet['cmd']): Packet[] {
    return this.packets.filter((p) => p.cmd === cmd)
  }

  /** Short summary of what arrived, for failure messages. */
  describe(): string {
    const list = this.packets.map((p) => {
      const code = (p as {reasonCode?: number; returnCode?: number}).reasonCode ?? (p as {returnCode?: number}).returnCode
      return code === undefined ? p.cmd : `${p.cmd}(0x${code.toString(16)})`
    })
    return `[${list.join(', ')}]${this.isClosed ? ' then closed' : ''}${this.parseError ? ` parse error: ${this.parseError.message}` : ''}`
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** A CONNACK/PUBACK/SUBACK/DISCONNECT's code, whichever field the parser used (returnCode in 3.1.1). */
export function codeOf(packet: Packet | undefined): number | undefined {
  if (!packet) return undefined
  const p = packet as {reasonCode?: number; returnCode?: number}
  return p.reasonCode ?? p.returnCode
}

/** mqtt-packet generate() with the right protocol version. */
export function encode(packet: Packet | Record<string, unknown>, version: Version = 4): Buffer {
  return generate(packet as Packet, {protocolVersion: version})
}

/** MQTT variable byte integer (remaining length) encoding. */
export function varint(n: number): number[] {
  const out: number[] = []
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return out
}

/** MQTT UTF-8 string: 2-byte length then bytes (given as a string or raw bytes). */
export function mqttString(value: string | number[] | Buffer): number[] {
  const bytes = typeof value === 'string' ? [...Buffer.from(value, 'utf8')] : [...value]
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes]
}

/** A fixed header plus body: [firstByte, ...remainingLength, ...body]. */
export function frame(firstByte: number, body: number[]): Buffer {
  return Buffer.from([firstByte, ...varint(body.length), ...body])
}

/**
 * A hand-built CONNECT: protocol name and level, connect flags byte and payload fields as given.
 * `properties` (MQTT 5 only) is the already-encoded property block including its length.
 */
export function rawConnect(options: {
  name?: string
  level?: number
  flags?: number
  keepalive?: number
  properties?: number[]
  payload?: number[]
}): Buffer {
  const {name = 'MQTT', level = 4, flags = 0x02, keepalive = 60, properties, payload = mqttString('raw')} = options
  const body = [
    ...mqttString(name),
    level,
    flags,
    keepalive >> 8,
    keepalive & 0xff,
    ...(properties ?? (level === 5 ? [0] : [])),
    ...payload,
  ]
  return frame(0x10, body)
}

/** Mulberry32: a tiny seeded PRNG for reproducible fuzzing. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
