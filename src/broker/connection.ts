/**
 * One client socket: its partial inbound frame (decoded by the broker's shared Decoder), keep-alive
 * bookkeeping, and the outbound buffer that the broker flushes once per event-loop turn (one write
 * per connection per turn, backpressure via 'drain'). Socket listeners are shared functions (no
 * per-connection closures, no per-connection parser); session state lives in the Store, not here.
 */
import type {Duplex} from 'node:stream'
import type {Packet} from 'mqtt-packet'
import type {Identity} from './auth/authorizer.js'
import type {Clock} from './clock.js'
import {ConnState, Paused} from './conn-state.js'
import type {Decoder, FrameSink} from './decoder.js'
import {SHARE_PAYLOAD_BYTES, encodePacket} from './encode.js'
import type {Logger} from './log.js'
import type {SessionRecord, Store, WillRecord} from './persistence/store.js'
import {connackRefusal, parserErrorCode} from './protocol/errors.js'
import {RC} from './protocol/reason-codes.js'
import type {Violation} from './protocol/validate.js'
import {MAX_PACKET_SIZE} from './protocol/versions.js'
import type {BrokerStats} from './stats/counters.js'
import type {Timed} from './timers.js'

export {ConnState, Paused} from './conn-state.js'

/**
 * What a connection reads and writes: a net.Socket or tls.TLSSocket from a listener, or any Duplex
 * (a test's in-memory pair, a WebSocket stream) with the same events and fields.
 */
export type ClientSocket = Duplex & {
  readonly remoteAddress?: string
  readonly remotePort?: number
  /** true on a TLS socket. */
  readonly encrypted?: boolean
}

/** What a connection needs from the broker (BrokerImpl implements it). */
export interface ConnectionHost {
  readonly stats: BrokerStats
  readonly clock: Clock
  readonly logger: Logger
  readonly store: Store
  readonly decoder: Decoder
  /** Flush cycles so far (read budgets are per cycle). */
  readonly turn: number
  /** limits.maxQueuedBytes: unsent bytes past which the client is not read until it drains. */
  readonly maxQueuedBytes: number
  /** The connection has bytes for this turn's flush. */
  markDirty(conn: Connection): void
  /** The connection read its budget this turn: it waits for the flush. */
  pauseForTurn(conn: Connection): void
  /** Room for more QoS 1/2 towards the client (after a write or 'drain'): queued deliveries move into flight. */
  pull(conn: Connection): void
  /** The connection stops being a client (end() or socket close). */
  connectionEnding(conn: Connection, prev: ConnState): void
  /** The socket is closed: final clean-up. */
  connectionClosed(conn: Connection, prev: ConnState): void
  /** A half-closed socket may linger until `at` (clock ms), then it is destroyed. */
  lingerUntil(conn: Connection, at: number): void
  logDebug(message: () => string): void
  /** A fault while serving one client: counted and logged once per kind. */
  fault(doing: string, who: string, err: unknown): void
}

/** Where decoded packets go (the dispatcher): given to each connection, not imported by it. */
export type PacketSink = (conn: Connection, packet: Packet) => void

/** An ack (or CONNACK) waiting for the store, and what was written to the connection after it. */
interface Gate {
  ready: boolean
  err: Error | undefined
  send: (err?: Error) => void
  after: Buffer[] | undefined
}

const kConn = Symbol('connection')
type OwnedSocket = ClientSocket & {[kConn]?: Connection}

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

const EMPTY = Buffer.alloc(0)

/** Milliseconds a closing socket may linger before it is destroyed. */
const CLOSE_GRACE_MS = 2000

/**
 * Bytes one connection may feed in before the next flush: past it, its socket is paused until the
 * broker's once-per-turn flush (libuv reads a busy socket up to 32 x 64 KB per poll, so without it a
 * few flooding publishers make a turn so long that subscribers' sockets are written rarely).
 */
const READ_BUDGET = 64 * 1024

export class Connection implements FrameSink, Timed {
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
  readonly host: ConnectionHost
  readonly #sink: PacketSink
  /** Acks waiting for the store, oldest first (undefined when none waits: the common case). */
  #gates: Gate[] | undefined = undefined
  /** Bytes written behind a waiting ack. */
  #heldBytes = 0
  #releasing = false

  constructor(host: ConnectionHost, socket: ClientSocket, sink: PacketSink) {
    this.host = host
    this.#sink = sink
    this.socket = socket as OwnedSocket
    this.lastActivity = host.clock.now()
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
    if (this.state === ConnState.Closed) return
    const reason = parserErrorCode(err.message)
    this.host.stats.protocolErrors++
    if (this.state === ConnState.Connecting) {
      // A CONNECT we could not read: answer in the client's version when it got that far (3.1.1 has
      // a return code only for an unsupported protocol level).
      const version = cmd === 'connect' && protocolVersion === 5 ? 5 : reason === RC.UNSUPPORTED_PROTOCOL_VERSION ? 4 : 0
      this.refuse(version, reason, err.message)
      return
    }
    this.fail(reason, err.message)
  }

