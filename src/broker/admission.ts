/**
 * Admission of new client sockets: at most `ioEntries` start per event-loop turn (the rest wait a
 * turn in a backlog), and sockets that have not sent CONNECT are bounded by
 * limits.maxPendingConnects (past it the oldest is closed, so a real client arriving behind thousands
 * of silent sockets still connects at once). Per connection, never per packet.
 */
import type {ClientSocket} from './client-socket.js'
import type {BrokerStats} from './stats/counters.js'

/** What admission needs of a connection. */
export interface PendingConnection {
  readonly remote: string
  destroy(): void
}

export interface AdmissionDeps<C extends PendingConnection> {
  /** config.ioEntries: sockets started per event-loop turn. */
  ioEntries: number
  /** limits.maxPendingConnects: sockets without CONNECT at once. */
  maxPendingConnects: number
  stats: BrokerStats
  /** A limit was reached (limits/limits.ts counts it). */
  reached(): void
  logDebug(message: () => string): void
  /** Makes the socket a connection (not yet reading); undefined when the socket is already gone. */
  open(socket: ClientSocket): C | undefined
}

function ignoreError(): void {}

export class Admission<C extends PendingConnection> {
  /** Sockets that have not sent CONNECT yet, oldest first. */
  readonly #pending = new Set<C>()
  readonly #deps: AdmissionDeps<C>
  #acceptedThisTurn = 0
  #backlog: ClientSocket[] = []
  #resetScheduled = false
  #closed = false

  constructor(deps: AdmissionDeps<C>) {
    this.#deps = deps
  }

  /** A new client socket: started now, or next turn when ioEntries started this turn already. */
  accept(socket: ClientSocket): void {
    if (this.#closed) {
      socket.destroy()
      return
    }
    if (this.#acceptedThisTurn >= this.#deps.ioEntries) {
      // Until the Connection owns it, an 'error' must find a listener, or it is thrown as an uncaught
      // exception. Defensive: today a waiting TCP socket is paused (no read, no write, so no error) and
      // Node's TLS server keeps its own listener on every TLSSocket, which swallows errors after the
      // handshake; this keeps it so should either change.
      if (socket.listenerCount('error') === 0) socket.on('error', ignoreError)
      this.#backlog.push(socket)
      this.#scheduleReset()
      return
    }
    this.#acceptedThisTurn++
    this.#scheduleReset()
    this.#start(socket)
  }

  /** The connection's CONNECT was accepted, or it closed: it no longer counts as pending. */
  settled(conn: C): void {
    if (this.#pending.delete(conn)) this.#deps.stats.pendingConnects = this.#pending.size
  }

  /** Shutting down: later sockets are destroyed, and so are those waiting in the backlog. */
  close(): void {
    this.#closed = true
    for (const s of this.#backlog) s.destroy()
    this.#backlog = []
  }

  #scheduleReset(): void {
    if (this.#resetScheduled) return
    this.#resetScheduled = true
    setImmediate(() => {
      this.#resetScheduled = false
      this.#acceptedThisTurn = 0
      const backlog = this.#backlog
      this.#backlog = []
      for (const s of backlog) this.accept(s)
    })
  }

  #start(socket: ClientSocket): void {
    socket.off('error', ignoreError)
    if (socket.destroyed) return
    const conn = this.#deps.open(socket)
    if (conn === undefined) return
    const pending = this.#pending
    if (pending.size >= this.#deps.maxPendingConnects) {
      const oldest: C = pending.values().next().value!
      pending.delete(oldest)
      this.#deps.reached()
      this.#deps.logDebug(() => `Closing ${oldest.remote}: no CONNECT yet and limits.maxPendingConnects reached`)
      oldest.destroy()
    }
    pending.add(conn)
    this.#deps.stats.pendingConnects = pending.size
    socket.resume()
  }
}
