/**
 * Store: where sessions (with subscriptions and expiry), retained messages and queued and in-flight
 * QoS 1/2 messages live, so no such state lives only inside a connection object.
 *
 * The broker works on the in-memory records the store hands out and reports every change through the
 * methods below, so a durable store (a later issue) can journal each one: the memory store applies
 * the change and does nothing else. Methods are synchronous on purpose: the hot path never awaits; a
 * durable store appends to its log and syncs on its own schedule (and in close()).
 */
import type {Delivery} from '../message.js'
import type {RetainedMessage} from '../retained.js'
import type {SubOptions} from '../topics/types.js'

export type StoredMessage = Delivery
export interface StoredSubscription {
  filter: string
  options: SubOptions
}

export interface WillRecord {
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retain: boolean
  properties?: Record<string, unknown>
  /** Seconds (MQTT 5 will delay interval). */
  delay: number
}

export interface SessionRecord {
  readonly clientId: string
  /** Seconds the session outlives its connection; 0 = ends with it; 0xFFFFFFFF = never expires. */
  expiryInterval: number
  subscriptions: Map<string, SubOptions>
  /** Outbound QoS 1/2 in flight, by packet id (created lazily). */
  inflight?: Map<number, Delivery>
  /** Outbound messages not yet sent (offline, receive maximum or backpressure). */
  queue?: Delivery[]
  queuedBytes: number
  /** Inbound QoS 2 packet ids awaiting PUBREL. */
  incoming?: Set<number>
  /** Last packet id handed out. */
  lastPacketId: number
  /** clock.now() of the disconnect while the session has no live connection, else 0. */
  disconnectedAt: number
  /** A will waiting for its delay (MQTT 5) while the session has no connection. */
  pendingWill?: WillRecord
  /** clock.now() at which pendingWill is published. */
  willAt: number
  /**
   * The will of the connection the session has now (Store.createSession, or set before touchSession
   * on a resume); gone once the session is disconnected. A durable store keeps it with the session
   * (written with the CONNECT's own record: nothing per message) so a crash, which ends every
   * connection without DISCONNECT, does not lose it: the next start publishes it as if the
   * connection had dropped when the broker went down.
   */
  connectionWill?: WillRecord
  /** Runtime bookkeeping for the broker's deadline wheel (timers.ts); not persisted. */
  deadline: number
  bucket: number
}

export interface Store {
  /**
   * Count of changes reported so far that must reach the disk (the memory store: always 0). A
   * handler compares it before and after an operation: when it advanced, the operation's ack waits
   * for whenDurable(writeSeq). Only persistent sessions (expiryInterval > 0) and retained messages
   * are journaled: a message with only clean-session recipients never advances it.
   */
  readonly writeSeq: number
  /**
   * cb() once every change up to `seq` is durable (at once, possibly synchronously, if it already
   * is); cb(err) if it could not be stored. The broker then refuses the operation: MQTT 5 0x97 on
   * PUBACK/PUBREC, 0x80 on SUBACK/CONNACK; 3.1.1 closes (CONNACK: return code 3 first).
   */
  whenDurable(seq: number, cb: (err?: Error) => void): void
  /** true while new durable work must be refused (disk full / unwritable); the broker refuses it as above. */
  readonly degraded: boolean

  /** Loads persisted state; the memory store has nothing to load. */
  open(): Promise<void>
  /** Flushes and releases resources. */
  close(): Promise<void>

  getSession(clientId: string): SessionRecord | undefined
  /** A new session; `will` is the connecting client's will (SessionRecord.connectionWill). */
  createSession(clientId: string, expiryInterval: number, will?: WillRecord): SessionRecord
  deleteSession(clientId: string): void
  sessions(): Iterable<SessionRecord>
  readonly sessionCount: number
  /** Expiry, disconnect time, pending will or connection will changed. */
  touchSession(session: SessionRecord): void

  addSubscription(session: SessionRecord, filter: string, options: SubOptions): void
  removeSubscription(session: SessionRecord, filter: string): boolean

  /** Appends to the session's outbound queue. */
  enqueue(session: SessionRecord, delivery: Delivery): void
  /** Takes the oldest queued delivery. */
  dequeue(session: SessionRecord): Delivery | undefined
  /**
   * A delivery taken off the queue (dequeue or a direct edit of session.queue) that does not go into
   * flight: expired, not readable, moved to another shared-subscription member. A durable store
   * forgets it on disk too (else a restart brings it back); optional, the memory store has nothing to do.
   */
  removeQueued?(session: SessionRecord, delivery: Delivery): void
  /** The delivery is in flight under delivery.packetId (or its QoS 2 state changed). */
  setInflight(session: SessionRecord, delivery: Delivery): void
  /** Acknowledged: forget it. */
  deleteInflight(session: SessionRecord, packetId: number): Delivery | undefined
  addIncoming(session: SessionRecord, packetId: number): void
  deleteIncoming(session: SessionRecord, packetId: number): boolean

  setRetained(msg: RetainedMessage): void
  deleteRetained(topic: string): boolean
  /** Live retained messages the filter matches at `now`; expired ones are deleted and pushed to `expired`. */
  matchRetained(filter: string, now: number, expired?: RetainedMessage[]): RetainedMessage[]
  readonly retainedCount: number
}