  onViolation(v: Violation, cmd: string, protocolVersion: number): void {
    if (this.state === ConnState.Closed) return
    this.host.stats.protocolErrors++
    const message = `${v.message} (${cmd})`
    if (this.state === ConnState.Connecting) {
      // MQTT 5: CONNACK with the reason; 3.1/3.1.1: close without one (no return code fits) [MQTT-3.1.4-1].
      this.refuse(protocolVersion === 5 ? 5 : 0, v.reasonCode, message)
      return
    }
    this.host.logDebug(() => `Client ${this.clientId || this.remote}: ${message}`)
    this.fail(v.reasonCode, message)
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
    this.#dropGates()
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
    if (this.#gates !== undefined && !this.#releasing) {
      const last = this.#gates[this.#gates.length - 1]
      const after = (last.after ??= [])
      // A held tail is written back as a packet of its own below: count the packet once.
      if (tail === undefined) after.push(buf)
      else after.push(Buffer.concat([buf, tail]))
      this.#heldBytes += buf.length + (tail?.length ?? 0)
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
      if (this.#gates === undefined) return send()
      this.#gates.push({ready: true, err: undefined, send, after: undefined})
      return
    }
    const gate: Gate = {ready: false, err: undefined, send, after: undefined}
    ;(this.#gates ??= []).push(gate)
    store.whenDurable(seq, (err) => {
      gate.ready = true
      gate.err = err
      this.#release()
    })
  }

  /** Acks waiting for the store. */
  get acksWaiting(): number {
    return this.#gates?.length ?? 0
  }

  #release(): void {
    const gates = this.#gates
    if (gates === undefined || this.#releasing) return
    this.#releasing = true
    try {
      while (gates.length > 0 && gates[0].ready && this.state !== ConnState.Closed) {
        const gate = gates.shift()!
        try {
          gate.send(gate.err)
        } catch (err) {
          this.internalError('acknowledging for', err)
        }
        if (gate.after !== undefined) {
          for (const buf of gate.after) {
            this.#heldBytes -= buf.length
            this.write(buf)
          }
        }
      }
    } finally {
      this.#releasing = false
    }
    if (this.state === ConnState.Closed) this.#dropGates()
    else if (gates.length === 0) this.#gates = undefined
  }

  #dropGates(): void {
    this.#gates = undefined
    this.#heldBytes = 0
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
    else ok = this.#writeShared(out)
    this.#tails = false
    if (ok) {
      if (this.state === ConnState.Connected && this.session?.queue !== undefined) host.pull(this)
    } else if (socket.writableLength > host.maxQueuedBytes && (this.paused & Paused.Backpressure) === 0) {
      // The client does not read: stop reading it until 'drain' (bounded memory for a flooding client).
      this.pauseReading(Paused.Backpressure)
    }
  }

  /**
   * This turn's buffers when some are payloads shared with other connections: runs of small ones are
   * joined, the large ones written by reference (one writev under cork), so no connection copies them.
   */
  #writeShared(out: Buffer[]): boolean {
    const socket = this.socket
    socket.cork()
    let ok = true
    let run: Buffer[] = []
    let runBytes = 0
    for (const b of out) {
      if (b.length < SHARE_PAYLOAD_BYTES) {
        run.push(b)
        runBytes += b.length
        continue
      }
      if (run.length > 0) {
        ok = socket.write(run.length === 1 ? run[0] : Buffer.concat(run, runBytes))
        run = []
        runBytes = 0
      }
      ok = socket.write(b)
    }
    if (run.length > 0) ok = socket.write(run.length === 1 ? run[0] : Buffer.concat(run, runBytes))
    socket.uncork()
    return ok
  }

  /** Bytes accepted for this client but not yet on the wire (held behind a waiting ack included). */
  get pendingBytes(): number {
    return this.outBytes + this.#heldBytes + this.socket.writableLength
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
      this.#releasing = true // a DISCONNECT does not wait behind acks: they will never be sent
      try {
        this.sendPacket({cmd: 'disconnect', reasonCode, properties}, 5)
      } finally {
        this.#releasing = false
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
    this.#dropGates()
    this.socket.end()
    this.host.connectionEnding(this, prev)
    this.host.lingerUntil(this, this.host.clock.now() + CLOSE_GRACE_MS)
  }

  /** Immediate close, no flush. */
  destroy(): void {
    this.socket.destroy()
  }
}
