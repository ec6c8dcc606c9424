/**
 * The in-memory Store: the records it hands out are the state. Retained messages live in the
 * topics engineer's RetainedIndex (a trie, so a wildcard SUBSCRIBE does not scan every topic).
 */
import type {Delivery} from '../message.js'
import {type RetainedMessage, RetainedIndex} from '../retained.js'
import type {SubOptions} from '../topics/types.js'
import type {SessionRecord, Store} from './store.js'

export class MemoryStore implements Store {
  readonly #sessions = new Map<string, SessionRecord>()
  readonly #retained = new RetainedIndex()

  /** Nothing here reaches a disk: nothing is ever waited for. */
  readonly writeSeq = 0
  readonly degraded = false

  whenDurable(_seq: number, cb: (err?: Error) => void): void {
    cb()
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  getSession(clientId: string): SessionRecord | undefined {
    return this.#sessions.get(clientId)
  }

  createSession(clientId: string, expiryInterval: number): SessionRecord {
    const session: SessionRecord = {
      clientId,
      expiryInterval,
      subscriptions: new Map(),
      queuedBytes: 0,
      lastPacketId: 0,
      disconnectedAt: 0,
      willAt: 0,
      deadline: 0,
      bucket: 0,
    }
    this.#sessions.set(clientId, session)
    return session
  }

  deleteSession(clientId: string): void {
    this.#sessions.delete(clientId)
  }

  sessions(): Iterable<SessionRecord> {
    return this.#sessions.values()
  }

  get sessionCount(): number {
    return this.#sessions.size
  }

  touchSession(_session: SessionRecord): void {}

  addSubscription(session: SessionRecord, filter: string, options: SubOptions): void {
    session.subscriptions.set(filter, options)
  }

  removeSubscription(session: SessionRecord, filter: string): boolean {
    return session.subscriptions.delete(filter)
  }

  enqueue(session: SessionRecord, delivery: Delivery): void {
    ;(session.queue ??= []).push(delivery)
  }

  dequeue(session: SessionRecord): Delivery | undefined {
    const queue = session.queue
    if (queue === undefined) return undefined
    const d = queue.shift()
    if (queue.length === 0) session.queue = undefined
    return d
  }

  setInflight(session: SessionRecord, delivery: Delivery): void {
    ;(session.inflight ??= new Map()).set(delivery.packetId, delivery)
  }

  deleteInflight(session: SessionRecord, packetId: number): Delivery | undefined {
    const inflight = session.inflight
    const d = inflight?.get(packetId)
    if (d === undefined) return undefined
    inflight!.delete(packetId)
    if (inflight!.size === 0) session.inflight = undefined
    return d
  }

  addIncoming(session: SessionRecord, packetId: number): void {
    ;(session.incoming ??= new Set()).add(packetId)
  }

  deleteIncoming(session: SessionRecord, packetId: number): boolean {
    const incoming = session.incoming
    if (incoming === undefined || !incoming.delete(packetId)) return false
    if (incoming.size === 0) session.incoming = undefined
    return true
  }

  setRetained(msg: RetainedMessage): void {
    this.#retained.set(msg)
  }

  deleteRetained(topic: string): boolean {
    return this.#retained.delete(topic)
  }

  matchRetained(filter: string, now: number, expired?: RetainedMessage[]): RetainedMessage[] {
    return this.#retained.match(filter, now, expired)
  }

  get retainedCount(): number {
    return this.#retained.size
  }
}
