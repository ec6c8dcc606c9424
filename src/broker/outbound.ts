/**
 * Delivery to one subscriber: QoS 0 straight to the socket (dropped, counted, once the client's
 * unsent bytes pass maxQueuedBytes), QoS 1/2 in flight up to the client's receive maximum and while
 * the socket is not backed up, else into the session queue (bounded in messages and bytes). An offline
 * persistent session queues QoS 1/2; QoS 0 is not kept for offline clients (Mosquitto's default).
 */
import type {Authorizer} from './auth/authorizer.js'
import type {Clock} from './clock.js'
import type {Connection} from './connection.js'
import {ACK, type EncodedVariantLike, encodeAck, encodePublish, headProperties, variantFor, withPacketId} from './encode.js'
import {type Delivery, type Message, messageBytes, ownMessage} from './message.js'
import type {SessionRecord, Store} from './persistence/store.js'
import type {BrokerStats} from './stats/counters.js'

export interface OutboundDeps {
  readonly limits: {readonly maxQueuedMessages: number; readonly maxQueuedBytes: number; readonly maxAliasBytes: number}
  /** limits.maxMemory state: while active, QoS 0 to a client whose socket has a backlog is shed. */
  readonly overload?: {readonly active: boolean}
  readonly stats: BrokerStats
  readonly store: Store
  readonly clock: Clock
  /** Connected clients by id. */
  readonly clients: {get(clientId: string): Connection | undefined}
  /** canRead is asked per delivery when authorizer.checksAccess. */
  readonly authorizer: Authorizer
}

/** Outbound.room(): room now, after an ack or 'drain', or next turn. */
export const ROOM = {Now: 0, Event: 1, Turn: 2} as const

/** Something waiting for room towards one client: woken once (wake) or dropped with the connection (cancel). */
export interface RoomWaiter {
  wake(): void
  cancel(): void
}

export class Outbound {
  readonly #deps: OutboundDeps
  readonly #stats: BrokerStats
  readonly #store: Store
  readonly #clock: Clock
  readonly #clients: OutboundDeps['clients']
  /** authorizer.checksAccess (readonly on the authorizer): read once, not per delivery. */
  readonly #checksAccess: boolean
  /** Who waits for room towards a client (paced retained delivery): woken by pull(), dropped by forget(). */
  readonly #waiting = new Map<Connection, RoomWaiter>()

  constructor(deps: OutboundDeps) {
    this.#deps = deps
    this.#stats = deps.stats
    this.#store = deps.store
    this.#clock = deps.clock
    this.#clients = deps.clients
    this.#checksAccess = deps.authorizer.checksAccess
  }

