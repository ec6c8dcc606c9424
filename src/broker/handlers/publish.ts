/**
 * PUBLISH from a client: topic alias, topic validation, QoS 0/1/2 entry (QoS 2 exactly-once state in
 * the session), receive maximum, message expiry, then retain + route through the broker.
 */
import type {IPublishPacket} from 'mqtt-packet'
import type {Connection} from '../connection.js'
import type {RawPublish} from '../decoder.js'
import type {BrokerContext} from '../context.js'
import {ACK, encodeAck, encodePacket} from '../encode.js'
import type {ForwardedProperties, Message} from '../message.js'
import {ProtocolError, malformed, protocolError} from '../protocol/errors.js'
import {RC} from '../protocol/reason-codes.js'
import {validateTopicName} from '../protocol/topics.js'

/** Resolves / registers an MQTT 5 topic alias (§3.3.2.3.4). */
function resolveAlias(ctx: BrokerContext, conn: Connection, topic: string, alias: number): string {
  const max = ctx.config.limits.topicAliasMaximum
  // [MQTT-3.3.2-8] [MQTT-3.3.2-9] 0 or above the announced maximum.
  if (alias === 0 || alias > max) throw new ProtocolError(RC.TOPIC_ALIAS_INVALID, `topic alias ${alias} out of range`)
  if (topic === '') {
    const known = conn.aliasesIn?.get(alias)
    if (known === undefined) throw protocolError(`unknown topic alias ${alias}`)
    return known
  }
  const aliases = (conn.aliasesIn ??= new Map())
  const bytes = conn.aliasInBytes - (aliases.get(alias)?.length ?? 0) + topic.length
  if (bytes > ctx.config.limits.maxAliasBytes) {
    // The topic names a client's aliases hold are bounded in bytes too (docs/limits.md).
    ctx.limits.reached()
    throw new ProtocolError(RC.QUOTA_EXCEEDED, `topic aliases past limits.maxAliasBytes (${ctx.config.limits.maxAliasBytes})`)
  }
  aliases.set(alias, topic)
  conn.aliasInBytes = bytes
  return topic
}

function forwardedProperties(props: NonNullable<IPublishPacket['properties']>): ForwardedProperties | undefined {
  const out: ForwardedProperties = {}
  let any = false
  if (props.payloadFormatIndicator !== undefined) (out.payloadFormatIndicator = props.payloadFormatIndicator), (any = true)
  if (props.contentType !== undefined) (out.contentType = props.contentType), (any = true)
  if (props.responseTopic !== undefined) (out.responseTopic = props.responseTopic), (any = true)
  if (props.correlationData !== undefined) (out.correlationData = props.correlationData), (any = true)
  if (props.userProperties !== undefined) (out.userProperties = props.userProperties), (any = true)
  return any ? out : undefined
}

