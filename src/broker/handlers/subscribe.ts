/**
 * SUBSCRIBE: validate each filter, refuse denied ones (config.denySubscribe, the authorizer), add to
 * the index and the session (Subscriptions), SUBACK once the store holds them, then send matching
 * retained messages per retain handling (MQTT 5 §3.3.1.3).
 */
import type {ISubscribePacket, ISubscription} from 'mqtt-packet'
import type {Connection} from '../connection.js'
import type {BrokerContext} from '../context.js'
import type {Message} from '../message.js'
import {type RetainedMessage, retainedChanges} from '../retained.js'
import {malformed, protocolError} from '../protocol/errors.js'
import {ROOM} from '../outbound.js'
import {RC, V3_SUBACK_FAILURE} from '../protocol/reason-codes.js'
import {parseShared, topicMatchesFilter, validateTopicFilter} from '../protocol/topics.js'
import type {SubOptions} from '../topics/types.js'

/**
 * A filter (or a topic name) is denied when a deny entry covers it (the entry, read as a filter,
 * matches it as a topic). A filter that only overlaps a denied area ('#' and 'secret/#') is allowed,
 * but never delivers a denied topic: Fanout.route and retained delivery check each topic.
 */
export function isDenied(deny: readonly string[], filter: string): boolean {
  if (deny.length === 0) return false
  const plain = parseShared(filter)?.filter ?? filter
  for (const entry of deny) if (entry === plain || topicMatchesFilter(entry, plain)) return true
  return false
}

export function handleSubscribe(ctx: BrokerContext, conn: Connection, packet: ISubscribePacket): void {
  const session = conn.session!
  // [MQTT-2.3.1-1] a non-zero packet identifier.
  if (!packet.messageId) throw malformed('packet identifier 0')
  const subscriptionId = conn.v5 ? (packet.properties?.subscriptionIdentifier as number | undefined) : undefined
  // Subscription identifier 0 is a protocol error (MQTT 5 §3.8.2.1.2; the statement has no conformance id).
  if (subscriptionId === 0) throw protocolError('subscription identifier 0')
  const {store, authorizer} = ctx
  // A persistent session's subscriptions need the disk: refused while the store cannot write.
  if (store.degraded && session.expiryInterval > 0) {
    ctx.stats.storeRefusals++
    return refuseSuback(ctx, conn, packet, 'the store is degraded')
  }
  const granted: number[] = []
  const added: Array<{filter: string; options: SubOptions; isNew: boolean; retained: boolean}> = []
  /** Index in `added` of each filter of this packet: a repeated filter counts (and sends retained) once. */
  const seen = new Map<string, number>()
  const maxSubs = ctx.config.limits.maxSubscriptionsPerClient
  const before = store.writeSeq

  for (const sub of packet.subscriptions as ISubscription[]) {
    const filter = sub.topic
    const shared = parseShared(filter)
    const invalid = validateTopicFilter(filter)
    if (invalid !== undefined) {
      ctx.logDebug(() => `Client ${conn.clientId} bad filter "${filter}": ${invalid}`)
      granted.push(conn.v5 ? RC.TOPIC_FILTER_INVALID : V3_SUBACK_FAILURE)
      continue
    }
    // [MQTT-3.8.3-4] no local on a shared subscription is a protocol error.
    if (shared !== undefined && sub.nl) throw protocolError('no local on a shared subscription')
    if (isDenied(ctx.config.denySubscribe, filter) || (authorizer.checksAccess && !authorizer.canSubscribe(conn.identity!, filter))) {
      ctx.logDebug(() => `Client ${conn.clientId} denied subscription to "${filter}"`)
      granted.push(conn.v5 ? RC.NOT_AUTHORIZED : V3_SUBACK_FAILURE)
      continue
    }
    const options: SubOptions = {
      qos: sub.qos,
      noLocal: conn.v5 ? Boolean(sub.nl) : false,
      retainAsPublished: conn.v5 ? Boolean(sub.rap) : false,
      retainHandling: conn.v5 ? ((sub.rh ?? 0) as 0 | 1 | 2) : 0,
      subscriptionId,
    }
    if (subscriptionId === undefined) delete options.subscriptionId
    if (!session.subscriptions.has(filter) && session.subscriptions.size >= maxSubs) {
      // limits.maxSubscriptionsPerClient: this filter is refused, the client's others stay.
      ctx.limits.reached()
      ctx.logDebug(() => `Client ${conn.clientId}: subscription to "${filter}" refused, limits.maxSubscriptionsPerClient (${maxSubs}) reached`)
      granted.push(conn.v5 ? RC.QUOTA_EXCEEDED : V3_SUBACK_FAILURE)
      continue
    }
    const {isNew} = ctx.subscriptions.add(session, filter, options)
    granted.push(sub.qos)
    // Retained messages go to new non-shared subscriptions only (MQTT 5 §3.3.1.3, §4.8.2), as retain
    // handling says [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11].
    const earlier = seen.get(filter)
    const entry = {filter, options, isNew: isNew || (earlier !== undefined && added[earlier].isNew), retained: false}
    entry.retained = shared === undefined && (options.retainHandling === 0 || (options.retainHandling === 1 && entry.isNew))
    // The same filter again in this packet replaces the options [MQTT-3.8.4-3]; it is one subscription.
    if (earlier !== undefined) added[earlier] = entry
    else {
      seen.set(filter, added.length)
      added.push(entry)
    }
  }

  const messageId = packet.messageId
  // Retained messages follow the SUBACK, paced (RetainedWalk); what is published from now on goes live.
  // No retained message now: none to walk (one set later reaches the new subscriptions live).
  const walk = ctx.store.retainedCount > 0 && added.some((a) => a.retained) ? retainedWalk(ctx, conn) : undefined
  const since = walk?.expect() ?? 0
  conn.sendAfterDurable(before, (err) => {
    if (err !== undefined) {
      walk?.settle([])
      // Not stored: the new subscriptions are taken back and refused (MQTT 5 0x80; 3.1.1 closes).
      ctx.stats.storeRefusals++
      for (const a of added) if (a.isNew && conn.session !== undefined) ctx.subscriptions.remove(conn.session, a.filter)
      return refuseSuback(ctx, conn, packet, `the store could not keep the subscriptions: ${err.message}`)
    }
    conn.sendPacket({cmd: 'suback', messageId, granted})
    walk?.settle(added.filter((a) => a.retained).map((a) => ({filter: a.filter, options: a.options, since})))
  })
}