  /** One copy of `msg` for `clientId` (connected or not). */
  deliver(clientId: string, msg: Message, qos: 0 | 1 | 2, retain: boolean, subscriptionIds?: number[], shared?: string): void {
    const conn = this.#clients.get(clientId)
    if (conn !== undefined) {
      if (this.#checksAccess && !this.#readable(conn, msg)) return
      if (qos === 0) return this.#sendQos0(conn, msg, retain, subscriptionIds)
      return this.send(conn, {msg, qos, retain, subscriptionIds, packetId: 0, released: false, sent: false, shared})
    }
    if (qos === 0) return
    // Offline: queued, and checked against the reader's rights when it leaves the queue (pull).
    const session = this.#store.getSession(clientId)
    if (session !== undefined) this.enqueue(session, {msg, qos, retain, subscriptionIds, packetId: 0, released: false, sent: false, shared})
  }

  /**
   * A QoS 1/2 delivery to a connected client: in flight while the client has room by count (its
   * receive maximum) and by bytes (maxQueuedBytes unsent), else queued.
   */
  send(conn: Connection, d: Delivery): void {
    const session = conn.session!
    if (
      session.queue !== undefined ||
      (session.inflight?.size ?? 0) >= conn.sendMax ||
      conn.socket.writableNeedDrain ||
      this.#full(conn, d.msg.payload.length)
    ) {
      this.enqueue(session, d)
      return
    }
    this.#startInflight(conn, session, d)
  }

  /**
   * Can `conn` take a delivery of `bytes` payload at `qos` now, without it being queued or dropped?
   * ROOM.Now: yes. ROOM.Event: no, until an ack or 'drain' (both call pull(), which wakes whenRoom
   * waiters): its socket is backed up, or (QoS 1/2) its receive maximum is full or its queue waits.
   * ROOM.Turn: no, this turn's writes fill maxQueuedBytes; try again next turn.
   */
  room(conn: Connection, qos: number, bytes: number): number {
    if (conn.socket.writableNeedDrain) return ROOM.Event
    if (qos > 0) {
      const session = conn.session
      if (session === undefined || session.queue !== undefined || (session.inflight?.size ?? 0) >= conn.sendMax) return ROOM.Event
    }
    return this.#full(conn, bytes) ? ROOM.Turn : ROOM.Now
  }

  /**
   * `waiter.wake()` runs once, the next time room may have opened towards `conn` (an ack, 'drain',
   * a flush that moved its queue); forget(conn) (the connection is gone) cancels it instead.
   */
  whenRoom(conn: Connection, waiter: RoomWaiter): void {
    this.#waiting.set(conn, waiter)
  }

  /** Withdraws `waiter` (a walk that finished) so an idle connection keeps nothing behind. */
  unwait(conn: Connection, waiter: RoomWaiter): void {
    if (this.#waiting.get(conn) === waiter) this.#waiting.delete(conn)
  }

  forget(conn: Connection): void {
    const waiter = this.#waiting.get(conn)
    if (waiter === undefined) return
    this.#waiting.delete(conn)
    waiter.cancel()
  }

  /** Moves queued deliveries into flight while the client has room (after an ack, a flush or 'drain'). */
  pull(conn: Connection): void {
    if (this.#waiting.size !== 0) this.#wake(conn)
    const session = conn.session
    if (session === undefined || !conn.connected) return
    const stats = this.#stats
    const checksAccess = this.#checksAccess
    const now = this.#clock.now()
    while (
      session.queue !== undefined &&
      (session.inflight?.size ?? 0) < conn.sendMax &&
      !conn.socket.writableNeedDrain &&
      !this.#full(conn, session.queue[0].msg.payload.length)
    ) {
      const d = this.#store.dequeue(session)!
      session.queuedBytes -= messageBytes(d)
      stats.messagesQueued--
      if (d.msg.expiresAt !== 0 && d.msg.expiresAt <= now) {
        stats.messagesExpired++
        this.#store.removeQueued?.(session, d)
        continue
      }
      if (checksAccess && !this.#readable(conn, d.msg)) {
        this.#store.removeQueued?.(session, d)
        continue
      }
      this.#startInflight(conn, session, d)
    }
  }

  #wake(conn: Connection): void {
    const waiter = this.#waiting.get(conn)
    if (waiter === undefined) return
    this.#waiting.delete(conn)
    waiter.wake()
  }

  /** A resumed session: resend what is in flight (DUP / PUBREL) [MQTT-4.4.0-1], then the queue. */
  resume(conn: Connection): void {
    const session = conn.session!
    if (session.inflight !== undefined) {
      for (const d of session.inflight.values()) {
        if (d.released) conn.write(encodeAck(ACK.pubrel, d.packetId))
        else this.#writePublish(conn, d, true)
      }
    }
    this.pull(conn)
  }

  /** Drops a session's queue and in-flight messages (session end), keeping the counters right. */
  discard(session: SessionRecord): void {
    if (session.queue !== undefined) {
      this.#stats.messagesQueued -= session.queue.length
      session.queue = undefined
      session.queuedBytes = 0
    }
    session.inflight = undefined
  }

  /** Appends to the session queue, bounded by maxQueuedMessages / maxQueuedBytes (beyond: dropped, counted). */
  enqueue(session: SessionRecord, d: Delivery): void {
    const {maxQueuedMessages, maxQueuedBytes} = this.#deps.limits
    const size = messageBytes(d)
    if ((session.queue?.length ?? 0) >= maxQueuedMessages || session.queuedBytes + size > maxQueuedBytes) {
      this.#stats.messagesDropped++
      return
    }
    ownMessage(d.msg) // it may wait long: keep its bytes, not the read chunk they came in
    this.#store.enqueue(session, d)
    session.queuedBytes += size
    this.#stats.messagesQueued++
  }

  /** No room for `bytes` more unsent towards the client (one message always fits an empty pipe). */
  #full(conn: Connection, bytes: number): boolean {
    const pending = conn.pendingBytes
    return pending > 0 && pending + bytes > this.#deps.limits.maxQueuedBytes
  }

  #nextPacketId(session: SessionRecord): number {
    const inflight = session.inflight
    let id = session.lastPacketId
    for (let i = 0; i < 65_535; i++) {
      id = id >= 65_535 ? 1 : id + 1
      if (inflight === undefined || !inflight.has(id)) break
    }
    session.lastPacketId = id
    return id
  }