export function handlePublish(ctx: BrokerContext, conn: Connection, packet: RawPublish): void {
  const qos = packet.qos
  let topic = packet.topic
  let properties: ForwardedProperties | undefined
  let expiresAt = 0
  const props = packet.properties
  if (conn.v5 && props !== undefined) {
    if (props.topicAlias !== undefined) topic = resolveAlias(ctx, conn, topic, props.topicAlias)
    // [MQTT-3.3.4-6] a client must not send a subscription identifier.
    if (props.subscriptionIdentifier !== undefined) throw protocolError('subscription identifier in PUBLISH')
    if (props.responseTopic !== undefined && validateTopicName(props.responseTopic) !== undefined) {
      throw protocolError('invalid response topic')
    }
    if (props.messageExpiryInterval !== undefined) expiresAt = ctx.clock.now() + props.messageExpiryInterval * 1000
    properties = forwardedProperties(props)
  }
  const invalid = validateTopicName(topic)
  if (invalid !== undefined) {
    // [MQTT-3.3.2-2] wildcards or an empty topic: v5 0x90, 3.1.1 close.
    throw new ProtocolError(topic === '' ? RC.PROTOCOL_ERROR : RC.TOPIC_NAME_INVALID, `topic: ${invalid}`)
  }
  // [MQTT-3.3.1-2] DUP must be 0 for QoS 0.
  if (qos === 0 && packet.dup) throw malformedDup()
  // [MQTT-2.3.1-1] QoS 1/2 carry a non-zero packet identifier.
  if (qos > 0 && !packet.messageId) throw malformed('packet identifier 0')

  const stats = ctx.stats
  stats.messagesReceived++
  stats.receivedByQos[qos]++

  const session = conn.session!
  const id = packet.messageId ?? 0
  // Exactly once: a packet id already awaiting PUBREL is a duplicate; answer, do not route again.
  if (qos === 2 && session.incoming?.has(id)) {
    conn.write(encodeAck(ACK.pubrec, id))
    return
  }
  if (topic.charCodeAt(0) === DOLLAR) {
    // Topics starting with '$' are the broker's ($SYS/...): a client may not publish there [MQTT-4.7.2-1].
    stats.publishDenied++
    ctx.logDebug(() => `Client ${conn.clientId} may not publish to "${topic}" ('$' topics are the broker's): dropped`)
    if (qos > 0) conn.write(conn.v5 ? ackWithReason(conn, qos as 1 | 2, id, RC.NOT_AUTHORIZED) : encodeAck(qos === 1 ? ACK.puback : ACK.pubrec, id))
    return
  }
  if (qos > 0 && ctx.limits.overloaded) {
    // Memory past limits.maxMemory: no new QoS 1/2 work (MQTT 5: 0x97; 3.1.1: not acknowledged, so
    // the client holds it and sends it again later).
    ctx.limits.reached()
    if (conn.v5) conn.write(ackWithReason(conn, qos as 1 | 2, id, RC.QUOTA_EXCEEDED))
    return
  }
  const authorizer = ctx.authorizer
  if (authorizer.checksAccess && !authorizer.canPublish(conn.identity!, topic)) {
    // Forbidden: dropped and counted; MQTT 5 says so (0x87), 3.1.1 is acknowledged as usual (as Mosquitto).
    stats.publishDenied++
    ctx.logDebug(() => `Client ${conn.clientId} may not publish to "${topic}": dropped`)
    if (qos > 0) conn.write(conn.v5 ? ackWithReason(conn, qos as 1 | 2, id, RC.NOT_AUTHORIZED) : encodeAck(qos === 1 ? ACK.puback : ACK.pubrec, id))
    return
  }
  const store = ctx.store
  const msg: Message = {
    topic,
    payload: packet.payload as Buffer,
    qos,
    retain: packet.retain,
    properties,
    raw: packet.rawProperties,
    expiresAt,
    from: conn.clientId,
  }
  if (qos > 0 && store.degraded && needsDisk(ctx, msg)) {
    // The store cannot write now: refuse rather than acknowledge what it could not keep.
    stats.storeRefusals++
    refuseAck(conn, qos as 1 | 2, id, 'the store is degraded')
    return
  }
  const before = store.writeSeq
  if (qos === 2) {
    if ((session.incoming?.size ?? 0) >= ctx.config.limits.receiveMaximum) {
      // [MQTT-3.3.4-9] more unacknowledged QoS 2 than our receive maximum.
      throw new ProtocolError(RC.RECEIVE_MAXIMUM_EXCEEDED, 'receive maximum exceeded')
    }
    store.addIncoming(session, id)
  }
  if (!ctx.publish(msg, conn)) {
    // A retained message past limits.maxRetainedMessages / maxRetainedBytes: not accepted.
    if (qos === 2) store.deleteIncoming(session, id)
    if (qos > 0) refuseAck(conn, qos as 1 | 2, id, 'retained-message limit reached', false)
    return
  }
  if (qos === 0) return
  // The ack once the store holds what this message changed (at once with nothing to journal).
  if (store.writeSeq === before && conn.acksWaiting === 0) conn.write(encodeAck(qos === 1 ? ACK.puback : ACK.pubrec, id))
  else conn.sendAfterDurable(before, (err) => ackDurable(ctx, conn, qos as 1 | 2, id, err))
}

function ackDurable(ctx: BrokerContext, conn: Connection, qos: 1 | 2, id: number, err: Error | undefined): void {
  if (err === undefined) {
    conn.write(encodeAck(qos === 1 ? ACK.puback : ACK.pubrec, id))
    return
  }
  ctx.stats.storeRefusals++
  // The QoS 2 exchange ends with the error: the id is free again.
  if (qos === 2 && conn.session !== undefined) ctx.store.deleteIncoming(conn.session, id)
  refuseAck(conn, qos, id, `the store could not keep the message: ${err.message}`)
}

/**
 * MQTT 5: PUBACK/PUBREC 0x97 (quota exceeded); 3.1.1 has no way to refuse: the connection closes
 * (`close`), or the message is acknowledged and dropped (a limit that resending would not change).
 */
function refuseAck(conn: Connection, qos: 1 | 2, id: number, why: string, close = true): void {
  conn.host.logDebug(() => `Client ${conn.clientId}: QoS ${qos} PUBLISH ${id} refused: ${why}`)
  if (conn.v5) conn.write(ackWithReason(conn, qos, id, RC.QUOTA_EXCEEDED))
  else if (close) conn.end()
  else conn.write(encodeAck(qos === 1 ? ACK.puback : ACK.pubrec, id))
}

function ackWithReason(conn: Connection, qos: 1 | 2, id: number, reasonCode: number): Buffer {
  return encodePacket({cmd: qos === 1 ? 'puback' : 'pubrec', messageId: id, reasonCode}, conn.version)
}

/** Does a QoS 1/2 message need the disk: retained, or a recipient whose session outlives its connection? */
function needsDisk(ctx: BrokerContext, msg: Message): boolean {
  if (msg.retain) return true
  const match = ctx.subscriptions.match(msg.topic)
  const persistent = (clientId: string): boolean => (ctx.store.getSession(clientId)?.expiryInterval ?? 0) > 0
  for (const c of match.clients) if (persistent(c.clientId)) return true
  for (const g of match.shared) for (const m of g.members) if (persistent(m.clientId)) return true
  return false
}

const DOLLAR = 0x24

function malformedDup(): ProtocolError {
  return new ProtocolError(RC.MALFORMED_PACKET, 'DUP set on a QoS 0 PUBLISH')
}
