/**
 * One client socket: its partial inbound frame (decoded by the broker's shared Decoder), keep-alive
 * bookkeeping, and the outbound buffer that the broker flushes once per event-loop turn (one write
 * per connection per turn, backpressure via 'drain'). Socket listeners are shared functions (no
 * per-connection closures, no per-connection parser); session state lives in the Store, not here.
 */
import type {Socket} from 'node:net'
import type {Packet} from 'mqtt-packet'
import type {BrokerImpl} from './broker.js'
import {dispatch} from './dispatch.js'
import {encodePacket} from './encode.js'
import type {FrameSink} from './decoder.js'
import {parserErrorCode} from './protocol/errors.js'
import {RC, V3_CONNACK} from './protocol/reason-codes.js'
import type {SessionRecord, WillRecord} from './persistence/store.js'
import type {Timed} from './timers.js'

export const enum ConnState {
  Connecting = 0,
  Connected = 1,
  Closed = 2,
}

const kConn = Symbol('connection')
type OwnedSocket = Socket & {[kConn]?: Connection}

function onData(this: OwnedSocket, chunk: Buffer): void {
  this[kConn]?.onData(chunk)
}
function onDrain(this: OwnedSocket): void {
  this[kConn]?.onDrain()
}
function onSocketError(this: OwnedSocket, err: NodeJS.ErrnoException): void {
  this[kConn]?.onSocketError(err)
}
function onSocketClose(this: OwnedSocket): void {
  const conn = this[kConn]
  this[kConn] = undefined
  conn?.onClose()
}

/** Seconds a closing socket may linger before it is destroyed. */
const CLOSE_GRACE_MS = 2000

/**
 * Bytes one connection may feed in before the next flush: past it, its socket is paused until the
 * broker's once-per-turn flush (libuv reads a busy socket up to 32 x 64 KB per poll, so without it a
 * few flooding publishers make a turn so long that subscribers' sockets are written rarely).
 */
const READ_BUDGET = 64 * 1024

/**
 * Why reading is paused (bit mask): the per-turn read budget, queued broadcasts (fanout.ts), or the
 * client not reading what we write: past limits.maxQueuedBytes unsent, its bytes are not read (so it
 * cannot make us queue more acks / PINGRESP / SUBACK) until the socket drains.
 */
export const enum Paused {
  Budget = 1,
  Fanout = 2,
  Backpressure = 4,
}

export class Connection implements FrameSink, Timed {
  deadline = 0
  bucket = 0
  state = ConnState.Connecting
  /** Protocol level of the accepted CONNECT (3, 4 or 5); 0 before. */
  version = 0
  clientId = ''
  session: SessionRecord | undefined
  /** 1.5 x keep alive in ms; 0 = no keep alive. */
  keepAliveMs = 0
  lastActivity: number
  will: WillRecord | undefined
  /** Client's receive maximum: our QoS 1/2 messages in flight towards it. */
  sendMax = 65_535
  /** Client's maximum packet size. */
  maxOut = 268_435_455
  /** Topic aliases the client accepts from us, and those we assigned. */
  aliasMaxOut = 0
  aliasesOut: Map<string, number> | undefined
  /** Topic aliases the client set up towards us. */
  aliasesIn: Map<number, string> | undefined
  /** Set by DISCONNECT 0x00 (no will), or on take-over bookkeeping. */
  normalDisconnect = false
  /** Buffers written this turn, flushed by the broker in one write. */
  out: Buffer[] | undefined
  outBytes = 0
  dirty = false
  /** Read budget accounting: the broker turn it was last reset in, bytes read since. */
  rxTurn = 0
  rxBytes = 0
  /** Paused bits; the socket reads again when all are cleared. */
  paused = 0
  /** Partial inbound frame, see decoder.ts. */
  rx: Buffer | undefined = undefined
  rxFill = 0
  rxNeed = 0
  readonly socket: OwnedSocket
  readonly broker: BrokerImpl

  constructor(broker: BrokerImpl, socket: Socket) {
    this.broker = broker
    this.socket = socket as OwnedSocket
    this.lastActivity = Date.now()
    this.socket[kConn] = this
    // No setNoDelay here: the listener creates sockets with noDelay already.
    socket.on('data', onData)
    socket.on('drain', onDrain)
    socket.on('error', onSocketError)
    socket.on('close', onSocketClose)
  }

  get connected(): boolean {
    return this.state === ConnState.Connected
  }

  get open(): boolean {
    return this.state !== ConnState.Closed
  }

  get v5(): boolean {
    return this.version === 5
  }

