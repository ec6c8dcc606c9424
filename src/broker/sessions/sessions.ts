/**
 * Session registry: create / resume on CONNECT, detach on disconnect (will, expiry, shared
 * re-delivery), end on expiry. Sessions live in the Store; timed events go through one deadline wheel.
 */
import type {Clock} from '../clock.js'
import type {Connection} from '../connection.js'
import type {Logger} from '../log.js'
import {type Delivery, type Message, messageBytes} from '../message.js'
import type {Outbound} from '../outbound.js'
import type {SessionRecord, Store, WillRecord} from '../persistence/store.js'
import {NEVER_EXPIRES} from '../protocol/versions.js'
import type {BrokerStats} from '../stats/counters.js'
import type {Subscriptions} from '../subscriptions.js'
import {Deadlines} from '../timers.js'

export interface SessionsDeps {
  readonly store: Store
  readonly stats: BrokerStats
  readonly clock: Clock
  readonly logger: Logger
  readonly subscriptions: Subscriptions
  readonly outbound: Outbound
  /** Retains and routes a will (the broker's one entry for an accepted message). */
  publish(msg: Message): void
  /** A shared-subscription delivery whose member left goes to another online member (false: none). */
  redeliverShared(d: Delivery, leaving: string): boolean
  logDebug(message: () => string): void
}

export class Sessions {
  readonly #deps: SessionsDeps
  readonly deadlines: Deadlines<SessionRecord>

  constructor(deps: SessionsDeps) {
    this.#deps = deps
    this.deadlines = new Deadlines(
      (s, now) => this.#due(s, now),
      deps.clock,
      (err, s) => deps.logger.error(`Internal error in the session timer of ${s.clientId}: ${(err as Error)?.stack ?? err}`),
    )
  }

  /** CONNECT accepted: the client's session, resumed unless clean start [MQTT-3.1.2-4..6]. */
  open(conn: Connection, cleanStart: boolean, expiry: number): {session: SessionRecord; present: boolean} {
    const {store, stats} = this.#deps
    let session = store.getSession(conn.clientId)
    if (session !== undefined && cleanStart) {
      this.end(session) // the old session ends now: a will still waiting for its delay goes out
      session = undefined
    }
    let present = false
    if (session === undefined) {
      session = store.createSession(conn.clientId, expiry, conn.will)
      stats.sessionsTotal = store.sessionCount
    } else {
      present = true
      // A will still waiting for its delay is not sent when the session is resumed [MQTT-3.1.3-9].
      session.pendingWill = undefined
      session.willAt = 0
      if (session.disconnectedAt !== 0) stats.sessionsOrphan--
      session.disconnectedAt = 0
      session.expiryInterval = expiry
      session.connectionWill = conn.will // a durable store keeps it, so a crash does not lose it
      this.deadlines.cancel(session)
      store.touchSession(session)
    }
    return {session, present}
  }

  /** The connection is gone: will, shared re-delivery, and the session either ends or waits. */
  detach(conn: Connection): void {
    const {stats, store} = this.#deps
    this.#deps.outbound.forget(conn) // a paced retained delivery waiting for room towards it stops
    const session = conn.session
    if (session === undefined) return
    conn.session = undefined
    const will = conn.normalDisconnect ? undefined : conn.will
    conn.will = undefined
    if (session.expiryInterval === 0) {
      if (will !== undefined) this.publishWill(will, conn.clientId)
      this.end(session, false) // shared deliveries are handed on there
      return
    }
    this.#redistributeShared(session, conn.clientId, false)
    session.disconnectedAt = this.#deps.clock.now()
    stats.sessionsOrphan++
    if (will !== undefined) {
      if (will.delay > 0) {
        session.pendingWill = will
        session.willAt = session.disconnectedAt + will.delay * 1000
      } else {
        this.publishWill(will, conn.clientId)
      }
    }
    // After the will: a durable store keeps the disconnect time and the pending will together.
    store.touchSession(session)
    this.#schedule(session)
  }

