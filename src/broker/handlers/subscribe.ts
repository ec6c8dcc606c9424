/**
 * SUBSCRIBE: validate each filter, refuse denied ones (config.denySubscribe), add to the index and
 * the session, SUBACK, then send matching retained messages per retain handling (MQTT 5 §3.3.1.3).
 */
import type {ISubscribePacket, ISubscription} from 'mqtt-packet'
import type {Connection} from '../connection.js'
import type {Message} from '../message.js'
import type {RetainedMessage} from '../retained.js'
import {malformed, protocolError} from '../protocol/errors.js'
import {RC, V3_SUBACK_FAILURE} from '../protocol/reason-codes.js'
import {parseShared, topicMatchesFilter, validateTopicFilter} from '../protocol/topics.js'
import type {SubOptions} from '../topics/index.js'

/** A filter is denied when a deny entry covers it (the entry, read as a filter, matches it as a topic). */
export function isDenied(deny: readonly string[], filter: string): boolean {
  if (deny.length === 0) return false
  const plain = parseShared(filter)?.filter ?? filter
  for (const entry of deny) if (entry === plain || topicMatchesFilter(entry, plain)) return true
  return false
}

export function handleSubscribe(conn: Connection, packet: ISubscribePacket): void {
  const broker = conn.broker
  const session = conn.session!
  // [MQTT-2.3.1-1] a non-zero packet identifier.
  if (!packet.messageId) throw malformed('packet identifier 0')
  const subscriptionId = conn.v5 ? (packet.properties?.subscriptionIdentifier as number | undefined) : undefined
  // [MQTT-3.8.2-?] subscription identifier 0 is a protocol error.
  if (subscriptionId === 0) throw protocolError('subscription identifier 0')
  const granted: number[] = []
  const retainedFor: Array<{filter: string; options: SubOptions}> = []

  for (const sub of packet.subscriptions as ISubscription[]) {
    const filter = sub.topic
    const shared = parseShared(filter)
    const invalid = validateTopicFilter(filter)
    if (invalid !== undefined) {
      broker.logDebug(() => `Client ${conn.clientId} bad filter "${filter}": ${invalid}`)
      granted.push(conn.v5 ? RC.TOPIC_FILTER_INVALID : V3_SUBACK_FAILURE)
      continue
    }
    // [MQTT-3.8.3-4] no local on a shared subscription is a protocol error.
    if (shared !== undefined && sub.nl) throw protocolError('no local on a shared subscription')
    if (isDenied(broker.config.denySubscribe, filter)) {
      broker.logDebug(() => `Client ${conn.clientId} denied subscription to "${filter}"`)
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
    const {isNew} = broker.subs.subscribe(conn.clientId, filter, options)
    broker.store.addSubscription(session, filter, options)
    granted.push(sub.qos)
    // [MQTT-3.8.4-?] retained messages are not sent for shared subscriptions; retain handling 1/2.
    if (shared === undefined && (options.retainHandling === 0 || (options.retainHandling === 1 && isNew))) {
      retainedFor.push({filter, options})
    }
  }
  conn.sendPacket({cmd: 'suback', messageId: packet.messageId, granted})

  const expired: RetainedMessage[] = []
  for (const {filter, options} of retainedFor) {
    for (const r of broker.store.matchRetained(filter, expired)) {
      const msg: Message = {
        topic: r.topic,
        payload: r.payload,
        qos: r.qos,
        retain: true,
        properties: r.properties as Message['properties'],
        expiresAt: r.expiresAt ?? 0,
      }
      // [MQTT-3.3.1-8] a retained message sent for a new subscription carries RETAIN = 1.
      broker.outbound.deliver(conn.clientId, msg, Math.min(r.qos, options.qos) as 0 | 1 | 2, true, options.subscriptionId === undefined ? undefined : [options.subscriptionId])
    }
  }
  if (expired.length > 0) {
    // The store dropped expired retained messages while matching: keep the counters right.
    broker.stats.messagesExpired += expired.length
    broker.stats.retainedMessages = broker.store.retainedCount
  }
}