  onData(chunk: Buffer): void {
    if (this.state === ConnState.Closed) return
    const broker = this.broker
    broker.stats.bytesReceived += chunk.length
    this.lastActivity = Date.now()
    if (this.rxTurn !== broker.turn) {
      this.rxTurn = broker.turn
      this.rxBytes = 0
    }
    this.rxBytes += chunk.length
    try {
      broker.decoder.feed(this, chunk)
      if (this.rxBytes >= READ_BUDGET && this.open) broker.pauseForTurn(this)
    } catch (err) {
      // The broker must never crash on client bytes [issue]: whatever escaped is this client's problem.
      this.broker.logger.error(`Internal error on client ${this.clientId || this.remote}: ${(err as Error).stack ?? err}`)
      this.fail(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error')
    }
  }

  pauseReading(reason: Paused): void {
    if (this.paused === 0) this.socket.pause()
    this.paused |= reason
  }

  resumeReading(reason: Paused): void {
    if (this.paused === 0) return
    this.paused &= ~reason
    if (this.paused === 0 && this.state !== ConnState.Closed) this.socket.resume()
  }

  onPacket(packet: Packet): void {
    if (this.state === ConnState.Closed) return
    this.broker.stats.packetsReceived++
    dispatch(this, packet)
  }

  onParseError(err: Error, cmd: string | undefined, protocolVersion: number): void {
    if (this.state === ConnState.Closed) return
    const reason = parserErrorCode(err.message)
    this.broker.stats.protocolErrors++
    this.broker.logDebug(() => `Client ${this.clientId || this.remote}: ${err.message}`)
    if (this.state === ConnState.Connecting) {
      // A CONNECT we could not read: answer in the client's version when it got that far.
      if (cmd === 'connect' && protocolVersion === 5) {
        this.sendPacket({cmd: 'connack', sessionPresent: false, reasonCode: reason}, 5)
      } else if (reason === RC.UNSUPPORTED_PROTOCOL_VERSION) {
        this.sendPacket({cmd: 'connack', sessionPresent: false, returnCode: V3_CONNACK.UNACCEPTABLE_PROTOCOL_VERSION}, 4)
      }
      this.end()
      return
    }
    this.fail(reason, err.message)
  }

  onDrain(): void {
    if (this.paused & Paused.Backpressure) this.resumeReading(Paused.Backpressure)
    if (this.state === ConnState.Connected) this.broker.outbound.pull(this)
  }

  onSocketError(err: NodeJS.ErrnoException): void {
    this.broker.logDebug(() => `Socket error on ${this.clientId || this.remote}: ${err.code ?? err.message}`)
  }

  onClose(): void {
    const prev = this.state
    this.state = ConnState.Closed
    this.rx = undefined
    this.out = undefined
    this.outBytes = 0
    try {
      this.broker.connectionClosed(this, prev)
    } catch (err) {
      // A listener of the socket's 'close': anything thrown here would end the process.
      this.broker.logger.error(`Internal error closing ${this.clientId || this.remote}: ${(err as Error).stack ?? err}`)
    }
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`
  }

  /** Queues bytes for this turn's flush. */
  write(buf: Buffer): void {
    if (this.state === ConnState.Closed) return
    if (this.out === undefined) this.out = [buf]
    else this.out.push(buf)
    this.outBytes += buf.length
    this.broker.stats.packetsSent++
    if (!this.dirty) {
      this.dirty = true
      this.broker.markDirty(this)
    }
  }

  sendPacket(packet: Packet, version = this.version || 4): void {
    this.write(encodePacket(packet, version))
  }

  /** Writes everything queued this turn in one socket write. */
  flush(): void {
    this.dirty = false
    const out = this.out
    if (out === undefined) return
    const bytes = this.outBytes
    this.out = undefined
    this.outBytes = 0
    if (this.socket.destroyed) return
    this.broker.stats.bytesSent += bytes
    const socket = this.socket
    const ok = socket.write(out.length === 1 ? out[0] : Buffer.concat(out, bytes))
    if (ok) {
      if (this.state === ConnState.Connected && this.session?.queue !== undefined) this.broker.outbound.pull(this)
    } else if (socket.writableLength > this.broker.config.limits.maxQueuedBytes && (this.paused & Paused.Backpressure) === 0) {
      // The client does not read: stop reading it until 'drain' (bounded memory for a flooding client).
      this.pauseReading(Paused.Backpressure)
    }
  }

  /** Bytes accepted for this client but not yet on the wire. */
  get pendingBytes(): number {
    return this.outBytes + this.socket.writableLength
  }

  /** A protocol violation after CONNECT: DISCONNECT with the reason (MQTT 5) or just close (3.1.1). */
  fail(reasonCode: number, message?: string): void {
    if (this.state === ConnState.Closed) return
    if (this.v5 && this.state === ConnState.Connected) this.disconnect(reasonCode, message)
    else this.end()
  }

  /** Server-sent DISCONNECT (MQTT 5 only), then close. */
  disconnect(reasonCode: number, reasonString?: string): void {
    if (this.state === ConnState.Closed) return
    if (this.v5) {
      const properties = reasonString !== undefined ? {reasonString} : undefined
      this.sendPacket({cmd: 'disconnect', reasonCode, properties}, 5)
    }
    this.end()
  }

  /** Flushes what is queued, half-closes, and destroys the socket if the peer lingers. */
  end(): void {
    if (this.state === ConnState.Closed) return
    const prev = this.state
    this.flush()
    this.state = ConnState.Closed
    this.rx = undefined
    this.socket.end()
    this.broker.connectionEnding(this, prev)
    this.broker.connDeadlines.schedule(this, Date.now() + CLOSE_GRACE_MS)
  }

  /** Immediate close, no flush. */
  destroy(): void {
    this.socket.destroy()
  }
}