  #startInflight(conn: Connection, session: SessionRecord, d: Delivery): void {
    d.packetId = this.#nextPacketId(session)
    ownMessage(d.msg) // until acknowledged, which a client may never do
    this.#store.setInflight(session, d)
    this.#writePublish(conn, d, false)
  }

  #sendQos0(conn: Connection, msg: Message, retain: boolean, subscriptionIds?: number[]): void {
    const stats = this.#stats
    const now = msg.expiresAt === 0 ? 0 : this.#clock.now()
    if (msg.expiresAt !== 0 && msg.expiresAt <= now) {
      stats.messagesExpired++
      return
    }
    const pending = conn.pendingBytes
    // A slow consumer: past maxQueuedBytes unsent, or (memory past limits.maxMemory) any backlog its
    // socket has not taken (not this turn's own buffer: every client has that while a turn writes).
    if (pending > 0 && (pending + msg.payload.length > this.#deps.limits.maxQueuedBytes || (this.#deps.overload?.active === true && conn.socket.writableLength > 0))) {
      stats.messagesDropped++ // QoS 0 may be dropped
      return
    }
    const v = conn.aliasMaxOut > 0 ? this.#aliased(conn, msg, 0, retain, subscriptionIds, now) : variantFor(msg, 0, retain, conn.v5, subscriptionIds, now)
    if (v.buf.length + (v.tail?.length ?? 0) > conn.maxOut) {
      stats.messagesDropped++ // [MQTT-3.1.2-25] larger than the client accepts
      return
    }
    conn.write(v.buf, v.tail)
    stats.messagesSent++
    stats.sentByQos[0]++
  }

  #writePublish(conn: Connection, d: Delivery, resend: boolean): void {
    const stats = this.#stats
    const msg = d.msg
    const now = this.#clock.now()
    const dup = resend && d.sent
    let buf: Buffer
    let tail: Buffer | undefined
    if (conn.aliasMaxOut > 0 && !dup) {
      const v = this.#aliased(conn, msg, d.qos, d.retain, d.subscriptionIds, now, d.packetId)
      buf = v.buf
      tail = v.tail
    } else {
      const v = variantFor(msg, d.qos, d.retain, conn.v5, d.subscriptionIds, now)
      buf = withPacketId(v, d.packetId, dup)
      tail = v.tail
    }
    if (buf.length + (tail?.length ?? 0) > conn.maxOut) {
      // [MQTT-3.1.2-25] discard and behave as if sent and acknowledged.
      this.#store.deleteInflight(conn.session!, d.packetId)
      stats.messagesDropped++
      return
    }
    d.sent = true
    conn.write(buf, tail)
    stats.messagesSent++
    stats.sentByQos[d.qos]++
  }

  /** The authorizer's delivery check (only called when it checks access); a refusal is counted. */
  #readable(conn: Connection, msg: Message): boolean {
    if (conn.identity !== undefined && this.#deps.authorizer.canRead(conn.identity, msg.topic)) return true
    this.#stats.deliveriesDenied++
    return false
  }

  /**
   * MQTT 5 topic alias towards a client that allows them: the first send sets it, later ones send an
   * empty topic. A new alias is registered only when the packet fits the client's maximum packet size
   * (else the caller drops it, and the client must not later receive an alias it never saw), and while
   * the topic names the client's aliases hold stay within limits.maxAliasBytes.
   */
  #aliased(conn: Connection, msg: Message, qos: number, retain: boolean, subscriptionIds: number[] | undefined, now: number, packetId = 0): EncodedVariantLike {
    const props = headProperties(msg, subscriptionIds, now) ?? {}
    const aliases = (conn.aliasesOut ??= new Map())
    let topic = msg.topic
    const known = aliases.get(topic)
    let created = 0
    if (known !== undefined) {
      props.alias = known
      topic = ''
    } else if (aliases.size < conn.aliasMaxOut && conn.aliasOutBytes + topic.length <= this.#deps.limits.maxAliasBytes) {
      created = aliases.size + 1
      props.alias = created
    }
    const variant = encodePublish(msg, topic, qos, retain, true, props)
    if (qos > 0) variant.buf.writeUInt16BE(packetId, variant.idOffset)
    if (created !== 0 && variant.buf.length + (variant.tail?.length ?? 0) <= conn.maxOut) {
      aliases.set(topic, created)
      conn.aliasOutBytes += topic.length
    }
    return variant
  }
}
