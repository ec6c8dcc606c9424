/**
 * One client socket: its partial inbound frame (decoded by the broker's shared Decoder), keep-alive
 * bookkeeping, and the outbound buffer that the broker flushes once per event-loop turn (one write
 * per connection per turn, backpressure via 'drain'). Socket listeners are shared functions (no
 * per-connection closures, no per-connection parser); session state lives in the Store, not here.
 */
import type {Packet} from 'mqtt-packet'
import {AckGates, type GatedConnection} from './ack-gate.js'
import type {Identity} from './auth/authorizer.js'
import {type ClientSocket, type OwnedSocket, ownSocket, type SocketOwner, writeShared} from './client-socket.js'
import {ConnState, Paused} from './conn-state.js'
import type {ConnectionHost} from './connection-host.js'
import type {FrameSink} from './decoder.js'
import {onParseError, onViolation} from './frame-errors.js'
import {encodePacket} from './encode.js'
import type {SessionRecord, WillRecord} from './persistence/store.js'
import {connackRefusal} from './protocol/errors.js'
import {RC} from './protocol/reason-codes.js'
import type {Violation} from './protocol/validate.js'
import {MAX_PACKET_SIZE} from './protocol/versions.js'
import type {Timed} from './timers.js'

/** Where decoded packets go (the dispatcher): given to each connection, not imported by it. */
export type PacketSink = (conn: Connection, packet: Packet) => void

const EMPTY = Buffer.alloc(0)

/** Milliseconds a closing socket may linger before it is destroyed. */
const CLOSE_GRACE_MS = 2000

/**
 * Bytes one connection may feed in before the next flush: past it, its socket is paused until the
 * broker's once-per-turn flush (libuv reads a busy socket up to 32 x 64 KB per poll, so without it a
 * few flooding publishers make a turn so long that subscribers' sockets are written rarely).
 */
const READ_BUDGET = 64 * 1024

export class Connection implements FrameSink, Timed, SocketOwner, GatedConnection {
  deadline = 0
  bucket = 0
  state = ConnState.Connecting
  /** Protocol level of the accepted CONNECT (3, 4 or 5); 0 before. */
  version = 0
  clientId = ''
  /** Who the authorizer says this is (set once CONNECT is authenticated). */
  identity: Identity | undefined
  session: SessionRecord | undefined
  /** 1.5 x keep alive in ms; 0 = no keep alive. */
  keepAliveMs = 0
  lastActivity: number
  will: WillRecord | undefined
  /** Client's receive maximum: our QoS 1/2 messages in flight towards it. */
  sendMax = 65_535
  /** Client's maximum packet size. */
  maxOut = MAX_PACKET_SIZE
  /** Topic aliases the client accepts from us, and those we assigned. */
  aliasMaxOut = 0
  aliasesOut: Map<string, number> | undefined
  /** Topic-name bytes held by aliasesOut (bounded by limits.maxAliasBytes). */
  aliasOutBytes = 0
  /** Topic-name bytes held by aliasesIn (bounded by limits.maxAliasBytes). */
  aliasInBytes = 0
  /** Topic aliases the client set up towards us. */
  aliasesIn: Map<number, string> | undefined
  /** Set by DISCONNECT 0x00 (no will), or on take-over bookkeeping. */
  normalDisconnect = false
  /** Buffers written this turn, flushed by the broker in one write. */
  out: Buffer[] | undefined
  /** `out` holds a shared payload (written by reference, not joined). */
  #tails = false
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
  readonly host: ConnectionHost<Connection>
  readonly #sink: PacketSink
  /** Acks waiting for the store (undefined when none waits: the common case). */
  #acks: AckGates | undefined = undefined

  constructor(host: ConnectionHost<Connection>, socket: ClientSocket, sink: PacketSink) {
    this.host = host
    this.#sink = sink
    this.lastActivity = host.clock.now()
    this.socket = ownSocket(socket, this)
  }

