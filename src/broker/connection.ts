/**
 * One client socket: its parser, keep-alive bookkeeping, and the outbound buffer that the broker
 * flushes once per event-loop turn (one write per connection per turn, backpressure via 'drain').
 * Socket and parser listeners are shared functions (no per-connection closures); session state
 * lives in the Store, not here.
 */
import type {Socket} from 'node:net'
import type {Packet} from 'mqtt-packet'
import type {BrokerImpl} from './broker.js'
import {dispatch} from './dispatch.js'
import {encodePacket} from './encode.js'
import {BrokerParser, type PacketSink} from './parser.js'
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

export class Connection implements PacketSink, Timed {
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
  readonly socket: OwnedSocket
  readonly broker: BrokerImpl
  parser: BrokerParser

  constructor(broker: BrokerImpl, socket: Socket, parser: BrokerParser) {
    this.broker = broker
    this.socket = socket as OwnedSocket
    this.parser = parser
    parser.owner = this
    this.lastActivity = Date.now()
    this.socket[kConn] = this
    socket.setNoDelay(true)
    socket.on('data', onData)
    socket.on('drain', onDrain)
    socket.on('error', onSocketError)
    socket.on('close', onSocketClose)
  }

  get connected(): boolean {
    return this.state === ConnState.Connected
  }

  get v5(): boolean {
    return this.version === 5
  }

  onData(chunk: Buffer): void {
    if (this.state === ConnState.Closed) return
    const stats = this.broker.stats
    stats.bytesReceived += chunk.length
    this.lastActivity = Date.now()
    try {
      this.parser.parse(chunk)
    } catch (err) {
      // The broker must never crash on client bytes [issue]: whatever escaped is this client's problem.
      this.broker.logger.error(`Internal error on client ${this.clientId || this.remote}: ${(err as Error).stack ?? err}`)
      this.fail(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error')
    }
  }

  onPacket(packet: Packet): void {
    if (this.state === ConnState.Closed) return
    this.broker.stats.packetsReceived++
    dispatch(this, packet)
  }

  onParseError(err: Error, parser: BrokerParser): void {
    if (this.state === ConnState.Closed) return
    const reason = parserErrorCode(err.message)
    this.broker.stats.protocolErrors++
    this.broker.logDebug(() => `Client ${this.clientId || this.remote}: ${err.message}`)
    if (this.state === ConnState.Connecting) {
      // A CONNECT we could not read: answer in the client's version when it got that far.
      if (parser.packet.cmd === 'connect' && parser.packet.protocolVersion === 5) {
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
    if (this.state === ConnState.Connected) this.broker.outbound.pull(this)
  }

  onSocketError(err: NodeJS.ErrnoException): void {
    this.broker.logDebug(() => `Socket error on ${this.clientId || this.remote}: ${err.code ?? err.message}`)
  }

  onClose(): void {
    const prev = this.state
    this.state = ConnState.Closed
    this.out = undefined
    this.outBytes = 0
    this.broker.connectionClosed(this, prev)
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
    const ok = this.socket.write(out.length === 1 ? out[0] : Buffer.concat(out, bytes))
    if (ok && this.state === ConnState.Connected && this.session?.queue !== undefined) this.broker.outbound.pull(this)
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
    this.parser.owner = undefined
    this.socket.end()
    this.broker.connectionEnding(this, prev)
    this.broker.connDeadlines.schedule(this, Date.now() + CLOSE_GRACE_MS)
  }

  /** Immediate close, no flush. */
  destroy(): void {
    this.socket.destroy()
  }
}
