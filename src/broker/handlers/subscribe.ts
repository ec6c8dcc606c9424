/**
 * SUBSCRIBE: validate each filter, refuse denied ones (config.denySubscribe, the authorizer), add to
 * the index and the session (Subscriptions), SUBACK once the store holds them, then send matching
 * retained messages per retain handling (MQTT 5 §3.3.1.3).
 */
import type {ISubscribePacket, ISubscription} from 'mqtt-packet'
import type {Connection} from '../connection.js'
import type {BrokerContext} from '../context.js'
import type {Message} from '../message.js'
import type {RetainedMessage} from '../retained.js'
import {malformed, protocolError} from '../protocol/errors.js'
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
  conn.sendAfterDurable(before, (err) => {
    if (err !== undefined) {
      // Not stored: the new subscriptions are taken back and refused (MQTT 5 0x80; 3.1.1 closes).
      ctx.stats.storeRefusals++
      for (const a of added) if (a.isNew && conn.session !== undefined) ctx.subscriptions.remove(conn.session, a.filter)
      return refuseSuback(ctx, conn, packet, `the store could not keep the subscriptions: ${err.message}`)
    }
    conn.sendPacket({cmd: 'suback', messageId, granted})
    sendRetained(ctx, conn, added)
  })
}

/** MQTT 5: SUBACK 0x80 for every filter; 3.1.1: close. */
function refuseSuback(ctx: BrokerContext, conn: Connection, packet: ISubscribePacket, why: string): void {
  ctx.logDebug(() => `Client ${conn.clientId}: SUBSCRIBE ${packet.messageId} refused: ${why}`)
  if (conn.v5) conn.sendPacket({cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map(() => RC.UNSPECIFIED_ERROR)})
  else conn.end()
}

function sendRetained(ctx: BrokerContext, conn: Connection, added: ReadonlyArray<{filter: string; options: SubOptions; retained: boolean}>): void {
  const expired: RetainedMessage[] = []
  const now = ctx.clock.now()
  const deny = ctx.config.denySubscribe
  for (const {filter, options, retained} of added) {
    if (!retained) continue
    for (const r of ctx.store.matchRetained(filter, now, expired)) {
      // A filter overlapping a denied area (denySubscribe) never delivers a denied topic.
      if (deny.length > 0 && isDenied(deny, r.topic)) continue
      const msg: Message = {
        topic: r.topic,
        payload: r.payload,
        qos: r.qos,
        retain: true,
        properties: r.properties as Message['properties'],
        raw: r.raw,
        expiresAt: r.expiresAt ?? 0,
      }
      // [MQTT-3.3.1-8] a retained message sent for a new subscription carries RETAIN = 1.
      ctx.outbound.deliver(conn.clientId, msg, Math.min(r.qos, options.qos) as 0 | 1 | 2, true, options.subscriptionId === undefined ? undefined : [options.subscriptionId])
    }
  }
  if (expired.length > 0) {
    // The store dropped expired retained messages while matching: keep the counters right.
    ctx.stats.messagesExpired += expired.length
    ctx.stats.retainedMessages = ctx.store.retainedCount
  }
}
