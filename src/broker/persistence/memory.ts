/**
 * The in-memory Store: the records it hands out are the state. Retained messages live in the
 * topics engineer's RetainedIndex (a trie, so a wildcard SUBSCRIBE does not scan every topic).
 */
import type {Delivery} from '../message.js'
import {type RetainedMessage, RetainedIndex} from '../retained.js'
import type {SubOptions} from '../topics/types.js'
import {newSession, pushQueued, putIncoming, putInflight, shiftQueued, takeIncoming, takeInflight} from './session-record.js'
import type {SessionRecord, Store, WillRecord} from './store.js'

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

  createSession(clientId: string, expiryInterval: number, will?: WillRecord): SessionRecord {
    const session = newSession(clientId, expiryInterval, will)
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

  touchSession(session: SessionRecord): void {
    if (session.disconnectedAt !== 0) session.connectionWill = undefined // its connection is gone
  }

  addSubscription(session: SessionRecord, filter: string, options: SubOptions): void {
    session.subscriptions.set(filter, options)
  }

  removeSubscription(session: SessionRecord, filter: string): boolean {
    return session.subscriptions.delete(filter)
  }

  enqueue(session: SessionRecord, delivery: Delivery): void {
    pushQueued(session, delivery)
  }

  dequeue(session: SessionRecord): Delivery | undefined {
    return shiftQueued(session)
  }

  setInflight(session: SessionRecord, delivery: Delivery): void {
    putInflight(session, delivery)
  }

  deleteInflight(session: SessionRecord, packetId: number): Delivery | undefined {
    return takeInflight(session, packetId)
  }

  addIncoming(session: SessionRecord, packetId: number): void {
    putIncoming(session, packetId)
  }

  deleteIncoming(session: SessionRecord, packetId: number): boolean {
    return takeIncoming(session, packetId)
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