  get connected(): boolean {
    return this.state === ConnState.Connected
  }

  get open(): boolean {
    return this.state !== ConnState.Closed
  }

  /** Frames are decoded only while Connecting or Connected (state 0 or 1): not closing, not authenticating. */
  get decoding(): boolean {
    return (this.state & 2) === 0
  }

  get v5(): boolean {
    return this.version === 5
  }

  /** true on a TLS connection. */
  get tls(): boolean {
    return this.socket.encrypted === true
  }

  onData(chunk: Buffer): void {
    if (this.state === ConnState.Closed) return
    const host = this.host
    host.stats.bytesReceived += chunk.length
    this.lastActivity = host.clock.now()
    if (this.rxTurn !== host.turn) {
      this.rxTurn = host.turn
      this.rxBytes = 0
    }
    this.rxBytes += chunk.length
    this.#feed(chunk)
    if (this.rxBytes >= READ_BUDGET && this.open) host.pauseForTurn(this)
  }

  #feed(chunk: Buffer): void {
    try {
      this.host.decoder.feed(this, chunk)
    } catch (err) {
      // The broker must never crash on client bytes: whatever escaped is this client's problem.
      this.internalError('reading from', err)
    }
  }

  /** CONNECT authenticated (or refused): decoding goes on with what was read meanwhile. */
  resumeDecoding(): void {
    this.resumeReading(Paused.Auth)
    if (this.decoding && this.rx !== undefined) this.#feed(EMPTY)
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
    this.host.stats.packetsReceived++
    this.#sink(this, packet)
  }

  onParseError(err: Error, cmd: string | undefined, protocolVersion: number): void {
    onParseError(this, err, cmd, protocolVersion)
  }

  onViolation(v: Violation, cmd: string, protocolVersion: number): void {
    onViolation(this, v, cmd, protocolVersion)
  }

  onDrain(): void {
    if (this.paused & Paused.Backpressure) this.resumeReading(Paused.Backpressure)
    if (this.state === ConnState.Connected) this.host.pull(this)
  }

  onSocketError(err: NodeJS.ErrnoException): void {
    this.host.logDebug(() => `Socket error on ${this.clientId || this.remote}: ${err.code ?? err.message}`)
  }

  onClose(): void {
    const prev = this.state
    this.state = ConnState.Closed
    this.rx = undefined
    this.out = undefined
    this.outBytes = 0
    this.#acks = undefined
    try {
      this.host.connectionClosed(this, prev)
    } catch (err) {
      // A listener of the socket's 'close': anything thrown here would end the process.
      this.host.logger.error(`Internal error closing ${this.clientId || this.remote}: ${(err as Error).stack ?? err}`)
    }
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`
  }

  /**
   * Queues one packet for this turn's flush (behind an ack waiting for the store, if one waits):
   * `buf`, then `tail` when given (a payload shared with other connections, written by reference).
   */
  write(buf: Buffer, tail?: Buffer): void {
    if (this.state === ConnState.Closed) return
    const acks = this.#acks
    if (acks !== undefined && !acks.releasing) {
      acks.hold(buf, tail)
      return
    }
    if (this.out === undefined) this.out = [buf]
    else this.out.push(buf)
    this.outBytes += buf.length
    if (tail !== undefined) {
      this.out.push(tail)
      this.outBytes += tail.length
      this.#tails = true
    }
    this.host.stats.packetsSent++
    if (!this.dirty) {
      this.dirty = true
      this.host.markDirty(this)
    }
  }

  sendPacket(packet: Packet, version = this.version || 4): void {
    this.write(encodePacket(packet, version))
  }

  /**
   * Sends an ack once the store has made durable what the operation wrote: `before` is
   * store.writeSeq read before the operation. When the operation did not advance writeSeq and no
   * ack waits, `send()` runs now; else it runs when store.whenDurable fires (`send(err)` when the
   * store failed). Acks stay in order [MQTT-4.6.0-2]: everything written to this connection after a
   * waiting ack (later acks, deliveries) goes out after it.
   */
  sendAfterDurable(before: number, send: (err?: Error) => void): void {
    const store = this.host.store
    const seq = store.writeSeq
    if (seq === before) {
      if (this.#acks === undefined) return send()
      this.#acks.addReady(send)
      return
    }
    ;(this.#acks ??= new AckGates(this)).addWaiting(store, seq, send)
  }

  /** Acks waiting for the store. */
  get acksWaiting(): number {
    return this.#acks?.length ?? 0
  }

  acksDone(gates: AckGates): void {
    if (this.#acks === gates) this.#acks = undefined
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
    const host = this.host
    host.stats.bytesSent += bytes
    const socket = this.socket
    let ok: boolean
    if (!this.#tails || out.length === 1) ok = socket.write(out.length === 1 ? out[0] : Buffer.concat(out, bytes))
    else ok = writeShared(socket, out)
    this.#tails = false
    if (ok) {
      if (this.state === ConnState.Connected && this.session?.queue !== undefined) host.pull(this)
    } else if (socket.writableLength > host.maxQueuedBytes && (this.paused & Paused.Backpressure) === 0) {
      // The client does not read: stop reading it until 'drain' (bounded memory for a flooding client).
      this.pauseReading(Paused.Backpressure)
    }
  }

  /** Bytes accepted for this client but not yet on the wire (held behind a waiting ack included). */
  get pendingBytes(): number {
    return this.outBytes + (this.#acks?.heldBytes ?? 0) + this.socket.writableLength
  }

  /**
   * The one place a connection is closed for an error. Before CONNECT is accepted: refuse(). After:
   * DISCONNECT with the reason (MQTT 5) or just close (3.1.1).
   */
  fail(reasonCode: number, message?: string): void {
    if (this.state === ConnState.Closed) return
    if (this.v5 && this.state === ConnState.Connected) this.disconnect(reasonCode, message)
    else this.end()
  }

  /**
   * Refuses a CONNECT: CONNACK with the reason in the client's `version` (5: the reason code; 3/4: the
   * nearest return code; 0: no CONNACK, the client's version is unknown), then close.
   */
  refuse(version: number, reasonCode: number, message: string): void {
    if (this.state === ConnState.Closed) return
    this.host.logDebug(() => `Refused CONNECT from ${this.remote}: ${message}`)
    const connack = connackRefusal(version, reasonCode)
    if (connack !== undefined) this.sendPacket(connack, version === 5 ? 5 : 4)
    this.end()
  }

  /** A bug met while serving this client: logged, and the client (only) is closed with 0x83. */
  internalError(doing: string, err: unknown): void {
    this.host.fault(doing, this.clientId || this.remote, err)
    try {
      this.fail(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error')
    } catch {
      this.destroy() // closing politely failed too: the socket goes, the process stays
    }
  }

  /** Server-sent DISCONNECT (MQTT 5 only), then close. */
  disconnect(reasonCode: number, reasonString?: string): void {
    if (this.state === ConnState.Closed) return
    if (this.v5) {
      const properties = reasonString !== undefined ? {reasonString} : undefined
      const acks = this.#acks
      if (acks !== undefined) acks.releasing = true // a DISCONNECT does not wait behind acks: they will never be sent
      try {
        this.sendPacket({cmd: 'disconnect', reasonCode, properties}, 5)
      } finally {
        if (acks !== undefined) acks.releasing = false
      }
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
    this.#acks = undefined
    this.socket.end()
    this.host.connectionEnding(this, prev)
    this.host.lingerUntil(this, this.host.clock.now() + CLOSE_GRACE_MS)
  }

  /** Immediate close, no flush. */
  destroy(): void {
    this.socket.destroy()
  }
}
