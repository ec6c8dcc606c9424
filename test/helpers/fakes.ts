/**
 * Test doubles for the broker's seams: a store whose durability the test releases by hand, and an
 * authorizer whose every answer the test sets.
 */
import type {AuthOutcome, Authorizer, ConnectCredentials, Identity} from '../../src/broker/auth/authorizer.js'
import type {Delivery} from '../../src/broker/message.js'
import {MemoryStore} from '../../src/broker/persistence/memory.js'
import type {SessionRecord, Store} from '../../src/broker/persistence/store.js'
import type {RetainedMessage} from '../../src/broker/retained.js'
import type {SubOptions} from '../../src/broker/topics/types.js'

/**
 * A MemoryStore that journals like a durable store would (every change to a persistent session, i.e.
 * expiryInterval > 0, and to retained messages advances writeSeq) and makes changes durable only when
 * the test calls release() (or fail()).
 */
export class ManualStore implements Store {
  readonly inner = new MemoryStore()
  writeSeq = 0
  /** Everything up to this seq is durable. */
  durableSeq = 0
  degraded = false
  /** whenDurable calls so far. */
  waits = 0
  #waiting: Array<{seq: number; cb: (err?: Error) => void}> = []

  /** Callbacks waiting for durability. */
  get pending(): number {
    return this.#waiting.length
  }

  whenDurable(seq: number, cb: (err?: Error) => void): void {
    this.waits++
    if (seq <= this.durableSeq) cb()
    else this.#waiting.push({seq, cb})
  }

  /** Everything written so far is durable: the waiting callbacks run, in order. */
  release(): void {
    this.durableSeq = this.writeSeq
    const due = this.#waiting.filter((w) => w.seq <= this.durableSeq)
    this.#waiting = this.#waiting.filter((w) => w.seq > this.durableSeq)
    for (const w of due) w.cb()
  }

  /** The write failed: every waiting callback gets `err`. */
  fail(err = new Error('disk full')): void {
    const due = this.#waiting
    this.#waiting = []
    this.durableSeq = this.writeSeq
    for (const w of due) w.cb(err)
  }

  #journal(session?: SessionRecord): void {
    if (session === undefined || session.expiryInterval > 0) this.writeSeq++
  }

  open(): Promise<void> {
    return this.inner.open()
  }
  close(): Promise<void> {
    return this.inner.close()
  }
  getSession(clientId: string): SessionRecord | undefined {
    return this.inner.getSession(clientId)
  }
  createSession(clientId: string, expiryInterval: number): SessionRecord {
    const s = this.inner.createSession(clientId, expiryInterval)
    this.#journal(s)
    return s
  }
  deleteSession(clientId: string): void {
    const s = this.inner.getSession(clientId)
    this.inner.deleteSession(clientId)
    if (s !== undefined) this.#journal(s)
  }
  sessions(): Iterable<SessionRecord> {
    return this.inner.sessions()
  }
  get sessionCount(): number {
    return this.inner.sessionCount
  }
  touchSession(session: SessionRecord): void {
    this.#journal(session)
  }
  addSubscription(session: SessionRecord, filter: string, options: SubOptions): void {
    this.inner.addSubscription(session, filter, options)
    this.#journal(session)
  }
  removeSubscription(session: SessionRecord, filter: string): boolean {
    const r = this.inner.removeSubscription(session, filter)
    this.#journal(session)
    return r
  }
  enqueue(session: SessionRecord, delivery: Delivery): void {
    this.inner.enqueue(session, delivery)
    this.#journal(session)
  }
  dequeue(session: SessionRecord): Delivery | undefined {
    const d = this.inner.dequeue(session)
    this.#journal(session)
    return d
  }
  setInflight(session: SessionRecord, delivery: Delivery): void {
    this.inner.setInflight(session, delivery)
    this.#journal(session)
  }
  deleteInflight(session: SessionRecord, packetId: number): Delivery | undefined {
    const d = this.inner.deleteInflight(session, packetId)
    this.#journal(session)
    return d
  }
  addIncoming(session: SessionRecord, packetId: number): void {
    this.inner.addIncoming(session, packetId)
    this.#journal(session)
  }
  deleteIncoming(session: SessionRecord, packetId: number): boolean {
    const r = this.inner.deleteIncoming(session, packetId)
    this.#journal(session)
    return r
  }
  setRetained(msg: RetainedMessage): void {
    this.inner.setRetained(msg)
    this.#journal()
  }
  deleteRetained(topic: string): boolean {
    const r = this.inner.deleteRetained(topic)
    this.#journal()
    return r
  }
  matchRetained(filter: string, now: number, expired?: RetainedMessage[]): RetainedMessage[] {
    return this.inner.matchRetained(filter, now, expired)
  }
  get retainedCount(): number {
    return this.inner.retainedCount
  }
}

/** An authorizer whose answers the test sets; records what it was asked. */
export class FakeAuthorizer implements Authorizer {
  checksAccess = true
  /** authenticate() answers this (a function of the credentials), or a promise the test resolves. */
  authenticateWith: (c: ConnectCredentials) => AuthOutcome | Promise<AuthOutcome> = (c) => ({ok: true, identity: {clientId: c.clientId, username: c.username}})
  deniedPublish = new Set<string>()
  deniedSubscribe = new Set<string>()
  deniedRead = new Set<string>()
  takeOver = true
  readonly asked: string[] = []

  authenticate(c: ConnectCredentials): AuthOutcome | Promise<AuthOutcome> {
    this.asked.push(`authenticate ${c.clientId} ${c.username ?? '-'} ${c.password?.toString() ?? '-'} v${c.protocolVersion}${c.tls ? ' tls' : ''}`)
    return this.authenticateWith(c)
  }
  canPublish(id: Identity, topic: string): boolean {
    this.asked.push(`publish ${id.clientId} ${topic}`)
    return !this.deniedPublish.has(topic)
  }
  canSubscribe(id: Identity, filter: string): boolean {
    this.asked.push(`subscribe ${id.clientId} ${filter}`)
    return !this.deniedSubscribe.has(filter)
  }
  canRead(id: Identity, topic: string): boolean {
    this.asked.push(`read ${id.clientId} ${topic}`)
    return !this.deniedRead.has(topic)
  }
  canTakeOver(next: Identity, current: Identity): boolean {
    this.asked.push(`takeover ${next.username ?? '-'} ${current.username ?? '-'}`)
    return this.takeOver
  }
}

/** A promise and its resolve, for an authenticate() the test answers later. */
export function deferred<T>(): {promise: Promise<T>; resolve(value: T): void; reject(err: Error): void} {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return {promise, resolve, reject}
}
