/**
 * Session registry: create / resume on CONNECT, detach on disconnect (will, expiry, shared
 * re-delivery), end on expiry. Sessions live in the Store; timed events go through one deadline wheel.
 */
import type {BrokerImpl} from '../broker.js'
import type {Connection} from '../connection.js'
import {type Delivery, type Message, messageBytes} from '../message.js'
import type {SessionRecord, WillRecord} from '../persistence/store.js'
import {Deadlines} from '../timers.js'
import {NEVER_EXPIRES} from '../protocol/versions.js'

export class Sessions {
  readonly #broker: BrokerImpl
  readonly deadlines: Deadlines<SessionRecord>

  constructor(broker: BrokerImpl) {
    this.#broker = broker
    this.deadlines = new Deadlines(
      (s, now) => this.#due(s, now),
      Date.now,
      (err, s) => broker.logger.error(`Internal error in the session timer of ${s.clientId}: ${(err as Error)?.stack ?? err}`),
    )
  }

  /** CONNECT accepted: the client's session, resumed unless clean start [MQTT-3.1.2-4..6]. */
  open(conn: Connection, cleanStart: boolean, expiry: number): {session: SessionRecord; present: boolean} {
    const {store, stats} = this.#broker
    let session = store.getSession(conn.clientId)
    if (session !== undefined && cleanStart) {
      this.end(session) // the old session ends now: a will still waiting for its delay goes out
      session = undefined
    }
    let present = false
    if (session === undefined) {
      session = store.createSession(conn.clientId, expiry)
      stats.sessionsTotal = store.sessionCount
    } else {
      present = true
      // A will still waiting for its delay is not sent when the session is resumed [MQTT-3.1.3-9].
      session.pendingWill = undefined
      session.willAt = 0
      if (session.disconnectedAt !== 0) stats.sessionsOrphan--
      session.disconnectedAt = 0
      session.expiryInterval = expiry
      this.deadlines.cancel(session)
      store.touchSession(session)
    }
    return {session, present}
  }

  /** The connection is gone: will, shared re-delivery, and the session either ends or waits. */
  detach(conn: Connection): void {
    const broker = this.#broker
    const session = conn.session
    if (session === undefined) return
    conn.session = undefined
    const will = conn.normalDisconnect ? undefined : conn.will
    conn.will = undefined
    this.#redistributeShared(session, conn.clientId)
    if (session.expiryInterval === 0) {
      if (will !== undefined) this.publishWill(will, conn.clientId)
      this.end(session, false)
      return
    }
    session.disconnectedAt = Date.now()
    broker.stats.sessionsOrphan++
    broker.store.touchSession(session)
    if (will !== undefined) {
      if (will.delay > 0) {
        session.pendingWill = will
        session.willAt = session.disconnectedAt + will.delay * 1000
      } else {
        this.publishWill(will, conn.clientId)
      }
    }
    this.#schedule(session)
  }

  /** Ends a session: subscriptions, queued and in-flight messages go; a pending will is sent first. */
  end(session: SessionRecord, publishPendingWill = true): void {
    const broker = this.#broker
    if (publishPendingWill && session.pendingWill !== undefined) this.publishWill(session.pendingWill, session.clientId)
    session.pendingWill = undefined
    this.deadlines.cancel(session)
    for (const filter of session.subscriptions.keys()) broker.subs.unsubscribe(session.clientId, filter)
    session.subscriptions.clear()
    broker.outbound.discard(session)
    if (session.disconnectedAt !== 0) broker.stats.sessionsOrphan--
    session.disconnectedAt = 0
    broker.store.deleteSession(session.clientId)
    broker.stats.sessionsTotal = broker.store.sessionCount
  }

  /** Publishes a will; a failure is logged and never escapes (callers run in socket and timer callbacks). */
  publishWill(will: WillRecord, clientId: string): void {
    try {
      this.#publishWill(will, clientId)
    } catch (err) {
      this.#broker.logger.error(`Internal error publishing the will of ${clientId}: ${(err as Error)?.stack ?? err}`)
    }
  }

  #publishWill(will: WillRecord, clientId: string): void {
    const msg: Message = {
      topic: will.topic,
      payload: will.payload,
      qos: will.qos,
      retain: will.retain,
      properties: will.properties as Message['properties'],
      expiresAt: typeof will.properties?.messageExpiryInterval === 'number' ? Date.now() + will.properties.messageExpiryInterval * 1000 : 0,
      from: clientId,
    }
    if (msg.properties !== undefined) {
      const {messageExpiryInterval: _drop, ...rest} = msg.properties as Record<string, unknown>
      msg.properties = Object.keys(rest).length > 0 ? (rest as Message['properties']) : undefined
    }
    this.#broker.logDebug(() => `Publishing will of ${clientId} on ${will.topic}`)
    this.#broker.publishMessage(msg)
  }

  #schedule(session: SessionRecord): void {
    let at = session.expiryInterval === NEVER_EXPIRES ? 0 : session.disconnectedAt + session.expiryInterval * 1000
    if (session.pendingWill !== undefined && (at === 0 || session.willAt < at)) at = session.willAt
    if (at !== 0) this.deadlines.schedule(session, at)
  }

  #due(session: SessionRecord, now: number): void {
    if (session.disconnectedAt === 0) return // resumed meanwhile
    if (session.pendingWill !== undefined && session.willAt <= now) {
      const will = session.pendingWill
      session.pendingWill = undefined
      this.publishWill(will, session.clientId)
    }
    if (session.expiryInterval !== NEVER_EXPIRES && session.disconnectedAt + session.expiryInterval * 1000 <= now) {
      this.#broker.logDebug(() => `Session ${session.clientId} expired`)
      this.end(session)
      return
    }
    this.#schedule(session)
  }

  /** [MQTT-4.8.2-?] unacknowledged QoS > 0 messages of a leaving group member go to another member. */
  #redistributeShared(session: SessionRecord, leaving: string): void {
    const broker = this.#broker
    const moved: Delivery[] = []
    if (session.queue !== undefined && session.queue.some((d) => d.shared !== undefined)) {
      const keep: Delivery[] = []
      for (const d of session.queue) (d.shared !== undefined ? moved : keep).push(d)
      broker.stats.messagesQueued -= moved.length
      for (const d of moved) session.queuedBytes -= messageBytes(d)
      session.queue = keep.length > 0 ? keep : undefined
    }
    if (session.inflight !== undefined) {
      for (const d of session.inflight.values()) {
        if (d.shared !== undefined && !d.released) {
          moved.push(d)
          broker.store.deleteInflight(session, d.packetId)
        }
      }
    }
    for (const d of moved) {
      if (!broker.fanout.redeliverShared(d, leaving) && session.expiryInterval !== 0) {
        // Nobody else online: keep it for this member's return.
        d.packetId = 0
        d.sent = false
        broker.outbound.enqueue(session, d)
      }
    }
  }
}
