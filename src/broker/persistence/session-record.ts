/**
 * The session record and its in-memory edits, shared by every Store (memory.ts, durable.ts) and by
 * the durable store's loader (load-state.ts): one shape (one hidden class) and one set of rules for
 * the lazily created queue, in-flight map and incoming set (undefined when empty).
 */
import type {Delivery} from '../message.js'
import type {SessionRecord, WillRecord} from './store.js'

/** A new session, every field present in one order. */
export function newSession(clientId: string, expiryInterval: number, connectionWill?: WillRecord): SessionRecord {
  return {
    clientId,
    expiryInterval,
    subscriptions: new Map(),
    queuedBytes: 0,
    lastPacketId: 0,
    disconnectedAt: 0,
    willAt: 0,
    connectionWill,
    deadline: 0,
    bucket: 0,
  }
}

export function pushQueued(s: SessionRecord, d: Delivery): void {
  ;(s.queue ??= []).push(d)
}

export function shiftQueued(s: SessionRecord): Delivery | undefined {
  const queue = s.queue
  if (queue === undefined) return undefined
  const d = queue.shift()
  if (queue.length === 0) s.queue = undefined
  return d
}

export function putInflight(s: SessionRecord, d: Delivery): void {
  ;(s.inflight ??= new Map()).set(d.packetId, d)
}

export function takeInflight(s: SessionRecord, packetId: number): Delivery | undefined {
  const inflight = s.inflight
  const d = inflight?.get(packetId)
  if (d === undefined) return undefined
  inflight!.delete(packetId)
  if (inflight!.size === 0) s.inflight = undefined
  return d
}

export function putIncoming(s: SessionRecord, packetId: number): void {
  ;(s.incoming ??= new Set()).add(packetId)
}

export function takeIncoming(s: SessionRecord, packetId: number): boolean {
  const incoming = s.incoming
  if (incoming === undefined || !incoming.delete(packetId)) return false
  if (incoming.size === 0) s.incoming = undefined
  return true
}
