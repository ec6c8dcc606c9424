/**
 * The in-memory Store: the records it hands out are the state. Retained messages live in the
 * topics engineer's RetainedIndex (a trie, so a wildcard SUBSCRIBE does not scan every topic).
 */
import type {Delivery} from '../message.js'
import {RetainedIndex} from '../retained.js'
import {StoreBase} from './base.js'
import type {SubOptions} from '../topics/types.js'
import {newSession, pushQueued, putIncoming, putInflight, shiftQueued, takeIncoming, takeInflight} from './session-record.js'
import type {SessionRecord, Store, WillRecord} from './store.js'

export class MemoryStore extends StoreBase implements Store {
  protected readonly retained = new RetainedIndex()

  /** Nothing here reaches a disk: nothing is ever waited for. */
  readonly writeSeq = 0
  readonly degraded = false

  whenDurable(_seq: number, cb: (err?: Error) => void): void {
    cb()
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  createSession(clientId: string, expiryInterval: number, will?: WillRecord): SessionRecord {
    const session = newSession(clientId, expiryInterval, will)
    this.sessionMap.set(clientId, session)
    return session
  }

  deleteSession(clientId: string): void {
    this.sessionMap.delete(clientId)
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
}