/** MQTT 5: SUBACK 0x80 for every filter; 3.1.1: close. */
function refuseSuback(ctx: BrokerContext, conn: Connection, packet: ISubscribePacket, why: string): void {
  ctx.logDebug(() => `Client ${conn.clientId}: SUBSCRIBE ${packet.messageId} refused: ${why}`)
  if (conn.v5) conn.sendPacket({cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map(() => RC.UNSPECIFIED_ERROR)})
  else conn.end()
}

/** Work one walk may do per event-loop turn: messages handed on (a filter matched counts 1 + its matches / 16)... */
const WALK_UNITS = 128
/** ...and payload bytes handed on. */
const WALK_BYTES = 64 * 1024

interface WalkEntry {
  filter: string
  options: SubOptions
  /** retainedChanges sequence when the subscription was made: later messages reached the client live. */
  since: number
}

/** The retained delivery in progress towards each connection. */
const walks = new WeakMap<Connection, RetainedWalk>()

/**
 * Retained messages for new subscriptions, paced: a bounded amount per event-loop turn, QoS 1/2 only
 * while the client's receive maximum has room (woken by its acks), nothing while its socket is
 * backed up (woken by 'drain'), so a SUBSCRIBE matching thousands of retained messages neither stalls
 * other clients nor fills memory or the client's queue. One filter is matched at a time, in the
 * packet's order; a later SUBSCRIBE's filters follow (a filter already waiting takes the newer options
 * and is sent once). A message set after the SUBSCRIBE (the client got it live) or replaced since it
 * was matched is skipped. The walk stops when the connection closes or the filter is unsubscribed.
 */
class RetainedWalk {
  readonly #pending = new Map<string, WalkEntry>()
  #entry: WalkEntry | undefined = undefined
  #matched: RetainedMessage[] = []
  #at = 0
  #scheduled = false
  #done = false
  readonly #step = (): void => this.#run()

  /** SUBSCRIBEs whose SUBACK waits for the store: their filters come with settle(). */
  #awaiting = 0