  /** Ends a session: subscriptions, queued and in-flight messages go; a pending will is sent first. */
  end(session: SessionRecord, publishPendingWill = true): void {
    const {stats, store} = this.#deps
    if (publishPendingWill && session.pendingWill !== undefined) this.publishWill(session.pendingWill, session.clientId)
    session.pendingWill = undefined
    this.deadlines.cancel(session)
    this.#deps.subscriptions.removeAll(session)
    this.#redistributeShared(session, session.clientId, true)
    this.#deps.outbound.discard(session)
    if (session.disconnectedAt !== 0) stats.sessionsOrphan--
    session.disconnectedAt = 0
    store.deleteSession(session.clientId)
    stats.sessionsTotal = store.sessionCount
  }

  /** Publishes a will; a failure is logged and never escapes (callers run in socket and timer callbacks). */
  publishWill(will: WillRecord, clientId: string): void {
    try {
      this.#publishWill(will, clientId)
    } catch (err) {
      this.#deps.logger.error(`Internal error publishing the will of ${clientId}: ${(err as Error)?.stack ?? err}`)
    }
  }

  #publishWill(will: WillRecord, clientId: string): void {
    const msg: Message = {
      topic: will.topic,
      payload: will.payload,
      qos: will.qos,
      retain: will.retain,
      properties: will.properties as Message['properties'],
      expiresAt: typeof will.properties?.messageExpiryInterval === 'number' ? this.#deps.clock.now() + will.properties.messageExpiryInterval * 1000 : 0,
      from: clientId,
    }
    if (msg.properties !== undefined) {
      const {messageExpiryInterval: _drop, ...rest} = msg.properties as Record<string, unknown>
      msg.properties = Object.keys(rest).length > 0 ? (rest as Message['properties']) : undefined
    }
    this.#deps.logDebug(() => `Publishing will of ${clientId} on ${will.topic}`)
    this.#deps.publish(msg)
  }

  /**
   * A session loaded from a durable store at start: its expiry and a pending will are due by the
   * wall clock, so the time the broker was down counts (a deadline already past runs at once).
   */
  restored(session: SessionRecord): void {
    this.#schedule(session)
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
      session.willAt = 0
      this.#deps.store.touchSession(session) // sent: a restart must not send it again
      this.publishWill(will, session.clientId)
    }
    if (session.expiryInterval !== NEVER_EXPIRES && session.disconnectedAt + session.expiryInterval * 1000 <= now) {
      this.#deps.logDebug(() => `Session ${session.clientId} expired`)
      this.end(session)
      return
    }
    this.#schedule(session)
  }

  /**
   * Shared-subscription deliveries of a member that leaves (MQTT 5 §4.8.2). Never sent (queued): to
   * another online member. Sent QoS 1: kept for the member's return while its session lasts (the
   * spec's MAY), to another member once the session ends (SHOULD). Sent QoS 2 (PUBREC pending or
   * PUBREL sent): stays with the member's session, and when that ends nobody else gets it: another
   * member receiving it too would be a duplicate [MQTT-4.8.2-4] [MQTT-4.8.2-5]. `ending`: the session
   * ends now (expiry 0, expired, or replaced by a clean start); else what finds no other member stays.
   */
  #redistributeShared(session: SessionRecord, leaving: string, ending: boolean): void {
    const {stats, store} = this.#deps
    const moved: Delivery[] = []
    if (session.queue !== undefined && session.queue.some((d) => d.shared !== undefined)) {
      const keep: Delivery[] = []
      for (const d of session.queue) (d.shared !== undefined ? moved : keep).push(d)
      stats.messagesQueued -= moved.length
      for (const d of moved) {
        session.queuedBytes -= messageBytes(d)
        store.removeQueued?.(session, d)
      }
      session.queue = keep.length > 0 ? keep : undefined
    }
    if (session.inflight !== undefined) {
      for (const d of session.inflight.values()) {
        if (d.shared !== undefined && (!d.sent || (ending && d.qos === 1))) {
          moved.push(d)
          store.deleteInflight(session, d.packetId)
        }
      }
    }
    for (const d of moved) {
      if (!this.#deps.redeliverShared(d, leaving) && !ending) {
        // Nobody else online: keep it for this member's return.
        d.packetId = 0
        d.sent = false
        this.#deps.outbound.enqueue(session, d)
      }
    }
  }
}
