/**
 * The socket side of a connection: what a client socket is, the four shared listener functions that
 * route its events to the connection that owns it (no per-connection closures), and the corked
 * write of a turn's buffers when some of them are payloads shared with other connections.
 */
import type {Duplex} from 'node:stream'
import {SHARE_PAYLOAD_BYTES} from './encode.js'

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

/** What the socket's events are handed to (Connection implements it). */
export interface SocketOwner {
  onData(chunk: Buffer): void
  onDrain(): void
  onSocketError(err: NodeJS.ErrnoException): void
  onClose(): void
}

const kOwner = Symbol('connection')
export type OwnedSocket = ClientSocket & {[kOwner]?: SocketOwner}

function onData(this: OwnedSocket, chunk: Buffer): void {
  this[kOwner]?.onData(chunk)
}
function onDrain(this: OwnedSocket): void {
  this[kOwner]?.onDrain()
}
function onSocketError(this: OwnedSocket, err: NodeJS.ErrnoException): void {
  this[kOwner]?.onSocketError(err)
}
function onSocketClose(this: OwnedSocket): void {
  const owner = this[kOwner]
  this[kOwner] = undefined
  owner?.onClose()
}

/** Hands the socket's data, drain, error and close events to `owner` until the socket closes. */
export function ownSocket(socket: ClientSocket, owner: SocketOwner): OwnedSocket {
  const owned = socket as OwnedSocket
  owned[kOwner] = owner
  // No setNoDelay here: the listener creates sockets with noDelay already.
  socket.on('data', onData)
  socket.on('drain', onDrain)
  socket.on('error', onSocketError)
  socket.on('close', onSocketClose)
  return owned
}

/**
 * One turn's buffers when some are payloads shared with other connections: runs of small ones are
 * joined, the large ones written by reference (one writev under cork), so no connection copies them.
 * Returns what the last socket.write returned (false: the socket's buffer is above its mark).
 */
export function writeShared(socket: ClientSocket, out: Buffer[]): boolean {
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