  constructor(
    readonly ctx: BrokerContext,
    readonly conn: Connection,
    readonly session: NonNullable<Connection['session']>,
  ) {
    retainedChanges.watch()
    // Idle walks wait here, so that the connection closing (Sessions.detach -> forget) ends them.
    ctx.outbound.whenRoom(conn, this.#waiter)
  }

  /** A SUBSCRIBE will hand over filters (settle); returns the retained sequence they are compared with. */
  expect(): number {
    this.#awaiting++
    return retainedChanges.seq
  }

  /** The SUBSCRIBE's filters (none when it was refused), after its SUBACK. */
  settle(entries: readonly WalkEntry[]): void {
    if (this.#done) return
    this.#awaiting--
    for (const e of entries) {
      this.#pending.delete(e.filter) // re-inserted last, with the newer options
      this.#pending.set(e.filter, e)
    }
    this.#schedule()
  }

  #schedule(): void {
    if (this.#scheduled || this.#done) return
    this.#scheduled = true
    setImmediate(this.#step)
  }

  readonly #waiter = {wake: () => this.#schedule(), cancel: () => this.#stop()}

  #stop(): void {
    if (this.#done) return
    this.#done = true
    this.#pending.clear()
    this.#matched = []
    retainedChanges.unwatch()
    this.ctx.outbound.unwait(this.conn, this.#waiter)
    if (walks.get(this.conn) === this) walks.delete(this.conn)
  }

  #run(): void {
    this.#scheduled = false
    if (this.#done) return
    try {
      this.#walk()
    } catch (err) {
      this.#stop()
      this.conn.internalError('sending retained messages', err)
    }
  }

  #walk(): void {
    const {ctx, conn, session} = this
    if (!conn.connected || conn.session !== session) return this.#stop()
    const {outbound, store, clock} = ctx
    const deny = ctx.config.denySubscribe
    let units = 0
    let bytes = 0
    while (units < WALK_UNITS && bytes < WALK_BYTES) {
      const entry = this.#entry
      if (entry === undefined || this.#at === this.#matched.length) {
        const next = this.#pending.values().next()
        if (next.done === true) return this.#idle()
        this.#pending.delete(next.value.filter)
        this.#entry = next.value
        this.#at = 0
        this.#matched = session.subscriptions.has(next.value.filter) ? this.#match(next.value.filter) : []
        units += 1 + (this.#matched.length >> 4)
        continue
      }
      const r = this.#matched[this.#at]
      const now = clock.now()
      // Newer than the SUBSCRIBE, replaced since, expired, or denied (a filter overlapping a denied area).
      if (retainedChanges.changedSince(r, entry.since) || (r.expiresAt !== undefined && r.expiresAt !== 0 && r.expiresAt <= now) || (deny.length > 0 && isDenied(deny, r.topic))) {
        this.#at++
        continue
      }
      const options = entry.options
      const qos = Math.min(r.qos, options.qos) as 0 | 1 | 2
      const room = outbound.room(conn, qos, r.payload.length)
      if (room !== ROOM.Now) {
        // Receive maximum full or socket backed up: an ack or 'drain' wakes the walk; else next turn.
        if (room === ROOM.Event) outbound.whenRoom(conn, this.#waiter)
        else this.#schedule()
        return
      }
      this.#at++
      units++
      bytes += r.payload.length
      const msg: Message = {topic: r.topic, payload: r.payload, qos: r.qos, retain: true, properties: r.properties as Message['properties'], raw: r.raw, expiresAt: r.expiresAt ?? 0}
      // [MQTT-3.3.1-8] a retained message sent for a new subscription carries RETAIN = 1.
      outbound.deliver(conn.clientId, msg, qos, true, options.subscriptionId === undefined ? undefined : [options.subscriptionId])
    }
    if (this.#pending.size === 0 && this.#at === this.#matched.length) return this.#idle()
    this.#schedule()
  }

  /** Nothing left: done, unless a SUBSCRIBE still waits for its SUBACK (then parked until it settles). */
  #idle(): void {
    this.#entry = undefined
    this.#matched = []
    this.#at = 0
    if (this.#awaiting > 0) this.ctx.outbound.whenRoom(this.conn, this.#waiter)
    else this.#stop()
  }

  #match(filter: string): RetainedMessage[] {
    const expired: RetainedMessage[] = []
    const out = this.ctx.store.matchRetained(filter, this.ctx.clock.now(), expired)
    if (expired.length > 0) {
      // The store dropped expired retained messages while matching: keep the counters right.
      this.ctx.stats.messagesExpired += expired.length
      this.ctx.stats.retainedMessages = this.ctx.store.retainedCount
    }
    return out
  }
}

/** The connection's retained delivery in progress, or a new one (its filters follow the earlier ones). */
function retainedWalk(ctx: BrokerContext, conn: Connection): RetainedWalk {
  let walk = walks.get(conn)
  if (walk === undefined) {
    walk = new RetainedWalk(ctx, conn, conn.session!)
    walks.set(conn, walk)
  }
  return walk
}
